"""The web side's settings models: every variable the Django processes read, with its default and meaning.

Built on bot_api.settings like the bot's, so both read booleans, lists, empty values and the
Redis link alike; README.md's configuration table is generated from these fields
(scripts/settings_table.py). A bad value raises ImproperlyConfigured with the same one line the
bot would print, e.g. `DJANGO_ENV: must be one of: development, production, got 'prod'`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from django.core.exceptions import ImproperlyConfigured
from pydantic import AfterValidator, Field

from bot_api.settings import (
    LOWERCASE,
    CommaList,
    CommonSettings,
    EnvSettings,
    Secret,
    SettingError,
    ShownDefault,
)

S = TypeVar("S", bound=EnvSettings)


def load(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """`model` read from `environ` (default os.environ); a bad value is one ImproperlyConfigured line."""
    try:
        return model.read(environ)
    except SettingError as exc:
        raise ImproperlyConfigured(exc.message) from None


def _check_networks(entries: tuple[str, ...]) -> tuple[str, ...]:
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return entries


def _production(data: dict[str, Any]) -> bool:
    return bool(data.get("django_env") == "production")


def _tls(data: dict[str, Any]) -> bool:
    return bool(data.get("tls", False))


Count = Annotated[int, Field(ge=1)]
"""A limit or size: a whole number, at least 1."""


class WebSettings(CommonSettings):
    """The web server's, the recorder's and manage.py's settings (crypto_bot_ui/settings.py reads them)."""

    database_url: Annotated[Secret, ShownDefault("SQLite")] = Field("", alias="DATABASE_URL", repr=False)
    """the database, e.g. `postgres://user:pass@host:5432/db` (never logged); empty: SQLite in `SQLITE_PATH`"""
    sqlite_path: Annotated[Path | None, ShownDefault("`db.sqlite3` in `VAR_DIR`")] = Field(None, alias="SQLITE_PATH")
    """the SQLite database file, when `DATABASE_URL` is empty"""
    django_env: Annotated[Literal["development", "production"], LOWERCASE] = Field("development", alias="DJANGO_ENV")
    """`production` requires `SECRET_KEY` and turns on the TLS settings ([security](docs/security.md))"""
    secret_key: Annotated[Secret, ShownDefault("generated into `VAR_DIR/secret_key`")] = Field(
        "", alias="SECRET_KEY", repr=False)
    """Django's secret key; required (50+ characters) in production"""
    django_debug: bool = Field(False, alias="DJANGO_DEBUG")
    """Django debug mode"""
    allowed_hosts: CommaList = Field(("127.0.0.1", "localhost"), alias="ALLOWED_HOSTS")
    """host names the site answers to; also the allowed WebSocket origins"""
    csrf_trusted_origins: CommaList = Field((), alias="CSRF_TRUSTED_ORIGINS")
    """e.g. `https://bot.example.com` behind a TLS proxy"""
    tls: Annotated[bool, ShownDefault("`true` in production")] = Field(default_factory=_production, alias="TLS")
    """the site is served over HTTPS (by a proxy in front): secure cookies, HTTPS redirect, HSTS"""
    behind_tls_proxy: Annotated[bool, ShownDefault("as `TLS`")] = Field(default_factory=_tls, alias="BEHIND_TLS_PROXY")
    """trust the proxy's `X-Forwarded-Proto` (from `TRUSTED_PROXIES` only)"""
    hsts_seconds: int = Field(31_536_000, ge=0, alias="HSTS_SECONDS")
    """with `TLS`: how long browsers keep to HTTPS (the HSTS header's max-age)"""
    hsts_include_subdomains: bool = Field(True, alias="HSTS_INCLUDE_SUBDOMAINS")
    """with `TLS`: HSTS covers the subdomains too"""
    hsts_preload: bool = Field(True, alias="HSTS_PRELOAD")
    """with `TLS`: HSTS asks to be preloaded into browsers"""
    trusted_proxies: Annotated[CommaList, AfterValidator(_check_networks)] = Field((), alias="TRUSTED_PROXIES")
    """addresses or networks of your reverse proxy (e.g. `127.0.0.1`): only from these is
    `X-Forwarded-For`/`-Proto` believed; otherwise the TCP peer is the client
    ([security](docs/security.md#login-lockout-and-client-addresses))"""
    login_failure_limit: Count = Field(5, alias="LOGIN_FAILURE_LIMIT")
    """failed logins for one user name from one address before that pair is locked out"""
    login_user_failure_limit: Count = Field(10, alias="LOGIN_USER_FAILURE_LIMIT")
    """failed logins for one user name from any addresses before the name is locked out"""
    login_lockout_minutes: Count = Field(15, alias="LOGIN_LOCKOUT_MINUTES")
    """how long a lockout lasts, from the failure that set it"""
    static_root: Path = Field(Path("staticfiles"), alias="STATIC_ROOT")
    """where `collectstatic` (run by `make run` and the Docker build) puts the static files:
    content-hashed, gzipped, served by WhiteNoise with a ten-year `immutable` cache"""
    ws_send_queue: Count = Field(1000, alias="WS_SEND_QUEUE")
    """frames buffered per socket before a lagging client is told to reconnect"""
    command_rate_limit: Count = Field(5, alias="COMMAND_RATE_LIMIT")
    """commands one user may send in `COMMAND_RATE_WINDOW` seconds (then `rate_limited`)"""
    command_rate_window: Count = Field(10, alias="COMMAND_RATE_WINDOW")
    """seconds over which `COMMAND_RATE_LIMIT` counts"""
    ws_max_unacked: Count = Field(2000, alias="WS_MAX_UNACKED")
    """a socket's window: events it may be sent beyond its last `ack`; when full the server waits for an ack"""
    ws_max_unacked_bytes: Count = Field(2 * 2**20, alias="WS_MAX_UNACKED_BYTES")
    """the same window in bytes of events"""
    ws_ack_wait: Count = Field(10, alias="WS_ACK_WAIT")
    """seconds a socket with a full window may go without an `ack` before it is closed (it resumes)"""
    ws_max_sockets_per_user: Count = Field(20, alias="WS_MAX_SOCKETS_PER_USER")
    """dashboards one account may have open per web process"""


class AdminSettings(EnvSettings):
    """The admin account `manage.py ensure_admin` (run by `make run` and compose) makes sure of."""

    admin_username: str = Field("admin", min_length=1, alias="ADMIN_USERNAME")
    """the admin's user name"""
    admin_password: Annotated[Secret, ShownDefault("generated")] = Field("", alias="ADMIN_PASSWORD", repr=False)
    """its password; when none is set, one is generated and printed once"""


class ServeSettings(EnvSettings):
    """Where the web server listens (`python -m crypto_bot_ui.serve`, which `make run` starts)."""

    web_host: str = Field("127.0.0.1", min_length=1, alias="WEB_HOST")
    """the address the dashboard is served on (the Docker image sets `0.0.0.0`)"""
    web_port: int = Field(8000, ge=1, le=65535, alias="WEB_PORT")
    """its port"""


def _recorder_name() -> str:
    return f"{socket.gethostname()}-recorder"


class RecorderSettings(EnvSettings):
    """The recorder's own settings (`manage.py run_recorder`)."""

    recorder_name: Annotated[str, ShownDefault("`<hostname>-recorder`")] = Field(
        default_factory=_recorder_name, min_length=1, alias="RECORDER_NAME")
    """the recorder's consumer name in the trades stream's group: a stable name lets a restarted
    recorder re-read its own pending entries at once"""
