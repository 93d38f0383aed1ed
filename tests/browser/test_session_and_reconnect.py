"""The page is honest about the connection: reconnecting while the server is away, login when the session is gone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Page, expect

from bot_api.keys import RedisKeys
from tests.stack import Stack, wait_for

pytestmark = pytest.mark.browser


def test_reconnects_after_a_server_restart_and_goes_to_login_when_the_session_is_gone(
    page: Page, stack: Stack, artifacts_dir: Path, log_in: Callable[[Page, Stack], None]
) -> None:
    log_in(page, stack)
    conn = page.locator("#conn-state")
    expect(conn).to_have_attribute("data-state", "live", timeout=10_000)

    expect(page.locator("#trades tr").first).to_be_visible(timeout=35_000)
    stack.stop("web")
    expect(conn).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    expect(conn).to_contain_text("reconnecting")
    page.screenshot(path=str(artifacts_dir / "dashboard-reconnecting.png"))
    keys = RedisKeys(prefix=stack.env["REDIS_PREFIX"])
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    try:  # the bot trades while the page is away: there is something to miss
        trades_before = client.xlen(keys.trades_stream)
        wait_for(lambda: client.xlen(keys.trades_stream) > trades_before, 40, "a trade while the page is away")
    finally:
        client.close()
    stack.start("web")
    wait_for(stack.health, 30, "the web server back")
    expect(conn).to_have_attribute("data-state", "live", timeout=40_000)  # backoff ≤ 30 s, then resume
    expect(page.locator("#log")).to_contain_text("reconnected: the events missed since")

    # Zulip-style: the state the page built (old state + replayed events) equals a fresh snapshot.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#btn-stop").click()
    expect(page.locator("#bot-state")).to_have_attribute("data-state", "stopped", timeout=5_000)
    fresh = page.context.new_page()
    fresh.goto(stack.base_url + "/")
    expect(fresh.locator("#bot-state")).to_have_attribute("data-state", "stopped", timeout=10_000)
    for selector in ("#trade-count", "#pnl-realized", "#cash"):
        expect(page.locator(selector)).to_have_text(fresh.locator(selector).inner_text())
    trade_ids = "Array.from(document.querySelectorAll('#trades tr')).map(r => r.dataset.tradeId)"
    assert page.evaluate(trade_ids) == fresh.evaluate(trade_ids)
    fresh.close()

    stack.stop("web")
    expect(conn).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    page.context.clear_cookies()  # the session is gone (expired, logged out elsewhere)
    stack.start("web")
    wait_for(stack.health, 30, "the web server back")
    expect(page).to_have_url(f"{stack.base_url}/accounts/login/?next=/bots/main/", timeout=40_000)
