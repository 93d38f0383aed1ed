"""Alerts in a real browser, with the notifier running: a viewer adds an alert through the bot page's
form, the simulated market fires it within seconds, the pop-up shows its words with a link to the bot,
the panel lists the firing (after a reload too); the server's refusal shows next to the form; switched
off and deleted from the panel; and the overview pops up the user's alerts as well. Both widths."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.stack import Stack, delete_prefix, running_stack

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VERA, VERA_PASSWORD = "vera", "vera-Pass-4-tests!"
"""A viewer: no right to steer the bot, her own alerts all the same."""


@pytest.fixture(scope="module")
def notifying(redis_url: str, busy: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A busy bot (a price every 0.2 s), the recorder, the web server and the notifier; and a viewer."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path_factory.mktemp("alerts"),
                           services=("bot", "recorder", "web", "notifier"), **busy) as stack:
            stack.manage("shell", "-c", "from django.contrib.auth.models import User; "
                                        f"User.objects.create_user({VERA!r}, password={VERA_PASSWORD!r})")
            yield stack
    finally:
        delete_prefix(redis_url, prefix)


def add_alert(page: Page, *, kind: str, level: str, window: str | None = None, note: str = "") -> None:
    """Fill the panel's form and submit it (channels as they are: `page` ticked)."""
    page.select_option("#alert-kind", kind)
    page.fill("#alert-level", level)
    if window is not None:
        page.fill("#alert-window", window)
    page.fill("#alert-note", note)
    # Enter, not a click: the live panels above keep moving the button (a click by position could miss).
    page.press("#alert-note", "Enter")


def test_an_alert_made_on_the_page_fires_pops_up_and_is_listed(
    browser: Browser, notifying: Stack, artifacts_dir: Path, log_in: Callable[..., None],
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    # The browser logs every 4xx answer; the one 400 below is on purpose (the server's refusal shown).
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 400" not in m.text
            else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(page, notifying, VERA, VERA_PASSWORD)  # one bot: home is its page
        expect(page).to_have_url(re.compile(r"/bots/main/$"))
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        expect(page.locator("#role")).to_have_attribute("data-role", "viewer")
        expect(page.locator("#alerts-empty")).to_be_visible()
        expect(page.locator("#alert-symbol option")).not_to_have_count(0)
        expect(page.locator("#alert-channels input[value=page]")).to_be_checked()
        expect(page.locator("#alert-window-field")).to_be_hidden()

        # A hint before anything is sent, and the server's own reason for what only it checks.
        add_alert(page, kind="drawdown", level="150")
        expect(page.locator("#alert-error")).to_have_text("The percentage must be at most 100.")
        add_alert(page, kind="price_above", level="0.0000000000001")
        expect(page.locator("#alert-error")).to_contain_text("no more than 12 decimal places")
        assert page.locator("#alert-rows tr").count() == 0

        # 0.001 % within a minute: the walk moves ~0.005 % a tick, so the first ticks after the next fire it.
        page.select_option("#alert-kind", "price_move")
        expect(page.locator("#alert-window-field")).to_be_visible()
        expect(page.locator("#alert-level-label")).to_have_text("Move %")
        symbol = page.locator("#alert-symbol").input_value()
        add_alert(page, kind="price_move", level="0.001", window="1", note="from the browser test")
        expect(page.locator("#alert-error")).to_be_hidden()
        expect(page.locator("#alert-done")).to_have_text(f"Added: {symbol} moves 0.001 % within 1 min.")
        row = page.locator("#alert-rows tr").first
        expect(row).to_contain_text("Price move")
        expect(row.locator(".level")).to_have_text("0.001 %")
        expect(row.locator(".window")).to_have_text("1 min")
        expect(row.locator(".channels")).to_have_text("Page")
        expect(row.locator(".note")).to_have_text("from the browser test")

        toast = page.locator("#toasts .toast-alert")
        expect(toast).to_be_visible(timeout=20_000)
        expect(toast).to_contain_text(f"main {symbol}: moved ")
        expect(toast.locator("a")).to_have_attribute("href", "/bots/main/#alerts")
        expect(page.locator("#log .log-alert").first).to_contain_text(f"main {symbol}: moved ")
        firing = page.locator("#alert-firings li").first
        expect(firing).to_contain_text(f"main {symbol}: moved ", timeout=5_000)
        expect(row.locator(".last")).not_to_have_text("never")
        page.locator("#alerts").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir / "alerts-toast-1280x800.png"))
        page.evaluate("() => document.getElementById('toasts').replaceChildren()")  # transient, not the panel
        page.locator("#alerts").screenshot(path=str(artifacts_dir / "alerts-panel-1280x800.png"))

        page.reload()
        expect(page.locator("#alert-firings li").first).to_contain_text(f"main {symbol}: moved ", timeout=10_000)
        expect(page.locator("#alert-rows tr")).to_have_count(1)

        # Switched off and on from the panel; then deleted (confirmed).
        switch = page.locator("#alert-rows tr").first.locator(".on input")
        switch.focus()
        page.keyboard.press("Space")
        expect(page.locator("#alert-done")).to_contain_text("Switched off")
        expect(page.locator("#alert-rows tr").first).to_have_class(re.compile(r"\boff\b"))
        page.reload()
        expect(page.locator("#alert-rows tr").first.locator(".on input")).not_to_be_checked()
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#alert-rows .btn-delete").first.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#alert-rows tr")).to_have_count(0)
        expect(page.locator("#alerts-empty")).to_be_visible()
        assert not errors, errors
    finally:
        context.close()


