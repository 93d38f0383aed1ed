"""The page tells the truth, live: money that adds up in every frame and moves with prices while the
bot is stopped; a frozen server shown as stale; a phone layout without sideways scrolling; a chart
whose timeframes, markers and trade details match the data they come from."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.stack import Stack

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SAMPLES = 32



def test_headline_equals_the_rows_every_second_and_moves_with_prices_while_stopped(
    page: Page, busy_stack: Stack, log_in: Callable[[Page, Stack], None], holding: Callable[[Page], str],
    read_money: Callable[[Page], dict[str, Any]],
) -> None:
    log_in(page, busy_stack)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    if page.locator("#bot-state").get_attribute("data-state") == "stopped":
        page.locator("#btn-start").click()
    holding(page)  # positions open, bot stopped: from now on only prices move the figures
    seen_unrealized = set()
    for _ in range(SAMPLES):
        m = read_money(page)
        assert m["rows"], "a position is open"
        rows_unrealized = sum((Decimal(r["unrealized"]) for r in m["rows"]), Decimal(0))
        assert Decimal(m["unrealized"]) == rows_unrealized, m
        assert Decimal(m["total"]) == Decimal(m["realized"]) + Decimal(m["unrealized"]), m
        assert Decimal(m["equity"]) == Decimal(m["cash"]) + sum((Decimal(r["value"]) for r in m["rows"]), Decimal(0)), m
        seen_unrealized.add(m["unrealized"])
        page.wait_for_timeout(1000)  # the sampling rate itself, not a wait for an outcome
    assert len(seen_unrealized) > 1, "the headline moved with prices while the bot was stopped"
    # The REST snapshot carries the same marks the socket does, for the same seq.
    api = page.evaluate("() => fetch('/api/dashboard').then((r) => r.json())")
    marks = api["data"]["marks"]
    assert Decimal(marks["total"]) == Decimal(marks["realized"]) + Decimal(marks["unrealized"])
    assert Decimal(marks["unrealized"]) == sum((Decimal(p["unrealized"]) for p in marks["positions"].values()),
                                               Decimal(0))
    page.locator("#btn-start").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)


# What a page shows that no price moves: the positions held, the account's trade figures, the
# statistics and the trades, read in one JS turn after a rendered frame.
READ_BOOKS = """() => new Promise((done) => requestAnimationFrame(() => {
  const text = (sel) => document.querySelector(sel).textContent.trim();
  done({positions: Array.from(document.querySelectorAll('#positions tr')).map((r) =>
          [r.dataset.position, r.querySelector('.qty').textContent, r.querySelector('.entry').textContent]),
        trades: Array.from(document.querySelectorAll('#trades tr')).map((r) => r.dataset.tradeId),
        count: text('#trade-count'), realized: text('#pnl-realized'), cash: text('#cash'), rate: text('#win-rate'),
        stats: text('#stats'), perf: text('#perf')});
}))"""


def test_a_page_that_lived_through_a_burst_of_trades_shows_what_a_fresh_page_shows(
    page: Page, busy_stack: Stack, log_in: Callable[[Page, Stack], None]
) -> None:
    """After the first status a page gets each trade and the account after it (not a new status):
    applied in order, they leave it where a page that just loaded the status is."""
    log_in(page, busy_stack)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    if page.locator("#bot-state").get_attribute("data-state") == "stopped":
        page.locator("#btn-start").click()
        expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)
    count = "() => Number(document.getElementById('trade-count').textContent)"
    start = page.evaluate(count)
    page.wait_for_function(f"() => ({count})() >= {start + 6}", timeout=90_000)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#btn-stop").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "stopped", timeout=5_000)
    expect(page.locator("#notice")).to_contain_text("Bot stopped")
    fresh = page.context.new_page()
    try:
        fresh.goto(busy_stack.base_url + "/bots/main/")
        expect(fresh.locator("#bot-state")).to_have_attribute("data-state", "stopped", timeout=10_000)
        lived, loaded = page.evaluate(READ_BOOKS), fresh.evaluate(READ_BOOKS)
        assert lived == loaded
        assert int(lived["count"]) >= start + 6 and lived["trades"] and lived["stats"]
    finally:
        fresh.close()
    page.locator("#btn-start").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)


def test_a_frozen_web_process_is_shown_stale_and_live_again_when_it_thaws(
    page: Page, busy_stack: Stack, log_in: Callable[[Page, Stack], None]
) -> None:
    log_in(page, busy_stack)
    conn = page.locator("#conn-state")
    expect(conn).to_have_attribute("data-state", "live", timeout=10_000)
    web = busy_stack.processes["web"]
    os.killpg(web.pid, signal.SIGSTOP)
    try:
        frozen_at = time.monotonic()
        expect(conn).not_to_have_attribute("data-state", "live", timeout=5_000)
        left_live_after = time.monotonic() - frozen_at
        expect(conn).to_contain_text("stale")
        expect(page.locator("body")).to_have_class("stale")
        # Still frozen after 10 s: the page gives the silent socket up and tries a new one (which
        # waits: the frozen server accepts the connection but cannot answer it).
        expect(conn).to_have_attribute("data-state", re.compile("reconnecting|connecting"), timeout=8_000)
        expect(page.locator("#log")).to_contain_text("opening a new connection")
    finally:
        os.killpg(web.pid, signal.SIGCONT)
    expect(conn).to_have_attribute("data-state", "live", timeout=40_000)
    expect(page.locator("#log")).to_contain_text("reconnected: the events missed since")
    print(f"\nfrozen web process: the page left 'live' after {left_live_after:.1f} s")


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_phone_layout_fits_390_px_with_positions_open_and_close_works(
    browser: Browser, busy_stack: Stack, log_in: Callable[..., None], holding: Callable[[Page], str],
    artifacts_dir: Path, role: str,
) -> None:
    busy_stack.manage("shell", "-c", "from django.contrib.auth.models import User; "
                                     "User.objects.filter(username='pia').exists() or "
                                     "User.objects.create_user('pia', password='pw-pia-12345')")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        if role == "operator":
            log_in(page, busy_stack)
        else:
            log_in(page, busy_stack, "pia", "pw-pia-12345")
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        page.wait_for_function("() => document.querySelectorAll('#positions tr').length > 0", timeout=30_000)
        expect(page.locator("#trades tr").first).to_be_visible(timeout=20_000)
        expect(page.locator("#chart")).to_have_attribute("data-state", "ready", timeout=15_000)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, document.body.scrollWidth]")
        assert max(widths) <= PHONE["width"], widths
        close = page.locator("#positions tr .btn-close").first
        # The busy bot opens and closes positions all the time: measure a button in the same moment it
        # is found (between a locator's check and its measuring, the row may have gone).
        box = page.wait_for_function("""() => {
            const button = document.querySelector('#positions tr .btn-close');
            if (!button || !button.offsetParent) return null;
            const r = button.getBoundingClientRect();
            return {x: r.x, width: r.width};
        }""", timeout=30_000).json_value()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        page.screenshot(path=str(artifacts_dir / f"phone-{role}.png"), full_page=True)
        if role == "viewer":
            expect(close).to_be_disabled()
            return
        symbol = holding(page)
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator(f'#positions tr[data-position="{symbol}"] .btn-close').tap()
        expect(page.locator("#notice")).to_contain_text("Position closed.", timeout=10_000)
        expect(page.locator(f'#positions tr[data-position="{symbol}"]')).to_have_count(0)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator("#btn-start").click()
        expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)
    finally:
        context.close()


def _api(page: Page, path: str) -> Any:
    return page.evaluate("(p) => fetch(p).then((r) => r.json())", path)


def _aggregate(base: list[dict[str, str]], tf: int) -> dict[int, tuple[Decimal, Decimal, Decimal, Decimal]]:
    """Candles of `tf` seconds from base candles, computed here, apart from the page's code."""
    out: dict[int, list[Decimal]] = {}
    for c in base:
        t = c["time"] // tf * tf  # type: ignore[operator]
        o, h, lo, cl = (Decimal(c[k]) for k in ("open", "high", "low", "close"))
        if t not in out:
            out[t] = [o, h, lo, cl]
        else:
            out[t][1], out[t][2], out[t][3] = max(out[t][1], h), min(out[t][2], lo), cl
    return {t: (v[0], v[1], v[2], v[3]) for t, v in out.items()}


