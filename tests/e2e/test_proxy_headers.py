"""X-Forwarded-For through the real web server (Uvicorn, as deployed): ignored unless the peer is
in TRUSTED_PROXIES, so it can neither dodge the login lockout nor forge the audit log's address;
believed behind a trusted proxy."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect

from tests.e2e.wsclient import read_until
from tests.stack import Browserless, Stack, delete_prefix, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.pg]

PAIR_LIMIT, NAME_LIMIT = 4, 7
PASSWORD = "pw-Proxy-tests-1"


@pytest.fixture(scope="module")
def untrusted(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The web server as the Procfile starts it, TRUSTED_PROXIES unset: every peer is the client."""
    yield from web_stack(redis_url, tmp_path_factory)


@pytest.fixture(scope="module")
def proxied(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The same with TRUSTED_PROXIES=127.0.0.1: the test plays the proxy on this host."""
    yield from web_stack(redis_url, tmp_path_factory, TRUSTED_PROXIES="127.0.0.1")


def web_stack(redis_url: str, factory: pytest.TempPathFactory, **extra: str) -> Iterator[Stack]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=factory.mktemp("proxy"), services=("web",),
                           LOGIN_FAILURE_LIMIT=str(PAIR_LIMIT), LOGIN_USER_FAILURE_LIMIT=str(NAME_LIMIT),
                           **extra) as stack:
            yield stack
    finally:
        delete_prefix(redis_url, prefix)


def make_user(stack: Stack) -> str:
    name = f"u{uuid.uuid4().hex[:8]}"
    stack.manage("shell", "-c", f"from django.contrib.auth.models import User; "
                                f"User.objects.create_user({name!r}, password={PASSWORD!r})")
    return name


def login(stack: Stack, username: str, password: str, **headers: str) -> str:
    """Post the login form with extra headers: `in`, `refused` (the form again) or `locked` (429)."""
    browser = Browserless(stack.base_url)
    status, page = browser.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert status == 200 and token
    body = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrfmiddlewaretoken": token.group(1), "next": "/"}).encode()
    sent = {"Referer": stack.base_url + "/accounts/login/", **{k.replace("_", "-"): v for k, v in headers.items()}}
    request = urllib.request.Request(stack.base_url + "/accounts/login/", data=body, headers=sent)  # noqa: S310
    try:
        with browser.opener.open(request, timeout=10) as response:
            # Home is the overview, or the one bot's page it leads to; the form again is a refusal.
            return "refused" if "/accounts/login" in response.url else "in"
    except urllib.error.HTTPError as exc:
        return "locked" if exc.code == 429 else f"HTTP {exc.code}"


def failure_addresses(stack: Stack, username: str) -> list[str]:
    """The addresses django-axes recorded failures from."""
    out = stack.manage("shell", "-c", "import json; from axes.models import AccessAttempt; print(json.dumps(sorted("
                                      f"AccessAttempt.objects.filter(username={username!r})"
                                      ".values_list('ip_address', flat=True))))")
    return list(json.loads(out.strip().splitlines()[-1]))


async def audited_address(stack: Stack, **headers: str) -> str:
    """Send a start_bot over the dashboard socket with extra handshake headers; the logged address."""
    session = Browserless(stack.base_url)
    session.login()
    command_id = f"proxy-{uuid.uuid4().hex[:8]}"
    extra = {k.replace("_", "-"): v for k, v in headers.items()}
    async with connect(stack.ws_url, additional_headers={**session.ws_headers(), **extra}, open_timeout=10) as ws:
        await ws.send(json.dumps({"command": "start_bot", "id": command_id}))
        answer = await read_until(ws, lambda f: f["type"] == "bot_control" and f["data"]["ref"] == command_id, 10)
    out = stack.manage("shell", "-c", "from crypto_bot_ui.trades.models import BotCommand; "
                                      f"print(BotCommand.objects.get(command_id={answer['data']['id']!r}).address)")
    return out.strip().splitlines()[-1]


def test_a_rotating_forwarded_for_does_not_dodge_the_lockout(untrusted: Stack) -> None:
    name = make_user(untrusted)
    outcomes = [login(untrusted, name, "wrong", X_Forwarded_For=f"198.51.100.{i}") for i in range(PAIR_LIMIT)]
    assert outcomes == ["refused"] * (PAIR_LIMIT - 1) + ["locked"]
    assert login(untrusted, name, PASSWORD, X_Forwarded_For="198.51.100.200") == "locked"
    assert failure_addresses(untrusted, name) == ["127.0.0.1"]  # the peer, never the header


def test_a_locked_account_stays_locked_whatever_the_headers_say(untrusted: Stack) -> None:
    name = make_user(untrusted)
    assert [login(untrusted, name, "wrong") for _ in range(PAIR_LIMIT)][-1] == "locked"
    for headers in ({"X_Forwarded_For": "203.0.113.50"}, {"X_Real_IP": "203.0.113.51"},
                    {"Forwarded": "for=203.0.113.52"}, {"X_Forwarded_For": "::1, 203.0.113.53"}):
        assert login(untrusted, name, PASSWORD, **headers) == "locked", headers


async def test_the_audit_log_records_the_peer_not_a_forged_header(untrusted: Stack) -> None:
    assert await audited_address(untrusted, X_Forwarded_For="6.6.6.6") == "127.0.0.1"


def test_behind_a_trusted_proxy_the_lockout_is_by_forwarded_address(proxied: Stack) -> None:
    name = make_user(proxied)
    # The proxy appends the client it saw; whatever the client wrote itself stays left of it.
    outcomes = [login(proxied, name, "wrong", X_Forwarded_For="6.6.6.6, 203.0.113.7") for _ in range(PAIR_LIMIT)]
    assert outcomes == ["refused"] * (PAIR_LIMIT - 1) + ["locked"]
    assert login(proxied, name, PASSWORD, X_Forwarded_For="203.0.113.7") == "locked"
    assert login(proxied, name, PASSWORD, X_Forwarded_For="6.6.6.6, 203.0.113.8") == "in"  # another client
    assert failure_addresses(proxied, name) == ["203.0.113.7"]


def test_behind_a_trusted_proxy_many_addresses_lock_the_name(proxied: Stack) -> None:
    name = make_user(proxied)
    outcomes = [login(proxied, name, "wrong", X_Forwarded_For=f"203.0.113.{i}") for i in range(NAME_LIMIT)]
    assert outcomes == ["refused"] * (NAME_LIMIT - 1) + ["locked"]
    assert login(proxied, name, PASSWORD, X_Forwarded_For="198.51.100.99") == "locked"


async def test_behind_a_trusted_proxy_the_audit_log_records_the_client(proxied: Stack) -> None:
    assert await audited_address(proxied, X_Forwarded_For="6.6.6.6, 2001:db8::9") == "2001:db8::9"
    assert await audited_address(proxied) == "127.0.0.1"  # no header: the peer
