"""Fixtures of the end-to-end tests (the `stack` fixture itself lives in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.stack import Browserless, Stack


@pytest.fixture
def session(stack: Stack) -> Browserless:
    """An HTTP session logged in as the admin through the login form."""
    browser = Browserless(stack.base_url)
    browser.login()
    return browser
