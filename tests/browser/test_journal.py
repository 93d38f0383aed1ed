"""The trade history page (/trades/) in a real browser, on a desk and on a phone: every stored trade, 50
a page; filters that narrow the list, live in the address (a reload and Back/Forward keep them) and the
CSV link follows; an operator writes a note inline (Esc cancels, the server's refusal is shown, Ctrl+Enter
saves) and it shows after a reload with who wrote it; a viewer reads notes and gets no button; a bot's
own operator gets buttons on that bot's trades only; the empty and the failed list say so and recover.
The server is real (the production web server, collected static files, the CSP); the trades are stored ones, seeded."""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.stack import Stack, delete_prefix, running_stack

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TZ = "Europe/Berlin"
PASSWORD = "journal-Pass-4-tests!"
OLGA, VERA, PETE = "olga", "vera", "pete"
"""An operator (every bot's notes), a viewer (none), and an operator of the bot `eth` only."""
MAIN_TRADES, ETH_TRADES = 80, 40
SHOTS = Path(tempfile.gettempdir())
"""Where the screenshots go (/tmp/journal-*.png): to be looked at (docs/img has chosen ones)."""

SEED = f"""
from datetime import timedelta
from decimal import Decimal
from django.contrib.auth.models import Group, User
from bot_api.models import utcnow
from crypto_bot_ui.trades.models import Bot, Trade
from crypto_bot_ui.trades.services import set_trade_note

olga = User.objects.create_user({OLGA!r}, password={PASSWORD!r})
olga.groups.add(Group.objects.get(name="Operators"))
User.objects.create_user({VERA!r}, password={PASSWORD!r})
pete = User.objects.create_user({PETE!r}, password={PASSWORD!r})
Bot.objects.get_or_create(bot_id="eth")[0].operators.add(pete)
Bot.objects.get_or_create(bot_id="main")

now = utcnow().replace(microsecond=0)
pnls = ["12.41", "-3.20", "5.07", "-8.66", "0.93", "21.15", "-1.04", "7.38"]
trades = []
def add(bot, n, symbol, price, qty, strategy, at):
    side = "buy" if n % 2 == 0 else "sell"
    price = Decimal(price) + Decimal(n % 7) * Decimal("13.37")
    qty = Decimal(qty)
    value = (price * qty).quantize(Decimal("0.00000001"))
    fee = (value / 1000).quantize(Decimal("0.00000001"))
    if strategy == "sma_cross":
        reason = "SMA 3 crossed " + ("above" if side == "buy" else "below") + " SMA 8"
    else:
        reason = "price 2.1 sigma " + ("below" if side == "buy" else "above") + " the 20-candle mean"
    trades.append(Trade(bot_id=bot, trade_id=f"{{bot}}-{{n}}", symbol=symbol, side=side, qty=qty, price=price,
                        quote_qty=value, fee=fee, fee_asset="USDT", fee_in_quote=fee,
                        realized_pnl=Decimal(pnls[n % len(pnls)]) if side == "sell" else Decimal(0),
                        reason=reason, strategy=strategy, executed_at=at))
for n in range({MAIN_TRADES}):
    symbol, price, qty = ("BTCUSDT", "65158.88", "0.0153") if n % 4 < 2 else ("ETHUSDT", "3412.57", "0.29")
    add("main", n, symbol, price, qty, "sma_cross", now - timedelta(minutes=23 * n + 5))
for n in range({ETH_TRADES}):
    add("eth", n, "ETHUSDT", "3398.10", "0.5", "mean_reversion", now - timedelta(minutes=41 * n + 17))
Trade.objects.bulk_create(trades)
set_trade_note(trade=Trade.objects.get(bot_id="main", trade_id="main-5"), user=olga,
               note="Sold into the spike; the spread was 3x normal.\\nCheck the fill against the book.")
set_trade_note(trade=Trade.objects.get(bot_id="eth", trade_id="eth-3"), user=olga, note="Reverted as planned.")
"""


@pytest.fixture(scope="module")
def journal_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The web server alone (no bot, so the list holds still) over 120 seeded trades of two bots, and the users."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path_factory.mktemp("journal"),
                           services=("web",)) as stack:
            stack.manage("shell", "-c", SEED)
            yield stack
    finally:
        delete_prefix(redis_url, prefix)


RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective));
"""


def new_context(browser: Browser, viewport: dict[str, int]) -> BrowserContext:
    phone = viewport == PHONE
    context = browser.new_context(viewport=viewport, timezone_id=TZ, locale="en-US", is_mobile=phone,
                                  has_touch=phone, device_scale_factor=2 if phone else 1)
    context.add_init_script(RECORD_VIOLATIONS)
    return context


def open_journal(page: Page, stack: Stack, log_in: Callable[..., None], user: str, query: str = "") -> list[str]:
    """Log `user` in and open /trades/; returns the list the page's errors are collected in."""
    errors: list[str] = []
    # The browser logs every 4xx/5xx answer as an error; those below are on purpose (a refused note, a failing API).
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, stack, user, PASSWORD)
    page.goto(stack.base_url + "/trades/" + query)
    return errors


def shown(text: str) -> str:
    """The page's words for "Trades 1-50 of 120": its ranges have an en dash."""
    return re.sub(r"^(\^?Trades [\d,]+)-", lambda m: m.group(1) + "\N{EN DASH}", text)


def summary(page: Page) -> Any:
    return page.locator("#journal-summary")


def rows(page: Page) -> Any:
    return page.locator("#journal-rows tr")


def bot_cells(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("#journal-rows td.bot").all_text_contents()]


