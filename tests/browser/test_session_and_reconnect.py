"""The page is honest about the connection: reconnecting while the server is away, login when the session is gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard_page import log_in
from tests.stack import Stack, wait_for

pytestmark = pytest.mark.browser


def test_reconnects_after_a_server_restart_and_goes_to_login_when_the_session_is_gone(
    page: Page, stack: Stack, artifacts_dir: Path
) -> None:
    log_in(page, stack)
    conn = page.locator("#conn-state")
    expect(conn).to_have_attribute("data-state", "live", timeout=10_000)

    stack.stop("web")
    expect(conn).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    expect(conn).to_contain_text("reconnecting")
    page.screenshot(path=str(artifacts_dir / "dashboard-reconnecting.png"))
    stack.start("web")
    wait_for(stack.health, 30, "Daphne back")
    expect(conn).to_have_attribute("data-state", "live", timeout=40_000)  # backoff ≤ 30 s, then a snapshot

    stack.stop("web")
    expect(conn).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    page.context.clear_cookies()  # the session is gone (expired, logged out elsewhere)
    stack.start("web")
    wait_for(stack.health, 30, "Daphne back")
    expect(page).to_have_url(f"{stack.base_url}/accounts/login/?next=/", timeout=40_000)
