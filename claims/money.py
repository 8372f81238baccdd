"""Money as Decimal: parsing with at most two decimals, rounding half up to the fen, fen conversion."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def round_fen(value: Decimal) -> Decimal:
    """四舍五入 to 0.01 元: the only rounding the engine ever does, once per result line."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(value: Decimal) -> int:
    """Exact conversion to integer fen for storage; refuses amounts finer than a fen."""
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"amount {value} has more than two decimals")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def parse_decimal(text: str) -> Decimal | None:
    """A finite Decimal from text, or None; never goes through float."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() else None


def decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fmt(value: Decimal) -> str:
    """Exactly two decimals, as in every output file."""
    return str(value.quantize(FEN))
