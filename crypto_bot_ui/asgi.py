"""The ASGI stack, assembled once: the client address (trusted proxies), then HTTP → Django;
WebSocket → origin checks → the socket's session and user → routes; lifespan → the shutdown of
the background tasks."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crypto_bot_ui.settings")
# Django must be set up before anything imports models (consumers, auth middleware).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from crypto_bot_ui.core.origin import SameOriginValidator  # noqa: E402
from crypto_bot_ui.core.proxy import TrustedProxyMiddleware  # noqa: E402
from crypto_bot_ui.core.socket_session import SocketAuthMiddleware  # noqa: E402
from crypto_bot_ui.dashboard.lifespan import lifespan  # noqa: E402
from crypto_bot_ui.dashboard.routing import websocket_urlpatterns  # noqa: E402

# Outermost: scope["client"] is the peer, or X-Forwarded-For's client when the peer is in
# TRUSTED_PROXIES; Django's REMOTE_ADDR (the login lockout) and the socket's audit log read it.
application = TrustedProxyMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            # Host in ALLOWED_HOSTS, then Origin == Host (port included), then the session user.
            "websocket": AllowedHostsOriginValidator(
                SameOriginValidator(SocketAuthMiddleware(URLRouter(websocket_urlpatterns)))
            ),
            # Uvicorn's: the background tasks stop for sure before it cancels what is left.
            "lifespan": lifespan,
        }
    )
)

# Full garbage collections walked every object of the process (Django, the server, a thousand
# sockets' state) and froze the event loop for up to 270 ms under load: the p99 of every socket.
# The startup heap is moved out of the collector's sight, and full collections come 100x less
# often (young generations still run as usual; docs/benchmarks.md has the figures).
gc.collect()
gc.freeze()
gc.set_threshold(700, 10, 1000)
