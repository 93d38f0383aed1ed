"""/api/docs/: Swagger UI for logged-in users, every asset from this site (no CDN), nothing inline."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = [pytest.mark.db, pytest.mark.django_db]


def test_the_docs_page_uses_only_this_sites_files(viewer: Client) -> None:
    response = viewer.get("/api/docs/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'id="swagger-ui"' in page
    assets = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {
        "swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "?script="}
    for asset in assets:
        if asset == "/api/docs/?script=":  # Swagger UI's start-up script, served apart (no inline script)
            script = viewer.get(asset)
            assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
            assert '"/api/schema/"' in script.content.decode()
            continue
        assert asset.startswith("/static/"), asset  # same origin, no CDN
        assert finders.find(asset.removeprefix("/static/")), asset  # and a file we really have
    assert not re.search(r"https?://|//cdn|unpkg|jsdelivr", page)


def test_without_a_session_the_docs_page_asks_for_a_login(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/api/docs/"
    assert client.get("/api/schema/").status_code == 401  # the schema itself: the API's answer
