"""Engine records ↔ plain JSON, for batch snapshots, replay bundles and stored explanations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from claims.engine import Claim, Enrollment, Member


def member_json(m: Member) -> dict[str, Any]:
    return {"member_id": m.member_id, "name": m.name, "id_number": m.id_number, "gender": m.gender,
            "birth_date": m.birth_date.isoformat(), "unit": m.unit, "bank_name": m.bank_name,
            "bank_account": m.bank_account, "phone": m.phone}


def member_from(data: dict[str, Any]) -> Member:
    return Member(data["member_id"], data["name"], data["id_number"], data["gender"],
                  date.fromisoformat(data["birth_date"]), data["unit"], data["bank_name"], data["bank_account"],
                  data["phone"])


def enrollment_json(e: Enrollment) -> dict[str, Any]:
    return {"member_id": e.member_id, "item": e.item, "period": e.period, "shares": e.shares,
            "start_date": e.start_date.isoformat()}


def enrollment_from(data: dict[str, Any]) -> Enrollment:
    return Enrollment(data["member_id"], data["item"], int(data["period"]), int(data["shares"]),
                      date.fromisoformat(data["start_date"]))


CLAIM_DATES = ("admission_date", "discharge_date", "diagnosis_date", "submitted_date")
CLAIM_MONEY = ("total_cost", "insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope")


def claim_json(c: Claim) -> dict[str, Any]:
    return {"claim_id": c.claim_id, "member_id": c.member_id, "event_type": c.event_type,
            **{name: getattr(c, name).isoformat() for name in CLAIM_DATES},
            "hospital_level": c.hospital_level, "diagnoses": list(c.diagnoses), "procedures": list(c.procedures),
            **{name: str(getattr(c, name)) for name in CLAIM_MONEY}, "invoice_no": c.invoice_no}


def claim_from(data: dict[str, Any]) -> Claim:
    return Claim(
        data["claim_id"], data["member_id"], data["event_type"], date.fromisoformat(data["admission_date"]),
        date.fromisoformat(data["discharge_date"]), date.fromisoformat(data["diagnosis_date"]),
        int(data["hospital_level"]), tuple(data["diagnoses"]), tuple(data["procedures"]),
        *(Decimal(data[name]) for name in CLAIM_MONEY), data["invoice_no"],
        date.fromisoformat(data["submitted_date"]))


def inputs_json(members: dict[str, Member], enrollments: list[Enrollment], claims: list[Claim]) -> dict[str, Any]:
    return {
        "members": [member_json(m) for _, m in sorted(members.items())],
        "enrollments": [enrollment_json(e) for e in sorted(enrollments, key=lambda e: (e.member_id, e.item, e.period))],
        "claims": [claim_json(c) for c in sorted(claims, key=lambda c: c.claim_id)],
    }


def inputs_from(data: dict[str, Any]) -> tuple[dict[str, Member], list[Enrollment], list[Claim]]:
    members = {m["member_id"]: member_from(m) for m in data["members"]}
    return members, [enrollment_from(e) for e in data["enrollments"]], [claim_from(c) for c in data["claims"]]