def test_the_overview_pops_up_the_users_alerts_too(
    browser: Browser, notifying: Stack, log_in: Callable[..., None],
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        log_in(page, notifying, VERA, VERA_PASSWORD)
        page.goto(notifying.base_url + "/?all")
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        # Made through the API with the page's CSRF token (the overview has no form of its own).
        made = page.evaluate("""async () => {
          const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
          const r = await fetch('/api/alerts', {method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
            body: JSON.stringify({bot_id: 'main', kind: 'price_move', symbol: 'BTCUSDT', level: '0.001',
                                  window_minutes: 1})});
          return [r.status, await r.json()];
        }""")
        assert made[0] == 201, made
        toast = page.locator("#toasts .toast-alert")
        expect(toast).to_be_visible(timeout=20_000)
        expect(toast).to_contain_text("main BTCUSDT: moved ")
        toast.locator("a").click()
        expect(page).to_have_url(re.compile(r"/bots/main/#alerts$"))
        expect(page.locator("#alert-firings li").first).to_contain_text("main BTCUSDT: moved ", timeout=10_000)
    finally:
        context.close()


def test_the_panel_at_phone_width(
    browser: Browser, notifying: Stack, artifacts_dir: Path, log_in: Callable[..., None],
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    try:
        log_in(page, notifying, VERA, VERA_PASSWORD)
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        expect(page.locator("#alert-symbol option")).not_to_have_count(0)
        add_alert(page, kind="price_above", level="1000000", note="a level the walk will not reach")
        expect(page.locator("#alert-done")).to_have_text("Added: BTCUSDT at or above 1,000,000.")
        expect(page.locator("#alert-rows tr", has_text="1,000,000")).to_have_count(1)
        page.select_option("#alert-kind", "price_move")  # the form with every field it can have
        page.locator("#alerts").scroll_into_view_if_needed()
        page.evaluate("() => document.getElementById('toasts').replaceChildren()")  # transient, not the panel
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px at 390 px"
        box = page.locator("#alert-add").bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
        # Measured and captured in one go: the live panels above it (trades, positions) keep moving it.
        clip = page.evaluate("""() => {
          const r = document.getElementById('alerts').getBoundingClientRect();
          return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height};
        }""")
        page.screenshot(path=str(artifacts_dir / "alerts-panel-390x844.png"), full_page=True, clip=clip)
    finally:
        context.close()
