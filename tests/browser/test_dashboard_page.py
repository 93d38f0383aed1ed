"""A real browser logs in, sees prices move without reloading, and stops and starts the bot."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.stack import ADMIN_PASSWORD, ADMIN_USER, Stack

pytestmark = pytest.mark.browser


def log_in(page: Page, stack: Stack) -> None:
    page.goto(stack.base_url + "/")
    expect(page).to_have_url(f"{stack.base_url}/accounts/login/?next=/")
    page.fill("#id_username", ADMIN_USER)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{stack.base_url}/")


def test_live_prices_and_stop_start(page: Page, stack: Stack, artifacts_dir: Path) -> None:
    log_in(page, stack)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=10_000)
    price = page.locator('#prices tr[data-symbol="BTCUSDT"] .price')
    expect(price).not_to_have_text("—", timeout=5_000)
    first = price.inner_text()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    expect(price).not_to_have_text(first, timeout=10_000)  # moved by a pushed event
    assert navigations == [], f"the page reloaded: {navigations}"

    # A trade arrives live (default strategy trades within 30 s of the bot's start).
    expect(page.locator("#trades tr").first).to_be_visible(timeout=35_000)
    page.screenshot(path=str(artifacts_dir / "dashboard-running.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#btn-stop").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "stopped", timeout=5_000)
    expect(page.locator("#notice")).to_contain_text("stop_bot accepted")
    expect(page.locator("#btn-stop")).to_be_disabled()
    page.screenshot(path=str(artifacts_dir / "dashboard-stopped.png"), full_page=True)

    page.locator("#btn-start").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)


def test_cancelled_stop_sends_nothing(page: Page, stack: Stack) -> None:
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
    log_in(page, stack)
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=10_000)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#btn-stop").click()  # the click handler (confirm → send) has run when this returns
    assert not [frame for frame in sent if "stop_bot" in frame], sent
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#btn-stop").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "stopped", timeout=5_000)
    assert [frame for frame in sent if "stop_bot" in frame], "an accepted Stop must send stop_bot"
    page.locator("#btn-start").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "running", timeout=5_000)
