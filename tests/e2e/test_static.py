"""Static files as the real web server + WhiteNoise serve them after collectstatic: content-hashed names,
cached for a year or more as immutable, gzipped on request; ES module imports naming hashed files;
the favicon and the API docs' assets from this site."""

from __future__ import annotations

import gzip
import http.client
import re
import uuid
from collections.abc import Iterator

import pytest

from tests.stack import Browserless, Stack, delete_prefix, running_stack

pytestmark = [pytest.mark.e2e]

HASHED = re.compile(r"/static/.+\.[0-9a-f]{12}\.[a-z0-9]+")
RELATIVE_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}/[^"']+)["']""")
YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def web(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Only the web process (pages and files need no bot)."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path_factory.mktemp("static"),
                           services=("web",)) as stack:
            yield stack
    finally:
        delete_prefix(redis_url, prefix)


@pytest.fixture(scope="module")
def session(web: Stack) -> Browserless:
    browser = Browserless(web.base_url)
    browser.login()
    return browser


def fetch(stack: Stack, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """One GET as sent (no redirect followed, no decompression): status, headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", int(stack.env["WEB_PORT"]), timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def assert_cached_for_good(headers: dict[str, str], path: str) -> None:
    cache = headers.get("cache-control", "")
    max_age = re.search(r"max-age=(\d+)", cache)
    assert max_age and int(max_age.group(1)) >= YEAR and "immutable" in cache, (path, cache)


def static_urls(page: str, extension: str) -> list[str]:
    """Every static URL of that extension a page names (src, href, data-… attributes)."""
    return sorted(set(re.findall(rf'"(/static/[^"]+\.{extension})"', page)))


def test_page_scripts_are_hashed_long_cached_gzipped_and_import_hashed_modules(
    web: Stack, session: Browserless
) -> None:
    status, page = session.get("/")
    assert status == 200
    scripts = static_urls(page, "m?js")
    assert any(s.startswith("/static/dashboard/") for s in scripts), scripts
    assert any(s.startswith("/static/vendor/lightweight-charts/") for s in scripts), scripts  # from node_modules
    seen: set[str] = set()
    imports = 0
    todo = list(scripts) + static_urls(page, "css")
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        assert HASHED.fullmatch(path), path
        status, headers, body = fetch(web, path, **{"Accept-Encoding": "gzip"})
        assert status == 200, path
        assert headers.get("content-encoding") == "gzip", (path, headers)
        assert "accept-encoding" in headers.get("vary", "").lower(), path
        assert_cached_for_good(headers, path)
        source = gzip.decompress(body).decode()
        # A module's relative imports name hashed neighbours, which are served the same way.
        folder = path.rsplit("/", 1)[0]
        for target in RELATIVE_IMPORT.findall(source):
            imports += 1
            todo.append(resolve(folder, target))
    if 'type="module"' in page:
        assert imports, "the page's modules import nothing?"
    status, headers, body = fetch(web, scripts[0])
    assert status == 200 and "content-encoding" not in headers  # plain for a client that does not ask


def resolve(folder: str, relative: str) -> str:
    """`./x.js` or `../y/x.js` against a URL folder."""
    parts = folder.split("/")
    for piece in relative.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def test_an_unhashed_name_is_not_cached_for_long(web: Stack) -> None:
    status, headers, _ = fetch(web, "/static/core/favicon.svg")
    assert status == 200 and "immutable" not in headers["cache-control"]  # it may change under this name


def test_favicon(web: Stack) -> None:
    status, page = Browserless(web.base_url).get("/accounts/login/")
    linked = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert status == 200 and linked and HASHED.fullmatch(linked.group(1)), page[:600]
    status, headers, _ = fetch(web, "/favicon.ico")
    assert status == 302 and headers["location"] == linked.group(1)
    status, headers, body = fetch(web, linked.group(1))
    assert status == 200 and headers["content-type"].startswith("image/svg+xml") and body.startswith(b"<svg")
    assert_cached_for_good(headers, linked.group(1))


def test_api_docs_assets_come_from_this_site(web: Stack, session: Browserless) -> None:
    status, page = session.get("/api/docs/")
    assert status == 200 and 'id="swagger-ui"' in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(assets) >= 3, assets
    assert "/api/docs/?script=" in assets  # Swagger UI's start-up script, not inline (the CSP)
    status, script = session.get("/api/docs/?script=")
    assert status == 200 and "SwaggerUIBundle(" in script
    for path in (a for a in assets if a != "/api/docs/?script="):
        assert path.startswith("/static/") and HASHED.fullmatch(path), path
        status, headers, _ = fetch(web, path, **{"Accept-Encoding": "gzip"})
        assert status == 200, path
        assert_cached_for_good(headers, path)
