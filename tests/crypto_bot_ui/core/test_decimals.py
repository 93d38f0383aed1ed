"""The one way stored decimals are printed: exact, positional, without trailing zeros."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_bot_ui.core.decimals import plain


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("3500.930000000000"), "3500.93"),
    (Decimal("0.001000000000"), "0.001"),
    (Decimal("0"), "0"),
    (Decimal("0E-12"), "0"),
    (Decimal("-0.000000000000"), "0"),
    (Decimal("1E+1"), "10"),
    (Decimal("1E+3"), "1000"),
    (Decimal("100.000000000000"), "100"),
    (Decimal("-1.500000000000"), "-1.5"),
    (Decimal("-0.000000000001"), "-0.000000000001"),
    (Decimal("1E-12"), "0.000000000001"),
    (Decimal("12345678901234567890.123456789012"), "12345678901234567890.123456789012"),  # 32 digits, unrounded
    (7, "7"),
    ("2.50", "2.5"),
])
def test_plain(value: Decimal | int | str, text: str) -> None:
    assert plain(value) == text
    assert Decimal(text) == Decimal(value)  # the same number, only written differently
