"""Django settings, all read from the environment (see the configuration table in README.md)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from bot_api.keys import RedisKeys
from bot_api.redis_conn import channel_layer_host
from crypto_bot_ui.env import NotifySettings, WebSettings, load

BASE_DIR = Path(__file__).resolve().parent.parent
_ENV = load(WebSettings)
"""Every variable this process reads, validated (crypto_bot_ui/env.py has their defaults and meaning)."""
VAR_DIR = BASE_DIR / _ENV.var_dir  # an absolute VAR_DIR stays as it is

ENVIRONMENT = _ENV.django_env
"""`development` (make run, docker compose on this machine) or `production` (reachable by others)."""
PRODUCTION = ENVIRONMENT == "production"


def _secret_key() -> str:
    """SECRET_KEY from the environment; in development one is generated once and kept under var/."""
    key = _ENV.secret_key
    if key:
        if PRODUCTION and (len(key) < 50 or len(set(key)) < 5):
            raise ImproperlyConfigured("SECRET_KEY: use 50 or more random characters in production")
        return key
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DJANGO_ENV=production, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _ENV.django_debug
ALLOWED_HOSTS = list(_ENV.allowed_hosts)
CSRF_TRUSTED_ORIGINS = list(_ENV.csrf_trusted_origins)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "crypto_bot_ui.core",
    "crypto_bot_ui.trades",
    "crypto_bot_ui.dashboard",
    "crypto_bot_ui.api",
    "crypto_bot_ui.notify",
    "crypto_bot_ui.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy on every response of Django (not on static files, which WhiteNoise serves above).
    "crypto_bot_ui.core.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a 429.
    "axes.middleware.AxesMiddleware",
]

# Login brute-force protection (django-axes): after LOGIN_FAILURE_LIMIT failures for one user name
# from one address, that pair is locked out; after LOGIN_USER_FAILURE_LIMIT failures for the name
# from any addresses, the name is (crypto_bot_ui/core/lockout.py). Either lasts LOGIN_LOCKOUT_MINUTES
# from the failure that set it, correct password or not; a success forgets its address's failures.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "crypto_bot_ui.core.lockout.TwoLimitHandler"
AXES_FAILURE_LIMIT = _ENV.login_failure_limit
LOGIN_USER_FAILURE_LIMIT = _ENV.login_user_failure_limit
AXES_COOLOFF_TIME = timedelta(minutes=_ENV.login_lockout_minutes)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_RESET_ON_SUCCESS = True
# Tries while locked are refused and not counted: a lockout ends on time, and one address (stopped
# at LOGIN_FAILURE_LIMIT) cannot push a name over the higher LOGIN_USER_FAILURE_LIMIT alone.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The address is REMOTE_ADDR, as crypto_bot_ui/core/proxy.py set it (X-Forwarded-For only from
# TRUSTED_PROXIES); never a header read here, whether django-ipware is installed or not.
AXES_CLIENT_IP_CALLABLE = "crypto_bot_ui.core.proxy.remote_addr"
AXES_VERBOSE = False

ROOT_URLCONF = "crypto_bot_ui.urls"
ASGI_APPLICATION = "crypto_bot_ui.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if _ENV.database_url:
    DATABASES = {"default": dj_database_url.parse(_ENV.database_url, conn_max_age=60, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_ENV.sqlite_path or VAR_DIR / "db.sqlite3"),
            # WAL + IMMEDIATE: the recorder writes while the web process reads, without
            # "database is locked" errors under normal load.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

REST_FRAMEWORK = {
    # The browser's session: the API is for the logged-in dashboard user and their scripts.
    # A request without a session gets 401 with a WWW-Authenticate challenge (403 stays for refusals).
    "DEFAULT_AUTHENTICATION_CLASSES": ["crypto_bot_ui.api.auth.ChallengingSessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "crypto_bot_ui.api.pagination.TradePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "crypto_bot_ui.api.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Crypto Bot API",
    "DESCRIPTION": "The dashboard's data: snapshot, positions, candles, trades (JSON and CSV), equity, health.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # 3.1: pydantic describes optional fields with `type: null`, which 3.0 lacks.
    "OAS_VERSION": "3.1.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # /api/docs/: Swagger UI from our own static files (the drf-spectacular-sidecar package), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"ServiceStateEnum": ["ok", "down"], "ProcessStateEnum": ["ok", "down", "unknown"]},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crypto_bot_ui.api.schemas.decimal_bounds_hook",
        "crypto_bot_ui.api.schemas.login_responses_hook",
    ],
}

# --- transport security ------------------------------------------------------------------
# TLS: the site is served over HTTPS (by a proxy in front, see docs/security.md); on by default in
# production. Cookies are then sent over HTTPS only, HTTP is redirected and HSTS is announced.
TLS = _ENV.tls
if TLS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^api/health$"]  # container health checks speak plain HTTP inside
    SECURE_HSTS_SECONDS = _ENV.hsts_seconds
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _ENV.hsts_include_subdomains
    SECURE_HSTS_PRELOAD = _ENV.hsts_preload
TRUSTED_PROXIES = list(_ENV.trusted_proxies)
"""Reverse proxies (addresses or networks) whose X-Forwarded-For/-Proto are believed; empty: none."""
if _ENV.behind_tls_proxy:
    # The proxy terminates TLS and says so; it must overwrite this header from clients. From a peer
    # not in TRUSTED_PROXIES the header never reaches Django (crypto_bot_ui/core/proxy.py).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- content security policy ---------------------------------------------------------------
# On every page and API answer (django-csp; docs/security.md says why each directive): scripts and
# styles only from files of this site, nothing inline, no eval; this host's WebSocket origin is
# added to connect-src per request (crypto_bot_ui.core.csp). With DJANGO_DEBUG, 404/500 (Django's
# debug pages, which are inline) get no header.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # Swagger UI's stylesheet draws its icons as data: SVGs
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / _ENV.static_root
# npm packages (package.json; `make` runs `npm ci`) served like our own files: no CDN.
STATICFILES_DIRS = [
    ("vendor/lightweight-charts", BASE_DIR / "node_modules" / "lightweight-charts" / "dist"),
    # The analytics page's doughnut and histograms (lightweight-charts draws time series only).
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # collectstatic (make run, the Dockerfile) writes content-hashed, gzipped copies; WhiteNoise serves
    # hashed names with a ten-year immutable Cache-Control, so pages always get the current files.
    "staticfiles": {"BACKEND": "crypto_bot_ui.core.storage.StaticStorage"},
}
# With DJANGO_DEBUG pages name the unhashed files, which WhiteNoise then finds in the app folders.

# --- the bot link -------------------------------------------------------------------------
REDIS_URL = _ENV.redis_url
REDIS_SENTINELS = _ENV.redis.sentinels
REDIS_SENTINEL_MASTER = _ENV.redis.master
"""With Sentinels, REDIS_URL gives the master's password and database only (bot_link.redis_target)."""
REDIS_PREFIX = _ENV.redis_prefix
BOT_ID = _ENV.bot_id
WS_SEND_QUEUE = _ENV.ws_send_queue
"""Frames buffered per socket before a lagging client is told to resume."""
COMMAND_RATE_LIMIT = _ENV.command_rate_limit
COMMAND_RATE_WINDOW = _ENV.command_rate_window
"""At most COMMAND_RATE_LIMIT commands per user in COMMAND_RATE_WINDOW seconds (then `rate_limited`)."""
NOTIFY = load(NotifySettings)
"""Notifications and the Telegram login (tests replace it whole: `settings.NOTIFY = NotifySettings.read({...})`)."""
WS_MAX_UNACKED = _ENV.ws_max_unacked
WS_MAX_UNACKED_BYTES = _ENV.ws_max_unacked_bytes
"""A socket's window: events (and bytes of them) sent beyond its last ack. When it is full the
socket waits for an ack; WS_ACK_WAIT seconds without one and it is closed (4008) to resume later."""
WS_ACK_WAIT = _ENV.ws_ack_wait
WS_MAX_SOCKETS_PER_USER = _ENV.ws_max_sockets_per_user
"""Dashboards (sockets) one account may have open per web process; more are closed with 4029."""

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [channel_layer_host(_ENV.redis)],
            "prefix": RedisKeys(prefix=REDIS_PREFIX).channel_layer_prefix,
        },
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _ENV.log_level},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # httpx logs each request's URL at INFO: a Telegram URL holds the bot token, a webhook or
        # Apprise URL may hold a key. Secrets are never logged (docs/security.md).
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "telegram": {"level": "WARNING"},
        # Apprise logs a URL it cannot parse at ERROR, barely masked: its own lines stay out.
        "apprise": {"level": "CRITICAL"},
    },
}
