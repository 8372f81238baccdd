"""The ledger: per member and period, what has been counted so far, so a later batch continues exactly.

Like a beancount ledger it is plain data that can be saved (``to_json``) and restored (``from_json``);
the engine works on a copy and returns the ledger after.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

ZERO = Decimal("0.00")


class Count(NamedTuple):
    """What one passed line adds to the ledger."""

    member_id: str
    period: int
    item: str
    benefit: str
    amount: Decimal
    base: Decimal | None = None  # banded_expense: the claim's base
    days: int | None = None  # per_diem: the days the day rules allowed
    lump_scope: str | None = None  # lump_sum: "period" or "lifetime"
    ends_cover: bool = False  # lump_sum of an item with ends_cover_on_payout


@dataclass(slots=True)
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
    invoices: dict[str, str] = field(default_factory=dict)  # invoice number → the claim that carried it first

    def member_period(self, member_id: str, period: int) -> MemberPeriod:
        key = (member_id, period)
        found = self.periods.get(key)
        if found is None:
            found = self.periods[key] = MemberPeriod()
        return found

    def lifetime(self, member_id: str) -> set[str]:
        return self.lifetime_lump.setdefault(member_id, set())

    def duplicate_of(self, invoice_no: str, claim_id: str) -> str | None:
        """The other claim that already carried ``invoice_no`` (a claim's own resubmission is no duplicate)."""
        holder = self.invoices.get(invoice_no) if invoice_no else None
        return holder if holder is not None and holder != claim_id else None

    def register_invoice(self, invoice_no: str, claim_id: str) -> None:
        if invoice_no:
            self.invoices.setdefault(invoice_no, claim_id)

    def record(self, count: Count, period: MemberPeriod | None = None) -> None:
        """Count one result line that passed every check. The engine and the store's replay of settled
        lines both come through here, so a later batch continues exactly where the earlier ones ended.
        ``period``: the member's entry for the period when the caller already holds it."""
        if period is None:
            period = self.member_period(count.member_id, count.period)
        if count.base is not None:
            period.base[count.benefit] = period.base.get(count.benefit, ZERO) + count.base
        if count.days is not None:
            period.days[count.benefit] = period.days.get(count.benefit, 0) + count.days
        if count.amount > 0:
            period.item_paid[count.item] = period.item_paid.get(count.item, ZERO) + count.amount
            period.total_paid += count.amount
            if count.lump_scope == "period":
                period.lump_paid.add(count.benefit)
            elif count.lump_scope == "lifetime":
                self.lifetime(count.member_id).add(count.benefit)
            if count.lump_scope and count.ends_cover:
                period.cover_ended.add(count.item)

    def copy(self) -> Ledger:
        return copy.deepcopy(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "periods": [
                {"member_id": m, "period": p, **mp.to_json()} for (m, p), mp in sorted(self.periods.items())
            ],
            "lifetime_lump": {m: sorted(s) for m, s in sorted(self.lifetime_lump.items()) if s},
            "invoices": dict(sorted(self.invoices.items())),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ledger:
        ledger = cls()
        for entry in data.get("periods", []):
            ledger.periods[(entry["member_id"], int(entry["period"]))] = MemberPeriod.from_json(entry)
        ledger.lifetime_lump = {m: set(s) for m, s in data.get("lifetime_lump", {}).items()}
        ledger.invoices = dict(data.get("invoices", {}))
        return ledger
