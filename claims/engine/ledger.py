"""The ledger: per member and period, what has been counted so far, so a later batch continues exactly.

Like a beancount ledger it is plain data that can be saved (``to_json``) and restored (``from_json``);
the engine works on a copy and returns the ledger after.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal("0.00")


@dataclass
class MemberPeriod:
    base: dict[str, Decimal] = field(default_factory=dict)  # banded_expense benefit → cumulative base
    days: dict[str, int] = field(default_factory=dict)  # per_diem benefit → paid days
    item_paid: dict[str, Decimal] = field(default_factory=dict)
    total_paid: Decimal = ZERO
    lump_paid: set[str] = field(default_factory=set)  # lump sums paid this period
    cover_ended: set[str] = field(default_factory=set)  # items whose cover ended on a payout

    def to_json(self) -> dict[str, Any]:
        return {
            "base": {k: str(v) for k, v in sorted(self.base.items())},
            "days": dict(sorted(self.days.items())),
            "item_paid": {k: str(v) for k, v in sorted(self.item_paid.items())},
            "total_paid": str(self.total_paid),
            "lump_paid": sorted(self.lump_paid),
            "cover_ended": sorted(self.cover_ended),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MemberPeriod:
        return cls(
            base={k: Decimal(v) for k, v in data["base"].items()},
            days={k: int(v) for k, v in data["days"].items()},
            item_paid={k: Decimal(v) for k, v in data["item_paid"].items()},
            total_paid=Decimal(data["total_paid"]),
            lump_paid=set(data["lump_paid"]),
            cover_ended=set(data["cover_ended"]),
        )


@dataclass
class Ledger:
    periods: dict[tuple[str, int], MemberPeriod] = field(default_factory=dict)
    lifetime_lump: dict[str, set[str]] = field(default_factory=dict)  # member → lump sums paid once for life
    invoices: set[str] = field(default_factory=set)  # every invoice number already evaluated

    def member_period(self, member_id: str, period: int) -> MemberPeriod:
        key = (member_id, period)
        found = self.periods.get(key)
        if found is None:
            found = self.periods[key] = MemberPeriod()
        return found

    def lifetime(self, member_id: str) -> set[str]:
        return self.lifetime_lump.setdefault(member_id, set())

    def copy(self) -> Ledger:
        return copy.deepcopy(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "periods": [
                {"member_id": m, "period": p, **mp.to_json()} for (m, p), mp in sorted(self.periods.items())
            ],
            "lifetime_lump": {m: sorted(s) for m, s in sorted(self.lifetime_lump.items()) if s},
            "invoices": sorted(self.invoices),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ledger:
        ledger = cls()
        for entry in data.get("periods", []):
            ledger.periods[(entry["member_id"], int(entry["period"]))] = MemberPeriod.from_json(entry)
        ledger.lifetime_lump = {m: set(s) for m, s in data.get("lifetime_lump", {}).items()}
        ledger.invoices = set(data.get("invoices", []))
        return ledger