def fits(page: Page, width: int) -> None:
    """Nothing sticks out sideways: neither the page nor the table scrolls horizontally."""
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the {width} px screen"
    table = page.evaluate("() => { const box = document.querySelector('.j-list .scroll'); "
                          "return box.scrollWidth - box.clientWidth; }")
    assert table <= 0, f"the table is {table} px wider than its panel at {width} px"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_an_operator_filters_pages_and_writes_a_note(
    browser: Browser, journal_stack: Stack, log_in: Callable[..., None], artifacts_dir: Path, viewport: dict[str, int],
) -> None:
    width = viewport["width"]
    context = new_context(browser, viewport)
    page = context.new_page()
    base = journal_stack.base_url
    try:
        errors = open_journal(page, journal_stack, log_in, OLGA)
        expect(page.locator('.pagenav a[aria-current="page"]')).to_have_text("Trades")
        expect(summary(page)).to_have_text(shown(f"Trades 1-50 of {MAIN_TRADES + ETH_TRADES}"))
        expect(rows(page)).to_have_count(50)
        expect(page.locator("#j-role")).to_have_text("notes: you may write")
        expect(page.locator("thead .tz").first).to_have_text(re.compile(r"GMT\+1|CET"))
        first = rows(page).first
        expect(first.locator("td.bot")).to_have_text("main")  # the newest: main-0, 5 minutes ago
        expect(first.locator("td.side")).to_have_text("Buy")
        expect(first.locator("td.pnl")).to_have_text("")  # a buy realizes nothing
        sell = rows(page).nth(2)  # main-1: main-0, eth-0 and main-1 are the newest three
        expect(sell.locator("td.pnl")).to_have_text("-3.20")
        expect(sell.locator("td.pnl")).to_have_attribute("data-sign", "neg")
        noted = page.locator("#journal-rows tr", has_text="Sold into the spike")
        expect(noted.locator(".note-text")).to_have_text(
            "Sold into the spike; the spread was 3x normal.\nCheck the fill against the book.")
        expect(noted.locator(".note-by")).to_have_text(re.compile(r"^by olga, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d "))
        page.screenshot(path=SHOTS / f"journal-{width}.png")
        fits(page, width)
        page.locator("#journal-pager").scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"journal-{width}-pager.png")

        # Pages: Next, then the numbered link of the last; Back returns.
        pager = page.get_by_role("navigation", name="Pages of trades")
        expect(pager.locator(".j-prev [aria-disabled=true]")).to_have_text("Previous")
        expect(pager.get_by_role("link", name="Page 1", exact=True)).to_have_attribute("aria-current", "page")
        pager.get_by_role("link", name="Next", exact=True).focus()  # by keyboard
        page.keyboard.press("Enter")
        expect(page).to_have_url(base + "/trades/?page=2")
        expect(summary(page)).to_have_text(shown("Trades 51-100 of 120"))
        expect(summary(page)).to_be_focused()  # the keyboard goes on above the new rows
        page.locator('#journal-pager a[aria-label="Page 3, the last"]').click()
        expect(summary(page)).to_have_text(shown("Trades 101-120 of 120"))
        expect(rows(page)).to_have_count(20)
        page.go_back()
        expect(summary(page)).to_have_text(shown("Trades 51-100 of 120"))
        page.go_back()
        expect(summary(page)).to_have_text(shown("Trades 1-50 of 120"))

        # A filter narrows the list, goes into the address and the CSV link, and survives a reload.
        page.select_option("#f-bot", "eth")
        expect(page).to_have_url(base + "/trades/?bot=eth")
        expect(summary(page)).to_have_text(shown("Trades 1-40 of 40 · bot eth"))
        assert set(bot_cells(page)) == {"eth"}
        page.select_option("#f-side", "sell")
        expect(page).to_have_url(base + "/trades/?bot=eth&side=sell")
        expect(summary(page)).to_have_text(shown("Trades 1-20 of 20 · bot eth · sells"))
        expect(page.locator("#journal-csv")).to_have_attribute("href", "/api/trades.csv?bot=eth&side=sell")
        page.reload()
        expect(summary(page)).to_have_text(shown("Trades 1-20 of 20 · bot eth · sells"))
        expect(page.locator("#f-bot")).to_have_value("eth")
        expect(page.locator("#f-side")).to_have_value("sell")
        assert set(page.locator("#journal-rows td.side").all_text_contents()) == {"Sell"}
        page.go_back()  # Back: the filter before
        expect(page).to_have_url(base + "/trades/?bot=eth")
        expect(summary(page)).to_have_text(shown("Trades 1-40 of 40 · bot eth"))
        expect(page.locator("#f-side")).to_have_value("")
        page.go_forward()
        expect(summary(page)).to_have_text(shown("Trades 1-20 of 20 · bot eth · sells"))

        # Days in the browser's zone: today only (every seeded trade is within three days).
        today = page.evaluate("() => { const d = new Date(), two = (n) => String(n).padStart(2, '0'); "
                              "return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()); }")
        page.goto(base + f"/trades/?bot=main&from={today}&to={today}")
        today_only = shown(rf"^Trades 1-\d+ of \d+ · bot main · on {today}$|^No trades")
        expect(summary(page)).to_have_text(re.compile(today_only))
        expect(page.locator("#f-from")).to_have_value(today)
        href = page.locator("#journal-csv").get_attribute("href") or ""
        assert re.fullmatch(r"/api/trades\.csv\?bot=main&since=\d{4}-\d\d-\d\dT\d\d%3A00%3A00\.000Z"
                            r"&until=\d{4}-\d\d-\d\dT\d\d%3A00%3A00\.000Z", href), href

        # No match: said, with a button that clears the filters.
        page.goto(base + "/trades/?bot=eth&symbol=BTCUSDT")
        expect(page.locator("#journal-empty")).to_be_visible()
        expect(page.locator("#journal-empty-text")).to_have_text("No trades match these filters (bot eth · BTCUSDT).")
        expect(page.locator("#journal-table")).to_be_hidden()
        page.screenshot(path=SHOTS / f"journal-{width}-empty.png")
        page.locator("#journal-clear").click()
        expect(page).to_have_url(base + "/trades/")
        expect(summary(page)).to_have_text(shown("Trades 1-50 of 120"))
        expect(page.locator("#f-bot")).to_be_focused()

        # A note: Add, Esc cancels; the server's refusal is shown; Ctrl+Enter saves; a reload keeps it.
        mine = "main-0" if viewport == DESKTOP else "main-1"
        page.goto(base + "/trades/?bot=main")
        row = page.locator("#journal-rows tr").nth(0 if viewport == DESKTOP else 1)
        trade_id = row.get_attribute("data-trade-id")
        add = row.locator(".note-button")
        expect(add).to_have_text("Add note")
        expect(add).to_have_attribute("aria-label",
                                      re.compile(r"^Add note: (buy|sell) [\d.]+ (BTC|ETH)USDT on main at "))
        add.click()
        area = row.locator("textarea")
        expect(area).to_be_focused()
        expect(area).to_have_attribute("maxlength", "2000")
        area.press_sequentially("never mind")
        expect(row.locator(".note-count")).to_have_text("10 / 2,000")
        area.press("Escape")
        expect(row.locator("textarea")).to_have_count(0)
        expect(add).to_be_focused()
        expect(row.locator(".note-text")).to_have_count(0)

        add.click()
        area.fill("ring \u0007 the bell")  # a control character: refused by the server, with its reason
        row.locator(".note-save").click()
        expect(row.locator(".note-error")).to_contain_text("Not saved: A note is plain text: character 6 (U+0007)")
        expect(area).to_be_focused()
        text = f"Entered on the cross ({mine}); the spread was wide.\nWatch the fees."
        area.fill(text)
        expect(row.locator(".note-count")).to_have_text(f"{len(text)} / 2,000")
        row.scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"journal-{width}-editing.png")
        area.press("Control+Enter")
        expect(row.locator(".note-saved")).to_have_text("Saved.")
        expect(row.locator(".note-text")).to_have_text(text)
        expect(row.locator(".note-by")).to_have_text(re.compile(r"^by olga, "))
        expect(row.locator(".note-button")).to_have_text("Edit note")
        expect(row.locator(".note-button")).to_be_focused()
        expect(page.locator("#journal-announce")).to_contain_text("Saved. The note on the ")
        page.reload()
        row = page.locator(f'#journal-rows tr[data-trade-id="{trade_id}"]')
        expect(row.locator(".note-text")).to_have_text(text)
        expect(row.locator(".note-by")).to_have_text(re.compile(r"^by olga, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d "))

        # Only the trades with a note.
        page.select_option("#f-note", "true")
        expect(page).to_have_url(base + "/trades/?bot=main&has_note=true")
        expect(summary(page)).to_have_text(re.compile(r" · bot main · with a note$"))
        expect(page.locator(f'#journal-rows tr[data-trade-id="{trade_id}"]')).to_be_visible()
        assert all(t.strip() for t in page.locator("#journal-rows .note-text").all_text_contents())
        expect(page.locator("#journal-rows .note-text")).to_have_count(rows(page).count())

        # The API fails: said, with Retry, which recovers.
        page.route("**/api/trades?*", lambda route: route.fulfill(
            status=503, content_type="application/json",
            body='{"code": "unavailable", "message": "the database is not answering"}'))
        page.select_option("#f-note", "")
        expect(page.locator("#journal-error")).to_be_visible()
        expect(page.locator("#journal-error-text")).to_have_text(
            "The trades could not be loaded: The database is not answering.")
        page.screenshot(path=SHOTS / f"journal-{width}-error.png")
        page.unroute("**/api/trades?*")
        page.locator("#journal-retry").click()
        expect(summary(page)).to_have_text(shown("Trades 1-50 of 80 · bot main"))
        expect(page.locator("#journal-error")).to_be_hidden()

        page.goto(base + "/trades/")
        expect(rows(page)).to_have_count(50)
        page.locator(f'#journal-rows tr[data-trade-id="{trade_id}"]').scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"journal-{width}-notes.png")
        fits(page, width)
        assert page.evaluate("() => window.__cspViolations") == []
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
def test_a_viewer_reads_notes_and_gets_no_button(
    browser: Browser, journal_stack: Stack, log_in: Callable[..., None], viewport: dict[str, int],
) -> None:
    context = new_context(browser, viewport)
    page = context.new_page()
    try:
        errors = open_journal(page, journal_stack, log_in, VERA, "?has_note=true")
        expect(page.locator("#j-role")).to_have_text("notes: read-only")
        expect(rows(page).first).to_be_visible()
        expect(page.locator("#journal-rows .note-text").first).to_be_visible()
        expect(page.locator("#journal-rows .note-by").first).to_contain_text("by olga, ")
        expect(page.locator("#journal-rows button")).to_have_count(0)
        fits(page, viewport["width"])
        # The server refuses her anyway.
        status = page.evaluate("""async () => {
          const id = document.querySelector('#journal-rows tr').dataset.tradeId;
          const r = await fetch('/api/trades/' + id, {method: 'PATCH', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json',
                      'X-CSRFToken': document.getElementById('journal').dataset.csrf},
            body: JSON.stringify({note: 'mine now'})});
          return [r.status, (await r.json()).code];
        }""")
        assert status == [403, "forbidden"]
        assert not errors, errors
    finally:
        context.close()


def test_a_bots_own_operator_writes_that_bots_notes_only(
    browser: Browser, journal_stack: Stack, log_in: Callable[..., None],
) -> None:
    context = new_context(browser, DESKTOP)
    page = context.new_page()
    try:
        errors = open_journal(page, journal_stack, log_in, PETE)
        expect(page.locator("#j-role")).to_have_text("notes: you may write on eth")
        expect(rows(page)).to_have_count(50)
        main_rows = page.locator("#journal-rows tr", has=page.locator("td.bot", has_text="main"))
        eth_rows = page.locator("#journal-rows tr", has=page.locator("td.bot", has_text="eth"))
        assert main_rows.count() > 0 and eth_rows.count() > 0
        expect(main_rows.locator(".note-button")).to_have_count(0)
        expect(eth_rows.locator(".note-button")).to_have_count(eth_rows.count())
        assert not errors, errors
    finally:
        context.close()

