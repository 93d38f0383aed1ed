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
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    WholeSeconds,
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
    web_server: Literal["uvicorn", "daphne"] = Field("uvicorn", alias="WEB_SERVER")
    """the ASGI server: `uvicorn` (the fastest that passes every test, docs/benchmarks.md) or `daphne`"""


def _recorder_name() -> str:
    return f"{socket.gethostname()}-recorder"


class RecorderSettings(EnvSettings):
    """The recorder's own settings (`manage.py run_recorder`)."""

    recorder_name: Annotated[str, ShownDefault("`<hostname>-recorder`")] = Field(
        default_factory=_recorder_name, min_length=1, alias="RECORDER_NAME")
    """the recorder's consumer name in the trades stream's group: a stable name lets a restarted
    recorder re-read its own pending entries at once"""
    recorder_claim_idle: WholeSeconds = Field(30, ge=1, le=3600, alias="RECORDER_CLAIM_IDLE")
    """with several recorders: a trade another recorder took and did not store within this long (it
    died) is taken over by one of the others"""


NOTIFY_KINDS = ("trade", "state", "exchange", "silent", "daily", "alert")
"""The kinds of notification, each switched on or off per channel (docs/notifications.md)."""


def _check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    if kinds == ("all",):
        return NOTIFY_KINDS
    unknown = [kind for kind in kinds if kind not in NOTIFY_KINDS]
    if unknown:
        raise ValueError(f"must be `all` or some of {', '.join(NOTIFY_KINDS)}, got {', '.join(unknown)}")
    return kinds


def _check_chat_ids(ids: tuple[str, ...]) -> tuple[str, ...]:
    for chat in ids:
        if not chat.lstrip("-").isdigit():
            raise ValueError(f"{chat!r} is not a Telegram chat id (a whole number, negative for groups)")
    return tuple(str(int(chat)) for chat in ids)  # one spelling: "0123" and "123" are one chat


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone name such as UTC or Europe/Berlin") from None
    return name


def _check_http(url: str) -> str:
    if url and urlsplit(url).scheme not in ("http", "https"):
        # Said without the URL itself: it may hold a key.
        raise ValueError("must be an http:// or https:// URL")
    return url


def _notifier_name() -> str:
    return f"{socket.gethostname()}-notifier"


Kinds = Annotated[CommaList, AfterValidator(_check_kinds)]
"""`all`, or a comma-separated list of NOTIFY_KINDS."""


class NotifySettings(EnvSettings):
    """Notifications (`manage.py run_notifier`) and the Telegram login ([notifications](docs/notifications.md))."""

    telegram_bot_token: Secret = Field("", alias="TELEGRAM_BOT_TOKEN", repr=False)
    """the Telegram bot's token from @BotFather (never logged); empty: no Telegram"""
    telegram_chat_ids: Annotated[CommaList, AfterValidator(_check_chat_ids)] = Field((), alias="TELEGRAM_CHAT_IDS")
    """the chats the bot writes to and answers; any other chat gets no answer"""
    telegram_api_url: Annotated[str, AfterValidator(_check_http)] = Field(
        "https://api.telegram.org", min_length=1, alias="TELEGRAM_API_URL")
    """the Bot API server (a local fake in tests, or a self-hosted Bot API server)"""
    telegram_kinds: Kinds = Field(NOTIFY_KINDS, alias="TELEGRAM_KINDS")
    """what the Telegram chats are sent: `all` or some of `trade,state,exchange,silent,daily,alert`"""
    telegram_login_max_age: int = Field(300, ge=30, le=86_400, alias="TELEGRAM_LOGIN_MAX_AGE")
    """seconds a Telegram Web App's signed `initData` is accepted for a login"""
    notify_urls: Secret = Field("", alias="NOTIFY_URLS", repr=False)
    """Apprise URLs, space- or comma-separated (Discord, Slack, email, ntfy, Pushover...; never logged)"""
    notify_urls_kinds: Kinds = Field(NOTIFY_KINDS, alias="NOTIFY_URLS_KINDS")
    """what the Apprise URLs are sent"""
    notify_webhook_url: Annotated[Secret, AfterValidator(_check_http)] = Field("", alias="NOTIFY_WEBHOOK_URL",
                                                                             repr=False)
    """an HTTP(S) endpoint that is POSTed each notification as JSON `{bot, kind, title, text, seq, ts, data}`"""
    notify_webhook_kinds: Kinds = Field(NOTIFY_KINDS, alias="NOTIFY_WEBHOOK_KINDS")
    """what the webhook is sent"""
    notify_min_interval: float = Field(1.0, ge=0, le=60, alias="NOTIFY_MIN_INTERVAL")
    """seconds between two messages to one Telegram chat or to the Apprise URLs; what comes faster is
    sent as one digest"""
    daily_summary_hour: int = Field(20, ge=0, le=23, alias="DAILY_SUMMARY_HOUR")
    """the hour (in `DAILY_SUMMARY_TZ`) of each bot's daily summary"""
    daily_summary_tz: Annotated[str, AfterValidator(_check_zone)] = Field("UTC", min_length=1,
                                                                          alias="DAILY_SUMMARY_TZ")
    """the time zone of `DAILY_SUMMARY_HOUR`, e.g. `Europe/Berlin`"""
    public_url: Annotated[str, AfterValidator(_check_http)] = Field("http://127.0.0.1:8000", min_length=1,
                                                                    alias="PUBLIC_URL")
    """the dashboard's address as people reach it: the links in messages and Telegram's Dashboard
    button (Telegram opens only `https://` Web Apps)"""
    notifier_name: Annotated[str, ShownDefault("`<hostname>-notifier`")] = Field(
        default_factory=_notifier_name, min_length=1, alias="NOTIFIER_NAME")
    """the notifier's consumer name in each bot's stream groups: a stable name lets a restarted
    notifier take up its own unfinished entries at once"""
    notifier_claim_idle: WholeSeconds = Field(30, ge=1, le=3600, alias="NOTIFIER_CLAIM_IDLE")
    """with several notifiers: what another notifier took and did not finish within this long (it
    died) is taken over by one of the others"""
