"""The analytics page in a real browser, on a desk and on a phone: every chart drawn with data
(and its table or sentence beside it), the bot selector and the date range changing the figures to
what the REST API says, the allocation live from a running bot, no console error and no CSP
violation. The server is real (the production web server, collected static files, the CSP); three bots' year of trades
is seeded (scripts/bench/analytics.py's history), and one real bot runs for the allocation."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.stack import Stack, delete_prefix, running_stack

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TZ = "Europe/Berlin"
SHOTS = Path(tempfile.gettempdir())
SEED = "from scripts.bench.analytics import seed; seed(1800)"
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective));
"""


@pytest.fixture(scope="module")
def analytics_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A bot (for the allocation) and the web server over a seeded year of three other bots' trades."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path_factory.mktemp("analytics"),
                           services=("bot", "web")) as stack:
            stack.manage("shell", "-c", SEED)
            yield stack
    finally:
        delete_prefix(redis_url, prefix)


def api(page: Page, path: str) -> Any:
    """What the REST API answers this page's session."""
    response = page.request.get(page.url.split("/analytics/")[0] + path)
    assert response.ok, path
    return response.json()


def ready(page: Page) -> None:
    expect(page.locator("#analytics")).to_have_attribute("data-state", "ready", timeout=20_000)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_the_page_draws_every_chart_and_follows_the_choice(
    browser: Browser, analytics_stack: Stack, log_in: Callable[..., None], viewport: dict[str, int]
) -> None:
    phone = viewport == PHONE
    context = browser.new_context(viewport=viewport, timezone_id=TZ, is_mobile=phone, has_touch=phone)
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    # A bot without a snapshot (the seeded ones) has no allocation: the API's 503, which the browser logs.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 503" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, analytics_stack)
    page.goto(analytics_stack.base_url + "/analytics/?range=all")
    ready(page)
    expect(page.locator("#a-tz")).to_have_text(TZ)  # the browser's zone, shown
    expect(page.locator("#conn-state")).to_have_text("live", timeout=15_000)

    # Every bot together: the tiles are the breakdown's total, every chart has its canvas and its table.
    total = api(page, f"/api/breakdown?tz={TZ}")["total"]
    expect(page.locator("#t-trades")).to_contain_text(f"{total['trades']:,}")
    for box in ("#c-periods", "#c-equity", "#c-cumulative"):
        expect(page.locator(box + " canvas").first).to_be_visible()
    for canvas in ("#c-allocation", "#c-pnl", "#c-holding"):
        size = page.locator(canvas).bounding_box()
        assert size is not None and size["width"] > 150 and size["height"] > 100, canvas
    assert page.locator("#tb-periods tbody tr").count() > 200  # every day of the year, in its table
    expect(page.locator("#tb-allocation tbody tr").first).to_contain_text("Cash (USDT)")  # the running bot's
    expect(page.locator("#tb-compare tbody")).to_contain_text("bench-b")
    expect(page.locator("#equity-note")).to_contain_text("deepest drawdown")
    page.screenshot(path=str(SHOTS / f"analytics-{viewport['width']}.png"), full_page=True)

    # One bot: the figures become that bot's.
    page.select_option("#a-bot", "bench-a")
    ready(page)
    one = api(page, f"/api/breakdown?bot=bench-a&tz={TZ}")["total"]
    assert one["trades"] < total["trades"]
    expect(page.locator("#t-trades")).to_contain_text(f"{one['trades']:,}")
    expect(page).to_have_url(analytics_stack.base_url + "/analytics/?bot=bench-a&range=all")

    # A range of dates and a period: the figures follow, and so does the address (a reload keeps them).
    page.select_option("#a-preset", "custom")
    page.fill("#a-from", "2026-03-01")
    page.fill("#a-to", "2026-03-31")
    page.locator("#a-to").dispatch_event("change")
    page.locator('#a-period label:has-text("Week")').click()
    ready(page)
    march = api(page, f"/api/performance?bot=bench-a&period=week&since=2026-03-01&until=2026-04-01&tz={TZ}")
    expect(page.locator("#tb-periods tbody tr")).to_have_count(len(march))
    expect(page.locator("#period-name")).to_have_text("week")
    page.reload()
    ready(page)
    expect(page.locator("#a-from")).to_have_value("2026-03-01")
    expect(page.locator("#tb-periods tbody tr")).to_have_count(len(march))
    assert "since=2026-03-01" in (page.locator("#csv-performance").get_attribute("href") or "")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
    context.close()
