"""What one evaluation needs at hand, and the record of one benefit on its way to a result line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from claims.engine.coverage import CoverIndex
from claims.engine.ledger import Ledger, MemberPeriod
from claims.engine.model import Claim, Member, Step
from claims.engine.plan import BenefitPlan, Plan
from claims.engine.reasons import Reason


@dataclass(slots=True)
class Context:
    plan: Plan
    members: dict[str, Member]
    covers: CoverIndex
    ledger: Ledger
    explain: bool = True  # build each line's explanation (False: the contract CSV, which prints none)


@dataclass(slots=True)
class Assessment:
    """One benefit that applies to one claim, on its way to becoming a result line."""

    claim: Claim
    member: Member
    plan: BenefitPlan
    event_date: date
    period: int
    period_start: date
    terms: dict
    steps: list[Step] | None  # None when explanations are not wanted: no step is built
    failed: Reason | None = None
    shares: int = 1
    amount: Decimal = Decimal("0.00")  # before caps
    reason: Reason | None = None  # why the amount is what it is (before caps)
    base_counted: Decimal | None = None  # banded_expense: base added to the period's cumulative base
    days_counted: int | None = None  # per_diem: days added to the period's paid days
    counts: MemberPeriod | None = None  # the member's ledger entry for the period, once the checks read it

    def fail(self, reason: Reason, **values) -> Assessment:
        self.failed = reason
        if self.steps is not None:
            self.steps.append(Step(reason.value, values, self.plan.reference))
        return self
