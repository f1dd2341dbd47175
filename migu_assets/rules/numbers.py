"""Rounding (SPEC preamble): scores and money are rounded half-up to 2 decimals, never with floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_decimal(value: object) -> Decimal:
    """Exact decimal of a number read from a file or the database (floats go through their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def round2(value: object) -> Decimal:
    """Half-up to 2 decimals: 0.005 → 0.01, 2.675 → 2.68."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