def test_timeframes_aggregate_the_stored_candles_and_markers_show_their_trades(
    page: Page, busy_stack: Stack, log_in: Callable[[Page, Stack], None]
) -> None:
    log_in(page, busy_stack)
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-state", "ready", timeout=15_000)
    symbol = chart.get_attribute("data-symbol") or ""
    page.locator('#chart-timeframes button[data-tf="300"]').click()
    expect(chart).to_have_attribute("data-timeframe", "300")
    expect(chart).to_have_attribute("data-state", "ready", timeout=10_000)
    page.locator('#chart-timeframes button[data-tf="60"]').click()
    expect(chart).to_have_attribute("data-state", "ready", timeout=10_000)
    # At least two 1-minute candles: the older one is closed and can be checked exactly.
    page.wait_for_function("() => Number(document.getElementById('chart').dataset.candles) >= 2", timeout=90_000)
    page.locator('#chart-timeframes button[data-tf="300"]').click()
    page.locator('#chart-timeframes button[data-tf="60"]').click()
    expect(chart).to_have_attribute("data-state", "ready", timeout=10_000)

    # Hover the first candle: the legend shows it; compare with our own aggregation of the API's base.
    box = chart.bounding_box()
    assert box is not None
    page.locator("#chart-fit").click()
    found = None
    for fraction in (0.04, 0.08, 0.12, 0.2, 0.3, 0.4, 0.5):
        page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        t = page.locator("#chart-legend").get_attribute("data-time")
        if t is not None:
            found = int(t)
            break
    assert found is not None, "hovering the chart shows a candle in the legend"
    body = _api(page, f"/api/candles?symbol={symbol}&timeframe=60")
    expected = _aggregate(body["candles"], 60)
    newest = max(expected)
    if found == newest:  # the live candle keeps moving: take the previous one by moving left
        found = sorted(expected)[-2]
    legend = page.locator("#chart-legend")
    for fraction in [i / 100 for i in range(2, 98, 2)]:
        page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        if legend.get_attribute("data-time") == str(found):
            break
    assert legend.get_attribute("data-time") == str(found)
    shown = tuple(Decimal(legend.get_attribute(f"data-{k}") or "nan") for k in ("open", "high", "low", "close"))
    assert shown == expected[found], (shown, expected[found])

    # Markers: one per candle that traded, holding every trade of that candle (from the REST API).
    page.wait_for_function("() => Number(document.getElementById('chart').dataset.markers) > 0", timeout=20_000)
    first = min(expected)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first))
    trades = _api(page, f"/api/trades?symbol={symbol}&since={since}&page_size=500")["results"]
    per_candle: dict[int, int] = {}
    for t in trades:
        at = int(datetime.fromisoformat(t["executed_at"].replace("Z", "+00:00")).timestamp())
        per_candle[at // 60 * 60] = per_candle.get(at // 60 * 60, 0) + 1
    shown_markers = int(chart.get_attribute("data-markers") or 0)
    assert shown_markers >= len([c for c in per_candle if c <= newest]) - 1  # live trades may add one more
    # Hover a candle that traded: the tip lists its trades.
    traded = sorted(c for c in per_candle if c in expected)
    assert traded, "the busy bot traded within the chart's range"
    target = traded[-1]
    for fraction in [i / 100 for i in range(2, 99)]:
        page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        if legend.get_attribute("data-time") == str(target):
            break
    tip = page.locator("#chart-tip")
    expect(tip).to_be_visible()
    assert tip.locator(".tip-trade").count() >= min(per_candle[target], 8)
    expect(tip.locator(".tip-head")).to_have_text(re.compile(r"^\d+ (buy|sell)s?(, \d+ sells?)?$"))
    print(f"\nchart: {len(expected)} one-minute candles, {shown_markers} markers; hovered {target}: "
          f"{per_candle[target]} trade(s)")
