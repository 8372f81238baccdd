"""What one evaluation needs at hand: the policy, members, covers, ledger, and values resolved per period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from claims.engine.coverage import CoverIndex
from claims.engine.ledger import Ledger
from claims.engine.model import Claim, Member, Step
from claims.engine.periods import period_of, period_start
from claims.engine.reasons import Reason
from claims.policy.dated import Dated, NotInForce
from claims.policy.schema import BenefitBase, Eligibility, Item, Policy


class ValueNotInForce(Exception):
    """A dated policy value has no entry in force on a period's first day: the policy must be completed."""

    def __init__(self, what: str, error: NotInForce):
        self.what = what
        super().__init__(f"策略参数“{what}”在 {error.day} 尚未生效（最早生效日 {error.first}），请补充该互助期的取值")


@dataclass
class Context:
    policy: Policy
    members: dict[str, Member]
    covers: CoverIndex
    ledger: Ledger
    _eligibility: dict[str, Eligibility] = field(default_factory=dict)
    _period_starts: dict[int, date] = field(default_factory=dict)

    def period(self, day: date) -> tuple[int, date]:
        label = period_of(self.policy, day)
        start = self._period_starts.get(label)
        if start is None:
            start = self._period_starts[label] = period_start(self.policy, label)
        return label, start

    def eligibility(self, item: Item, benefit: BenefitBase) -> Eligibility:
        found = self._eligibility.get(benefit.code)
        if found is None:
            found = self._eligibility[benefit.code] = item.benefit_eligibility(benefit)
        return found


def value_at(dated: Dated, start: date, what: str) -> tuple[Decimal | int, date | None]:
    """The value in force on the period's first day, and its effective date when the value is dated."""
    if not dated.is_dated:
        return dated.entries[0][1], None
    try:
        effective, value = dated.entry_at(start)
    except NotInForce as error:
        raise ValueNotInForce(what, error) from None
    return value, effective


@dataclass(slots=True)
class Assessment:
    """One benefit that applies to one claim, on its way to becoming a result line."""

    claim: Claim
    member: Member
    item: Item
    benefit: BenefitBase
    order: tuple[int, int]
    event_date: date
    period: int
    period_start: date
    steps: list[Step]
    failed: Reason | None = None
    shares: int = 1
    amount: Decimal = Decimal("0.00")  # before caps
    reason: Reason | None = None  # why the amount is what it is (before caps)
    base_counted: Decimal | None = None  # banded_expense: base added to the period's cumulative base
    days_counted: int | None = None  # per_diem: days added to the period's paid days

    def fail(self, reason: Reason, **values) -> Assessment:
        self.failed = reason
        self.steps.append(Step(reason.value, values, self.benefit.reference))
        return self
