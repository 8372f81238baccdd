"""Small immutable records the engine works on: members, enrollments, claims, result lines, explanations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from claims.engine.reasons import Reason


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    name: str
    id_number: str
    gender: str  # "female" | "male", from the ID number
    birth_date: date
    unit: str
    bank_name: str = ""
    bank_account: str = ""
    phone: str = ""

    def age_on(self, day: date) -> int:
        """Completed years (周岁) on ``day``; someone born on 29 February turns a year older on 1 March."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass(frozen=True, slots=True)
class Enrollment:
    member_id: str
    item: str
    period: int
    shares: int
    start_date: date


@dataclass(frozen=True, slots=True)
class Claim:
    claim_id: str
    member_id: str
    event_type: str  # "inpatient" | "outpatient_special"
    admission_date: date
    discharge_date: date
    diagnosis_date: date
    hospital_level: int
    diagnoses: tuple[str, ...]
    procedures: tuple[str, ...]
    total_cost: Decimal
    insurance_paid: Decimal
    self_pay_in_scope: Decimal
    self_pay_out_of_scope: Decimal
    invoice_no: str
    submitted_date: date


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a calculation: what was checked or computed, with the values used and their source."""

    code: str
    values: dict[str, Any] = field(default_factory=dict)
    reference: str = ""
    effective: date | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    steps: tuple[Step, ...]
    item_cap_before: Decimal | None = None
    item_cap_after: Decimal | None = None
    scheme_cap_before: Decimal | None = None
    scheme_cap_after: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ResultLine:
    claim_id: str
    member_id: str
    period: int
    item: str  # "" for a claim-level refusal
    benefit: str
    amount: Decimal
    reason: Reason | None
    explanation: Explanation
    order: tuple[int, int] = (-1, -1)  # policy position (item, benefit), for sorting
    counted: Any = None  # claims.engine.ledger.Count when the line passed every check, else None


@dataclass(frozen=True)
class Calculation:
    lines: tuple[ResultLine, ...]
    ledger: Any  # claims.engine.ledger.Ledger (after)
