"""The Content-Security-Policy header: the same strict policy on every kind of response (pages, the
admin, Swagger UI and its script, API JSON, 404, 500), with this host's WebSocket origin allowed; and
no page of ours carries an inline script or style that the policy would block."""

from __future__ import annotations

import re
from collections.abc import Iterator
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.test import Client

from crypto_bot_ui.core import bot_link

pytestmark = [pytest.mark.db, pytest.mark.django_db]


def policy_for(ws_origin: str) -> dict[str, list[str]]:
    """The directives every response must carry, exactly (each directive's sources in order)."""
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", ws_origin],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def directives(header: str) -> dict[str, list[str]]:
    """`a x y; b z` as {"a": ["x", "y"], "b": ["z"]} (django-csp does not keep the directives' order)."""
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice in {header}"
        parsed[name] = sources
    return parsed


@pytest.fixture
def no_bot(redis_url: str, redis_prefix: str, settings: object) -> Iterator[None]:
    """The web side reads this test's empty keys: the dashboard is served without a snapshot."""
    settings.REDIS_URL = redis_url  # type: ignore[attr-defined]
    settings.REDIS_PREFIX = redis_prefix  # type: ignore[attr-defined]
    yield
    bot_link._sync_client.cache_clear()


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-root-12345"))
    return client


PAGES = [
    # (path, logged in, status, content type)
    ("/accounts/login/", False, 200, "text/html"),
    ("/bots/main/", True, 200, "text/html"),
    ("/", True, 302, "text/html"),  # one bot (or none yet): straight to its page
    ("/?all", True, 200, "text/html"),  # the overview of every bot, asked for
    ("/admin/trades/bot/", True, 200, "text/html"),
    ("/admin/", True, 200, "text/html"),
    ("/admin/trades/trade/", True, 200, "text/html"),
    ("/admin/trades/botcommand/", True, 200, "text/html"),
    ("/admin/auth/user/add/", True, 200, "text/html"),
    ("/api/docs/", True, 200, "text/html"),
    ("/api/docs/?script=", True, 200, "application/javascript"),
    ("/api/trades", True, 200, "application/json"),
    ("/api/bots", True, 200, "application/json"),
    ("/api/health", False, 200, "application/json"),
    ("/api/trades", False, 401, "application/json"),
    ("/no-such-page/", True, 404, "text/html"),
    ("/", False, 302, "text/html"),
]


@pytest.mark.parametrize(("path", "logged_in", "status", "content_type"), PAGES)
def test_every_response_carries_the_policy(
    no_bot: None, admin_client: Client, path: str, logged_in: bool, status: int, content_type: str,
) -> None:
    response = (admin_client if logged_in else Client()).get(path)
    assert response.status_code == status, path
    assert response["Content-Type"].startswith(content_type), response["Content-Type"]
    assert directives(response["Content-Security-Policy"]) == policy_for("ws://testserver")
    assert "Content-Security-Policy-Report-Only" not in response


def test_over_https_the_socket_origin_is_wss(no_bot: None, admin_client: Client) -> None:
    response = admin_client.get("/bots/main/", secure=True)
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == policy_for("wss://testserver")


def test_a_server_error_page_carries_the_policy(no_bot: None, admin_client: Client) -> None:
    admin_client.raise_request_exception = False
    with mock.patch("crypto_bot_ui.dashboard.views.current_snapshot", side_effect=RuntimeError("boom")):
        response = admin_client.get("/bots/main/")
    assert response.status_code == 500
    assert directives(response["Content-Security-Policy"]) == policy_for("ws://testserver")


def test_an_unknown_host_names_no_socket_origin() -> None:
    response = Client(HTTP_HOST="evil.example").get("/accounts/login/")
    assert response.status_code == 400
    assert directives(response["Content-Security-Policy"])["connect-src"] == ["'self'"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+=", re.IGNORECASE)


@pytest.mark.parametrize("path", [p for p, _, status, ctype in PAGES if status == 200 and ctype == "text/html"])
def test_no_page_has_inline_script_or_style(no_bot: None, admin_client: Client, path: str) -> None:
    """What the policy would block, caught before a browser: a script block that runs (JSON data
    blocks do not), an event handler attribute, a <style> block or a style attribute."""
    client = admin_client if path != "/accounts/login/" else Client()
    page = client.get(path).content.decode()
    for pattern in (INLINE_SCRIPT, INLINE_STYLE, EVENT_HANDLER):
        assert not pattern.search(page), (path, pattern.search(page))
