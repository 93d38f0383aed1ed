"""Decimals as people and JSON read them: the stored 12 places without their trailing zeros."""

from __future__ import annotations

from decimal import Decimal


def plain(value: Decimal | int | str) -> str:
    """`value` in positional notation without trailing zeros: 3500.930000000000 → "3500.93", 1E+1 → "10"."""
    # format(…, "f") is exact whatever the digits; Decimal.normalize() would round to the context's
    # 28 digits (a 32-digit column holds more) and leaves exponents such as 1E+1 for "f" to undo anyway.
    text = format(value if isinstance(value, Decimal) else Decimal(str(value).strip()), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
