"""Playwright driving Debian's Chromium (no browser download: executable_path is fixed)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.stack import ADMIN_PASSWORD, ADMIN_USER, Stack, delete_prefix, running_stack

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Chromium for the whole run."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at desktop size."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    yield tab
    context.close()


# Trades every few seconds (strategy on every price), 2 s candles and an equity point a second:
# every panel fills quickly. The control tests click faster than a person: a higher command rate.
BUSY = {"TICK_INTERVAL": "0.2", "SMA_FAST": "3", "SMA_SLOW": "8", "STRATEGY_TIMEFRAME": "0", "CANDLE_INTERVAL": "2",
        "EQUITY_INTERVAL": "1", "COMMAND_RATE_LIMIT": "100"}


@pytest.fixture(scope="session")
def busy() -> dict[str, str]:
    """The busy bots' settings (see BUSY), for a test that starts its own bots."""
    return dict(BUSY)


@pytest.fixture(scope="session")
def busy_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One busy bot, recorder and web server for the browser tests that only watch and steer it."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        with running_stack(redis_url=redis_url, prefix=prefix, tmp=tmp_path_factory.mktemp("busy"), **BUSY) as stack:
            yield stack
    finally:
        delete_prefix(redis_url, prefix)


@pytest.fixture(scope="session")
def log_in() -> Callable[[Page, Stack], None]:
    """Log a page in as the admin through the real login form."""

    def go(page: Page, stack: Stack, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
        page.goto(stack.base_url + "/")
        expect(page).to_have_url(f"{stack.base_url}/accounts/login/?next=/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.get_by_role("button", name="Log in").click()
        # Home: the overview, or the one bot's page it leads to.
        expect(page).to_have_url(re.compile(re.escape(stack.base_url) + r"/(bots/[\w-]+/)?(\?all)?$"))

    return go


@pytest.fixture(scope="session")
def holding() -> Callable[[Page], str]:
    """Wait until the running bot holds a position, stop it (confirmed) so the position stays;
    return the symbol held."""

    def hold(page: Page) -> str:
        for _ in range(5):
            page.wait_for_function("() => document.querySelectorAll('#positions tr').length > 0", timeout=30_000)
            page.once("dialog", lambda dialog: dialog.accept())
            page.locator("#btn-stop").click()
            expect(page.locator("#bot-state")).to_have_attribute("data-state", "stopped", timeout=5_000)
            expect(page.locator("#notice")).to_contain_text("Bot stopped")
            rows = page.locator("#positions tr")
            if rows.count() > 0:
                return rows.first.get_attribute("data-position") or ""
            page.locator("#btn-start").click()  # it sold just before the stop: again
            expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)
        raise AssertionError("the bot never held a position when stopped")

    return hold


# The headline and every position row, read in one JS turn right after a rendered frame, as
# plain decimal strings (grouping commas and the + sign removed).
READ_MONEY = """() => new Promise((done) => requestAnimationFrame(() => {
  const num = (t) => t.replace(/,/g, '').replace(/^\\+/, '');
  const text = (id) => num(document.getElementById(id).textContent);
  const rows = Array.from(document.querySelectorAll('#positions tr'));
  done({realized: text('pnl-realized'), unrealized: text('pnl-unrealized'), total: text('pnl-total'),
        equity: text('equity'), cash: text('cash'),
        rows: rows.map((r) => ({symbol: r.dataset.position, unrealized: num(r.querySelector('.upnl').textContent),
                                value: num(r.querySelector('.value').textContent)}))});
}))"""


@pytest.fixture(scope="session")
def read_money() -> Callable[[Page], dict[str, Any]]:
    """Read the money figures a page shows, all from one rendered frame."""

    def read(page: Page) -> dict[str, Any]:
        figures: dict[str, Any] = page.evaluate(READ_MONEY)
        return figures

    return read
