"""A real browser on the full dashboard: every panel filled from the first snapshot, figures equal to
it, live trades, candles with trade markers, stop (confirmed), stop and close all, start; both widths.
Prints the page budget: bytes of a first load and the time to first data."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.stack import ADMIN_PASSWORD, ADMIN_USER, ROOT, Stack, delete_prefix, running_stack

pytestmark = pytest.mark.browser

PAGE_BUDGET_BYTES = 500 * 1024
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Trades every few seconds, 2 s candles and an equity point a second: every panel fills quickly.
# The control test clicks faster than a person: a higher command rate limit.
BUSY = {"TICK_INTERVAL": "0.2", "SMA_FAST": "3", "SMA_SLOW": "8", "CANDLE_INTERVAL": "2", "EQUITY_INTERVAL": "1",
        "COMMAND_RATE_LIMIT": "100"}


@pytest.fixture(scope="module")
def busy_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path_factory.mktemp("busy"), **BUSY) as stack:
            yield stack
    finally:
        delete_prefix(redis_url, prefix)


def log_in(page: Page, stack: Stack) -> None:
    page.goto(stack.base_url + "/")
    expect(page).to_have_url(f"{stack.base_url}/accounts/login/?next=/")
    page.fill("#id_username", ADMIN_USER)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{stack.base_url}/")


# One synchronous read right after a rendered frame: the DOM, the snapshot it was drawn from, and
# that snapshot's figures in the page's number format (so only the figure, not rounding, is compared).
READ = """() => new Promise((done) => requestAnimationFrame(() => {
  const NS = window.CryptoDashboard, S = NS.state, F = NS.format, d = S.snap;
  const text = (id) => document.getElementById(id).textContent;
  const rows = (sel, f) => Array.from(document.querySelectorAll(sel)).map(f);
  done({
    shown: {realized: text('pnl-realized'), unrealized: text('pnl-unrealized'), total: text('pnl-total'),
            equity: text('equity'), winRate: text('win-rate'),
            positions: rows('#positions tr', (r) => [r.dataset.position, r.querySelector('.qty').textContent,
                                                    r.querySelector('.entry').textContent]),
            markets: rows('#prices tr', (r) => r.dataset.symbol), perf: rows('#perf tr', (r) => r.dataset.symbol)},
    snapshot: {realized: F.fmtSigned(d.pnl.realized), unrealized: F.fmtSigned(d.pnl.unrealized),
               total: F.fmtSigned(d.pnl.total), equity: F.fmtDec(d.equity),
               winRate: d.stats.win_rate === null ? '—' : F.fmtDec(Number(d.stats.win_rate) * 100, 0, 1) + ' %',
               positions: d.positions.map((p) => [p.symbol, F.fmtQty(p.qty), F.fmtPrice(p.avg_entry)]),
               markets: d.symbols, perf: d.stats.per_symbol.map((r) => r.symbol)},
    raw: d, count: text('trade-count'), tradeCount: S.tradeCount});
}))"""


def check_figures_equal_the_snapshot(page: Page) -> None:
    view = page.evaluate(READ)
    assert view["shown"] == view["snapshot"]
    raw = view["raw"]
    # And the snapshot's own arithmetic holds: total = realized + unrealized, exactly.
    assert Decimal(raw["pnl"]["total"]) == Decimal(raw["pnl"]["realized"]) + Decimal(raw["pnl"]["unrealized"])
    assert view["count"] == str(view["tradeCount"]) and view["tradeCount"] >= raw["trade_count"]


def page_budget(browser: Browser, page: Page, stack: Stack, viewport: dict[str, int]) -> tuple[int, float]:
    """A first load with nothing cached (a warm browser): bytes over the wire and ms to first data."""
    tab = page.context.new_page()
    cdp = page.context.new_cdp_session(tab)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    tab.set_viewport_size(viewport)
    tab.goto(stack.base_url + "/")
    tab.wait_for_function("() => performance.getEntriesByName('first-data').length > 0", timeout=10_000)
    tab.wait_for_function("() => window.CryptoDashboard.chart !== undefined", timeout=10_000)
    figures = tab.evaluate("""() => {
      const nav = performance.getEntriesByType('navigation')[0];
      // The page itself: HTML, CSS, scripts, the chart library (not the data it fetches later).
      const files = performance.getEntriesByType('resource').filter((e) => e.initiatorType !== 'fetch');
      return {bytes: nav.transferSize + files.reduce((n, e) => n + e.transferSize, 0),
              firstData: performance.getEntriesByName('first-data')[0].startTime};
    }""")
    tab.close()
    return int(figures["bytes"]), float(figures["firstData"])


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_every_panel_fills_and_follows_the_bot(
    browser: Browser, busy_stack: Stack, artifacts_dir: Path, viewport: dict[str, int]
) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    try:
        log_in(page, busy_stack)
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        expect(page.locator("#bot-state")).to_have_attribute("data-state", "running")
        expect(page.locator("#exchange-state")).to_have_text("simulated")
        expect(page.locator('#prices tr[data-symbol="BTCUSDT"] .change')).not_to_have_text("—", timeout=5_000)
        expect(page.locator("#perf tr").first).to_be_visible(timeout=20_000)
        expect(page.locator("#trades tr").first).to_be_visible(timeout=20_000)
        check_figures_equal_the_snapshot(page)

        # A trade arrives live: on top of the table, as the socket delivered it.
        top = page.locator("#trades tr").first.get_attribute("data-trade-id")
        expect(page.locator("#trades tr").first).not_to_have_attribute("data-trade-id", top or "", timeout=20_000)
        newest = page.locator("#trades tr").first.get_attribute("data-trade-id")
        assert any(newest in f and '"trade_executed"' in f for f in frames)

        # Candles of the chosen symbol, with a marker at a trade (the busy bot trades both symbols).
        page.wait_for_function("() => window.CryptoDashboard.chart && window.CryptoDashboard.chart.candles() > 1",
                               timeout=15_000)
        page.wait_for_function("() => window.CryptoDashboard.chart.markers() > 0", timeout=20_000)
        page.wait_for_function("""() => { const S = window.CryptoDashboard.state; return S.snap.trade_count > 0; }""")
        check_figures_equal_the_snapshot(page)  # again, after live changes
        page.evaluate("() => document.getElementById('toasts').replaceChildren()")  # transient, not the page
        name = f"dashboard-{viewport['width']}x{viewport['height']}.png"
        page.screenshot(path=str(artifacts_dir / name), full_page=viewport is PHONE)
        if viewport is DESKTOP and os.environ.get("UPDATE_SCREENSHOTS") == "1":  # the README's picture
            shutil.copy(artifacts_dir / name, ROOT / "docs" / "img" / "dashboard-desktop.png")

        size, first_data = page_budget(browser, page, busy_stack, viewport)
        print(f"\npage budget at {viewport['width']}x{viewport['height']}: first load {size / 1024:.1f} KB "
              f"(budget {PAGE_BUDGET_BYTES // 1024} KB), first data on screen {first_data:.0f} ms after navigation "
              f"(budget 500 ms)")
        assert size <= PAGE_BUDGET_BYTES
    finally:
        context.close()


def test_stop_confirmed_stop_and_close_all_then_start(page: Page, busy_stack: Stack) -> None:
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
    log_in(page, busy_stack)
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=10_000)

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#btn-stop").click()  # the click handler (confirm → send) has run when this returns
    assert not [f for f in sent if "stop_bot" in f], sent
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#btn-stop").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "stopped", timeout=5_000)
    expect(page.locator("#notice")).to_contain_text("stop_bot accepted")
    expect(page.locator("#btn-stop")).to_be_disabled()

    page.locator("#btn-start").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)
    stop_holding(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#btn-stop-close").click()  # stopped already: it still closes what is held
    expect(page.locator("#notice")).to_contain_text("stop_bot accepted", timeout=10_000)
    expect(page.locator("#notice")).to_contain_text("sold")
    expect(page.locator("#positions tr")).to_have_count(0)
    expect(page.locator("#positions-empty")).to_be_visible()
    assert [f for f in sent if '"close_positions":true' in f.replace(" ", "")]

    page.locator("#btn-start").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)
    stop_holding(page)
    symbol = page.locator("#positions tr").first.get_attribute("data-position")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f'#positions tr[data-position="{symbol}"] .btn-close').click()
    expect(page.locator("#notice")).to_contain_text("close_position accepted", timeout=10_000)
    expect(page.locator(f'#positions tr[data-position="{symbol}"]')).to_have_count(0)


def stop_holding(page: Page) -> None:
    """Wait until the running bot holds a position, then stop it (confirmed) so the position stays."""
    page.wait_for_function("() => window.CryptoDashboard.state.positions.size > 0", timeout=30_000)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#btn-stop").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "stopped", timeout=5_000)
    expect(page.locator("#notice")).to_contain_text("stop_bot accepted")
    if page.evaluate("() => window.CryptoDashboard.state.positions.size") == 0:  # it sold just before the stop
        page.locator("#btn-start").click()
        expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)
        stop_holding(page)


def test_a_viewer_watches_but_cannot_steer(browser: Browser, busy_stack: Stack) -> None:
    busy_stack.manage("shell", "-c", "from django.contrib.auth.models import User; "
                                     "User.objects.filter(username='vera').exists() or "
                                     "User.objects.create_user('vera', password='pw-vera-12345')")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        page.goto(busy_stack.base_url + "/")
        page.fill("#id_username", "vera")
        page.fill("#id_password", "pw-vera-12345")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        expect(page.locator("#role")).to_have_text("viewer (read-only)")
        expect(page.locator("#trades tr").first).to_be_visible(timeout=20_000)  # sees everything live
        for button in ("#btn-start", "#btn-stop", "#btn-stop-close"):
            expect(page.locator(button)).to_be_disabled()
        # A viewer who sends a command anyway (devtools): the server refuses it.
        state = page.locator("#bot-state").get_attribute("data-state") or ""
        command = "start_bot" if state == "stopped" else "stop_bot"
        page.evaluate("() => window.CryptoDashboard.state.canControl = true")
        page.evaluate(f"() => window.CryptoDashboard.send('{command}')")
        expect(page.locator("#notice")).to_contain_text(f"{command} failed: forbidden", timeout=5_000)
        expect(page.locator("#bot-state")).to_have_attribute("data-state", state)  # nothing happened
    finally:
        context.close()
