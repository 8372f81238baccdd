"""Rows ↔ engine records: integer fen in the database, Decimal in the engine."""

from __future__ import annotations

from functools import partial
from typing import Any

from claims.engine import Claim, Enrollment, Member
from claims.money import from_fen, to_fen
from claims.store.models import ClaimRow, EnrollmentRow, MemberRow

MONEY = ("total_cost", "insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope")


def member_record(m: Member) -> dict[str, Any]:
    return {"member_id": m.member_id, "name": m.name, "id_number": m.id_number, "gender": m.gender,
            "birth_date": m.birth_date, "unit": m.unit, "bank_name": m.bank_name, "bank_account": m.bank_account,
            "phone": m.phone}


# the columns of a member's and an enrollment's row in the order of the engine record's fields: selected so,
# each row becomes its record in C (``records``), with no Python frame per row
MEMBER_COLUMNS = tuple(MemberRow.__table__.c[name] for name in Member._fields)
ENROLLMENT_COLUMNS = tuple(EnrollmentRow.__table__.c[name] for name in Enrollment._fields)


def records(cls: type, rows) -> list:
    """Engine records (NamedTuples) from rows whose columns are the record's fields, in order."""
    return list(map(partial(tuple.__new__, cls), rows))


def member_of(row: MemberRow) -> Member:
    return Member(row.member_id, row.name, row.id_number, row.gender, row.birth_date, row.unit, row.bank_name,
                  row.bank_account, row.phone)


def enrollment_of(row: EnrollmentRow) -> Enrollment:
    return Enrollment(row.member_id, row.item, row.period, row.shares, row.start_date)


def claim_record(c: Claim) -> dict[str, Any]:
    """Column values of a claims row (money in fen)."""
    return {"claim_id": c.claim_id, "member_id": c.member_id, "event_type": c.event_type,
            "admission_date": c.admission_date, "discharge_date": c.discharge_date,
            "diagnosis_date": c.diagnosis_date, "hospital_level": c.hospital_level,
            "diagnoses": ";".join(c.diagnoses), "procedures": ";".join(c.procedures),
            **{f"{name}_fen": to_fen(getattr(c, name)) for name in MONEY},
            "invoice_no": c.invoice_no, "submitted_date": c.submitted_date}


def claim_of(row: ClaimRow) -> Claim:
    return Claim(row.claim_id, row.member_id, row.event_type, row.admission_date, row.discharge_date,
                 row.diagnosis_date, row.hospital_level, tuple(filter(None, row.diagnoses.split(";"))),
                 tuple(filter(None, row.procedures.split(";"))),
                 *(from_fen(getattr(row, f"{name}_fen")) for name in MONEY), row.invoice_no, row.submitted_date)


def claim_fields(claim: Claim | ClaimRow) -> dict[str, str]:
    """A claim's meaning as text, for hashing and for the version history."""
    record = claim if isinstance(claim, Claim) else claim_of(claim)
    values = claim_record(record)
    return {k: str(v) for k, v in values.items()}
