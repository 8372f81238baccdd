"""Corrections of settled claims: a new version of the claim, the member's period re-evaluated, and the
differences listed as top-ups (补发) and recoveries (追回). Paid lines are never changed in place: the new
lines come in a correction batch and the old ones are kept, marked as superseded."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from claims.engine.periods import period_of
from claims.intake.checks import check_claims
from claims.intake.columns import CLAIM_COLUMNS
from claims.intake.rows import parse_table
from claims.intake.tables import Table
from claims.problems import ProblemsFound
from claims.store.models import Adjustment, Batch, ClaimRow, ClaimVersion, MemberRow, ResultLineRow
from claims.store.records import claim_fields, claim_record
from claims.store.snapshot import claim_json
from claims.workflow import audit_log
from claims.workflow.batches import (
    SETTLED,
    _store,
    check_enrollments_against,
    inputs_for,
    policy_of,
    record_of,
    render_lines,
    settled_ledger,
)
from claims.workflow.errors import Refusal
from claims.workflow.users import require

CORRECTABLE = [c.name for c in CLAIM_COLUMNS if c.name not in ("claim_id", "member_id")]


@dataclass
class Correction:
    batch: Batch
    adjustments: list[Adjustment]


def parse_sets(sets: list[str]) -> dict[str, str]:
    values = {}
    for text in sets:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or name not in CORRECTABLE:
            raise Refusal("CORRECT_BAD_FIELD", f"“{text}”无效：应为 字段=值，字段可为 {'、'.join(CORRECTABLE)}")
        values[name] = value.strip()
    return values


def correct(session: Session, claim_id: str, sets: dict[str, str], reason: str, user: str,
            today: date | None = None) -> Correction:
    require(session, user, "correct")
    if not reason.strip():
        raise Refusal("REASON_REQUIRED", "更正须用 --reason 写明原因")
    claim = session.get(ClaimRow, claim_id)
    if claim is None:
        raise Refusal("CLAIM_UNKNOWN", f"申请 {claim_id} 不存在")
    if claim.state not in SETTLED:
        raise Refusal("CLAIM_STATE", f"申请 {claim_id} 尚未结算（状态 {claim.state}）；只有已通过或已支付的申请可以更正，"
                                     "未结算的申请请退回后重新提交")
    last_batch = session.scalar(select(ResultLineRow.batch_id).where(
        ResultLineRow.claim_id == claim_id, ResultLineRow.current.is_(True)).limit(1))
    original = session.get(Batch, last_batch)
    loaded = policy_of(original)  # the version the claim was calculated with, never a newer one
    policy = loaded.policy
    new_record = _validated(session, claim, sets, today)
    old_fields = claim_fields(claim)
    periods = {period_of(policy, claim.discharge_date), period_of(policy, new_record.discharge_date)}

    session.add(ClaimVersion(claim_id=claim_id, version=claim.version, fields_json=json.dumps(old_fields, ensure_ascii=False),
                             reason=reason, created_by=user, created_at=audit_log.now()))
    for name, value in claim_record(new_record).items():
        setattr(claim, name, value)
    session.flush()

    affected = [row for row in session.execute(select(*ClaimRow.__table__.c).where(
        ClaimRow.member_id == claim.member_id, ClaimRow.state.in_(SETTLED)).order_by(ClaimRow.claim_id))
        if period_of(policy, row.discharge_date) in periods]
    affected_ids = [row.claim_id for row in affected]
    before_amounts = _current_amounts(session, affected_ids)
    ledger = settled_ledger(session, exclude=affected_ids)
    inputs = inputs_for(session, affected)
    check_enrollments_against(policy, inputs)
    versions = {row.claim_id: (claim.version if row.claim_id == claim_id else row.version) for row in affected}
    lines = render_lines(policy, inputs, ledger, versions)
    session.execute(update(ResultLineRow).where(ResultLineRow.claim_id.in_(affected_ids), ResultLineRow.current.is_(True))
                    .values(current=False))
    batch = _store(session, "correction", loaded, min(periods), user, f"更正 {claim_id}（{reason}）", inputs, ledger,
                   lines, len(versions), note=reason, version_id=original.policy_version_id)
    after_amounts = defaultdict(int)
    for line in lines:
        after_amounts[(line["claim_id"], line["member_id"], line["period"], line["item"], line["benefit"])] += line["amount_fen"]
    adjustments = []
    for key in sorted(set(before_amounts) | set(after_amounts)):
        before, after = before_amounts.get(key, 0), after_amounts.get(key, 0)
        if before != after:
            adjustments.append(Adjustment(batch_id=batch.id, claim_id=key[0], member_id=key[1], period=key[2],
                                          item=key[3], benefit=key[4], before_fen=before, after_fen=after,
                                          kind="top_up" if after > before else "recovery"))
    session.add_all(adjustments)
    session.flush()
    audit_log.append(session, user, "claim.correct", "claim", claim_id,
                     {"changed": {k: [old_fields[k], v] for k, v in claim_fields(claim).items() if old_fields[k] != v},
                      "correction_batch": batch.id, "record": record_of(batch, lines), "re_evaluated": affected_ids,
                      "adjustments": [[a.claim_id, a.item, a.benefit, a.before_fen, a.after_fen] for a in adjustments]},
                     reason)
    return Correction(batch, adjustments)


def _current_amounts(session: Session, claim_ids: list[str]) -> dict[tuple, int]:
    amounts: dict[tuple, int] = defaultdict(int)
    for line in session.scalars(select(ResultLineRow).where(ResultLineRow.claim_id.in_(claim_ids),
                                                           ResultLineRow.current.is_(True))):
        amounts[(line.claim_id, line.member_id, line.period, line.item, line.benefit)] += line.amount_fen
    return amounts


def _validated(session: Session, claim: ClaimRow, sets: dict[str, str], today: date | None):
    """The corrected claim, checked by the same rules as an imported row."""
    from claims.store.records import claim_of

    current = claim_json(claim_of(claim))
    current["diagnoses"] = ";".join(current["diagnoses"])
    current["procedures"] = ";".join(current["procedures"])
    row = {**current, **sets}
    header = list(row)
    table = Table(f"更正 {claim.claim_id}", header, [(2, [row[h] for h in header])])
    parsed = parse_table(table, "claims", today or date.today())
    problems = parsed.problems or check_claims(parsed, set(session.scalars(select(MemberRow.member_id))))
    if problems:
        raise ProblemsFound(problems)
    return parsed.rows[0].record
