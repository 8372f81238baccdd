"""Small immutable records the engine works on: members, enrollments, claims, result lines, explanations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from claims.engine.reasons import Reason

# Records are NamedTuples: immutable like beancount's, and built at C speed (a frozen dataclass sets every
# field through object.__setattr__, which cost a fifth of the engine's time on 200,000 claims).


class Member(NamedTuple):
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


class Enrollment(NamedTuple):
    member_id: str
    item: str
    period: int
    shares: int
    start_date: date


class Claim(NamedTuple):
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


class Step(NamedTuple):
    """One step of a calculation: what was checked or computed, with the values used and their source."""

    code: str
    values: dict[str, Any]
    reference: str = ""
    effective: date | None = None


class Explanation(NamedTuple):
    steps: tuple[Step, ...]
    item_cap_before: Decimal | None = None
    item_cap_after: Decimal | None = None
    scheme_cap_before: Decimal | None = None
    scheme_cap_after: Decimal | None = None


class ResultLine(NamedTuple):
    claim_id: str
    member_id: str
    period: int
    item: str  # "" for a claim-level refusal
    benefit: str
    amount: Decimal
    reason: Reason | None
    explanation: Explanation | None  # None when calculated with explain=False (recomputable exactly)
    order: tuple[int, int] = (-1, -1)  # policy position (item, benefit), for sorting
    counted: Any = None  # claims.engine.ledger.Count when the line passed every check, else None


class Calculation(NamedTuple):
    lines: tuple[ResultLine, ...]
    ledger: Any  # claims.engine.ledger.Ledger (after)
