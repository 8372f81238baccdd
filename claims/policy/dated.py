"""Dated values (OpenFisca-style parameters): a number, or a mapping from effective date to number.

The value in force on the first day of the period that an event falls in is used for the whole period.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

T = TypeVar("T", Decimal, int)


class NotInForce(LookupError):
    """No value of a dated parameter was in force yet on the day asked for."""

    def __init__(self, day: date, first: date):
        self.day, self.first = day, first
        super().__init__(f"{day} 时该参数尚未生效（最早生效日 {first}）")


@dataclass(frozen=True, slots=True)
class Dated(Generic[T]):
    """Sorted (effective date, value) pairs; a plain number is stored as in force since date.min."""

    entries: tuple[tuple[date, T], ...]

    @classmethod
    def always(cls, value: T) -> Dated[T]:
        return cls(((date.min, value),))

    @property
    def is_dated(self) -> bool:
        return not (len(self.entries) == 1 and self.entries[0][0] == date.min)

    def at(self, day: date) -> T:
        return self.entry_at(day)[1]

    def entry_at(self, day: date) -> tuple[date, T]:
        """(effective date, value) in force on ``day``."""
        index = bisect.bisect_right([d for d, _ in self.entries], day) - 1
        if index < 0:
            raise NotInForce(day, self.entries[0][0])
        return self.entries[index]

    def values(self) -> list[T]:
        return [v for _, v in self.entries]

    def describe(self) -> str:
        if not self.is_dated:
            return str(self.entries[0][1])
        return "；".join(f"{d} 起 {v}" for d, v in self.entries)


def change_dates(*dated: Dated | None) -> list[date]:
    """Every effective date of the given values (``date.min`` for plain numbers), sorted: checks between
    dated values (a band's limits, an age range) are made on each day one of them changes."""
    return sorted({day for value in dated if value is not None for day, _ in value.entries})


def value_on(dated: Dated | None, day: date):
    """The value in force on ``day``, or None when there is none (yet)."""
    if dated is None:
        return None
    try:
        return dated.at(day)
    except NotInForce:
        return None


def since(day: date) -> str:
    """“（2026-01-01 起）” for a dated check's message; nothing for plain numbers."""
    return "" if day == date.min else f"（{day} 起）"
