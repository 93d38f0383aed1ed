"""The Content-Security-Policy in a real browser: the login page, the live dashboard (socket, charts),
the admin (index, a change list with its actions and filters, a change form) and Swagger UI (its
operations, one tried out) all work under it, and Chromium reports no violation anywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from tests.stack import Stack

pytestmark = pytest.mark.browser

# Runs in every document before its own scripts: keeps what the browser reports as violated.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({directive: e.effectiveDirective, blocked: e.blockedURI,
                               source: e.sourceFile, line: e.lineNumber, sample: e.sample});
});
"""


def violations(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate("() => window.__cspViolations")
    return found


def assert_policy(response: Response | None) -> None:
    assert response is not None and response.ok, response
    policy = response.header_value("content-security-policy") or ""
    assert "script-src 'self';" in policy + ";" and "'unsafe-inline'" not in policy, policy


def test_no_page_breaks_the_policy(
    browser: Browser, busy_stack: Stack, log_in: Callable[[Page, Stack], None]
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    context.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    context.on("weberror", lambda err: console.append(f"error: {err.error}"))
    page = context.new_page()
    base = busy_stack.base_url
    try:
        # The login page.
        assert_policy(page.goto(base + "/accounts/login/"))
        expect(page.locator("#id_username")).to_be_visible()
        assert violations(page) == []

        # The dashboard: the module scripts, the JSON snapshot, the socket (connect-src), the chart
        # library loaded later from a script element, the charts drawn with markers.
        log_in(page, busy_stack)
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
        expect(page.locator("#chart")).to_have_attribute("data-state", "ready", timeout=15_000)
        expect(page.locator("#trades tr").first).to_be_visible(timeout=20_000)
        page.wait_for_function("() => Number(document.getElementById('chart').dataset.markers) > 0",
                               timeout=20_000)
        page.locator("#chart").hover()  # the tooltip is placed with element.style (CSSOM: allowed)
        assert violations(page) == []

        # The admin: index, a change list (jQuery, actions, filters, date hierarchy), a change form.
        assert_policy(page.goto(base + "/admin/"))
        expect(page.locator("#site-name")).to_be_visible()
        assert violations(page) == []
        assert_policy(page.goto(base + "/admin/trades/trade/"))
        expect(page.locator("#result_list tbody tr").first).to_be_visible()
        page.locator("#action-toggle").check()  # actions.js runs
        expect(page.locator(".action-counter")).to_contain_text("selected")
        assert violations(page) == []
        page.locator("#result_list tbody tr th a").first.click()
        expect(page.locator("#trade_form")).to_be_visible()
        assert violations(page) == []

        # Swagger UI: the start-up script from ?script=, the operations listed, one tried out.
        assert_policy(page.goto(base + "/api/docs/"))
        health = page.locator(".opblock-get", has_text="/api/health")
        expect(health).to_be_visible(timeout=15_000)
        assert page.locator(".opblock").count() >= 7
        health.locator(".opblock-summary").click()
        page.get_by_role("button", name="Try it out").click()
        page.get_by_role("button", name="Execute").click()
        status = health.locator(".live-responses-table tr.response .response-col_status")
        expect(status).to_have_text("200", timeout=10_000)
        assert violations(page) == []

        # The check itself works: an inline script is refused and reported.
        page.evaluate("""() => { const s = document.createElement("script");
                                 s.textContent = "window.__inlineRan = true"; document.body.append(s); }""")
        page.wait_for_function("() => window.__cspViolations.length > 0")
        assert violations(page)[0]["directive"] == "script-src-elem"
        assert page.evaluate("() => window.__inlineRan") is None
        refused = [line for line in console if "Content Security Policy" in line]
        assert len(refused) == 1 and "inline script" in refused[0], refused
    finally:
        context.close()
