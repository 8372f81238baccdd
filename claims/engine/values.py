"""Dated policy values resolved for a period: the value in force on the period's first day (SPEC §2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from claims.policy.dated import Dated, NotInForce


class ValueNotInForce(Exception):
    """A dated policy value has no entry in force on a period's first day: the policy must be completed."""

    def __init__(self, what: str, error: NotInForce):
        self.what, self.error = what, error
        super().__init__(f"策略参数“{what}”在 {error.day} 尚未生效（最早生效日 {error.first}），请补充该互助期的取值")

    def __reduce__(self):
        """Rebuilt whole when a worker process sends it back (``claims calculate --workers``)."""
        return _value_not_in_force, (self.what, self.error.day, self.error.first)


def _value_not_in_force(what: str, day: date, first: date) -> ValueNotInForce:
    return ValueNotInForce(what, NotInForce(day, first))


def value_at(dated: Dated, start: date, what: str) -> tuple[Decimal | int, date | None]:
    """The value in force on the period's first day, and its effective date when the value is dated."""
    if not dated.is_dated:
        return dated.entries[0][1], None
    try:
        effective, value = dated.entry_at(start)
    except NotInForce as error:
        raise ValueNotInForce(what, error) from None
    return value, effective
