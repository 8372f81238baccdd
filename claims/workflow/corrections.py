"""Corrections of settled claims: a new version of the claim, the member's period re-evaluated, and the
differences listed as top-ups (补发) and recoveries (追回). Paid lines are never changed in place: the new
lines come in a correction batch and the old ones are kept, marked as superseded.

Maker-checker (issue 17): a correction is only proposed by the clerk; it takes effect when a reviewer other
than the corrector approves it, and is refused if the member's ledger moved in between."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from claims.engine.periods import period_of
from claims.intake.checks import check_claims
from claims.intake.columns import CLAIM_COLUMNS
from claims.intake.rows import parse_table
from claims.intake.tables import Table
from claims.problems import ProblemsFound
from claims.store.models import (
    Adjustment,
    Batch,
    ClaimRow,
    ClaimVersion,
    ExportItem,
    ExportRecord,
    MemberRow,
    ResultLineRow,
)
from claims.store.records import claim_fields, claim_record
from claims.store.snapshot import claim_json, inputs_from
from claims.workflow import audit_log
from claims.workflow.batches import (
    SETTLED,
    _store,
    check_enrollments_against,
    get_batch,
    inputs_for,
    policy_of,
    record_of,
    render_lines,
)
from claims.workflow.errors import Refusal
from claims.workflow.ledger import (
    LIVE,
    bump,
    end_lines,
    keys_of_claims,
    live_ledger,
    lock,
    new_event,
    stamp_generation,
)
from claims.workflow.reevaluate import (
    amounts_of,
    current_amounts,
    current_lines_batch,
    differences,
    money_out,
    pending_row,
)
from claims.workflow.users import require

CORRECTION_STATES = {"pending": "待复核", "approved": "已复核通过", "rejected": "已驳回", "paid": "已支付"}
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
    """Propose a correction: the claim's new version and the member's period re-evaluated, stored as a
    pending correction batch. Nothing changes — lines, amounts, the claim itself — until a reviewer other
    than the corrector approves it (``approve_correction``)."""
    require(session, user, "correct")
    if not reason.strip():
        raise Refusal("REASON_REQUIRED", "更正须用 --reason 写明原因")
    claim = session.get(ClaimRow, claim_id)
    if claim is None:
        raise Refusal("CLAIM_UNKNOWN", f"申请 {claim_id} 不存在")
    if claim.state not in SETTLED:
        raise Refusal("CLAIM_STATE", f"申请 {claim_id} 尚未结算（状态 {claim.state}）；只有已通过或已支付的申请可以更正，"
                                     "未结算的申请请退回后重新提交")
    pending = session.scalar(select(Adjustment.batch_id).join(Batch, Batch.id == Adjustment.batch_id).where(
        Batch.state == "pending", Batch.kind == "correction", Adjustment.claim_id == claim_id).limit(1))
    pending = pending or session.scalar(select(Batch.id).where(Batch.state == "pending", Batch.kind == "correction",
                                                               Batch.name.like(f"更正 {claim_id}（%")).limit(1))
    if pending:
        raise Refusal("CORRECT_PENDING", f"申请 {claim_id} 已有待复核的更正（更正批次 {pending}），请先复核通过或驳回")
    in_flight = _in_bank_file_unpaid(session, claim_id)
    if in_flight:
        raise Refusal("CORRECT_IN_FLIGHT", f"申请 {claim_id} 已列入银行文件（导出 {in_flight}）但尚未标记为已支付；"
                                           "请先确认到账并标记已支付，再更正（差额将作为补发或追回处理）")
    last_batch = session.scalar(select(ResultLineRow.batch_id).where(
        ResultLineRow.claim_id == claim_id, ResultLineRow.current.is_(True)).limit(1))
    original = session.get(Batch, last_batch)
    loaded = policy_of(original)  # the version the claim was calculated with, never a newer one
    policy = loaded.policy
    new_record = _validated(session, claim, sets, today)
    old_fields = claim_fields(claim)
    periods = {period_of(policy, claim.discharge_date), period_of(policy, new_record.discharge_date)}
    keys = {(claim.member_id, p) for p in periods}
    lock(session, keys)
    affected = [pending_row(row, claim_record(new_record)) if row.claim_id == claim_id else row
                for row in session.execute(select(*ClaimRow.__table__.c).where(
                    ClaimRow.member_id == claim.member_id, ClaimRow.state.in_(LIVE)).order_by(ClaimRow.claim_id))
                if row.claim_id == claim_id or period_of(policy, row.discharge_date) in periods]
    affected_ids = [row.claim_id for row in affected]
    before_amounts = current_amounts(session, affected_ids)
    ledger = live_ledger(session, exclude=affected_ids, members={claim.member_id})
    inputs = inputs_for(session, affected)
    check_enrollments_against(policy, inputs)
    lines = render_lines(policy, inputs, ledger, {row.claim_id: row.version for row in affected})
    event = new_event(session, "correction.propose", claim_id, user)
    batch = _store(session, "correction", loaded, min(periods), user, f"更正 {claim_id}（{reason}）", inputs, ledger,
                   lines, len(affected_ids), note=reason, version_id=original.policy_version_id, event=event, live=False)
    batch.state = "pending"
    adjustments = differences(batch.id, before_amounts, amounts_of(lines), money_out(session, affected_ids))
    session.add_all(adjustments)
    session.flush()
    audit_log.append(session, user, "claim.correct", "claim", claim_id,
                     {"changed": {k: [old_fields[k], v] for k, v in claim_fields(new_record).items() if old_fields[k] != v},
                      "correction_batch": batch.id, "record": record_of(batch, lines), "re_evaluated": affected_ids,
                      "state": "pending",
                      "adjustments": [[a.claim_id, a.item, a.benefit, a.before_fen, a.after_fen, a.kind]
                                      for a in adjustments]},
                     reason)
    return Correction(batch, adjustments)


def _in_bank_file_unpaid(session: Session, claim_id: str) -> int | None:
    claim = session.get(ClaimRow, claim_id)
    if claim.state == "paid":
        return None
    lines_batch = current_lines_batch(session, [claim_id]).get(claim_id)
    return session.scalar(select(ExportRecord.id).join(ExportItem, ExportItem.export_id == ExportRecord.id).where(
        ExportRecord.kind == "bank", ExportItem.claim_id == claim_id, ExportItem.adjustment_id.is_(None),
        ExportItem.lines_batch_id == lines_batch).limit(1))


def _pending_batch(session: Session, batch_id: int, user: str) -> Batch:
    require(session, user, "decide")
    batch = get_batch(session, batch_id)
    if batch.kind not in ("correction", "recalc"):
        raise Refusal("BATCH_KIND", f"批次 {batch_id} 不是更正或重算批次")
    if batch.state != "pending":
        raise Refusal("CORRECTION_DECIDED", f"更正批次 {batch_id} 已复核过（{CORRECTION_STATES.get(batch.state, batch.state)}）")
    if user == batch.created_by:
        raise Refusal("MAKER_CHECKER", f"更正批次 {batch_id} 由 {user} 提出，须由另一位审核员复核（提出人不能复核自己的更正）")
    return batch


def approve_correction(session: Session, batch_id: int, user: str, note: str = "") -> Batch:
    """A reviewer (not the corrector) approves a pending correction: it takes effect now — the claim's new
    version, the new lines live, top-ups and recoveries open for export — provided the ledger has not
    moved since it was proposed."""
    batch = _pending_batch(session, batch_id, user)
    adjustments = list(session.scalars(select(Adjustment).where(Adjustment.batch_id == batch_id)))
    if batch.kind == "recalc":
        for a in adjustments:
            if a.state == "pending":
                a.state = "open"
        return _decided(session, batch, user, "approved", note, adjustments)
    pending_lines = list(session.scalars(select(ResultLineRow).where(ResultLineRow.batch_id == batch_id)))
    claim_ids = sorted({line.claim_id for line in pending_lines})
    keys = {(line.member_id, line.period) for line in pending_lines} | keys_of_claims(session, claim_ids)
    lock(session, keys)
    moved = session.scalar(select(ResultLineRow.id).where(
        ResultLineRow.member_id.in_({m for m, _ in keys}), ResultLineRow.batch_id != batch_id,
        or_(ResultLineRow.live_from > batch.ledger_event, ResultLineRow.live_until > batch.ledger_event)).limit(1))
    versions = {line.claim_id: line.claim_version for line in pending_lines}
    changed = [c for c, v in session.execute(select(ClaimRow.claim_id, ClaimRow.version).where(ClaimRow.claim_id.in_(claim_ids)))
               if versions[c] != v]
    if moved or changed:
        raise Refusal("LEDGER_STALE", f"更正批次 {batch_id} 提出后，该会员的台账或申请已有变动"
                                      f"{'（申请 ' + '、'.join(changed) + ' 已被处理）' if changed else ''}，本次复核未生效；"
                                      "请驳回该更正，由经办员重新提出更正（重新计算）")
    _, _, claims = inputs_from(json.loads(batch.inputs_json))
    event = new_event(session, "correction.approve", str(batch_id), user)
    for proposed in claims:
        row = session.get(ClaimRow, proposed.claim_id)
        if claim_fields(row) != claim_fields(proposed):
            session.add(ClaimVersion(claim_id=row.claim_id, version=row.version,
                                     fields_json=json.dumps(claim_fields(row), ensure_ascii=False),
                                     reason=batch.note, created_by=batch.created_by, created_at=audit_log.now()))
            for name, value in claim_record(proposed).items():
                setattr(row, name, value)
    session.flush()
    end_lines(session, claim_ids, event, superseded=True)
    session.execute(update(ResultLineRow).where(ResultLineRow.batch_id == batch_id)
                    .values(current=True, live_from=event, live_until=None).execution_options(synchronize_session=False))
    session.execute(update(ClaimRow).where(ClaimRow.claim_id.in_(claim_ids)).values(version=ClaimRow.version + 1)
                    .execution_options(synchronize_session=False))
    for a in adjustments:
        a.state = "applied" if a.kind == "revise" else "open"
    bump(session, keys)
    stamp_generation(session, keys=keys)
    return _decided(session, batch, user, "approved", note, adjustments)


def reject_correction(session: Session, batch_id: int, user: str, note: str) -> Batch:
    if not note.strip():
        raise Refusal("NOTE_REQUIRED", "驳回更正须在 --note 中写明理由")
    batch = _pending_batch(session, batch_id, user)
    adjustments = list(session.scalars(select(Adjustment).where(Adjustment.batch_id == batch_id)))
    if batch.kind == "recalc":
        raise Refusal("RECALC_NOT_REJECTABLE", f"批次 {batch_id} 是退回/不予补助后的自动重算，金额已按台账重算，"
                                               "不能驳回；只能复核通过其补发/追回")
    for a in adjustments:
        a.state = "void"
    return _decided(session, batch, user, "rejected", note, adjustments)


def _decided(session: Session, batch: Batch, user: str, state: str, note: str, adjustments: list) -> Batch:
    batch.state, batch.reviewed_by = state, user
    session.flush()
    audit_log.append(session, user, f"correction.{'approve' if state == 'approved' else 'reject'}", "batch", batch.id,
                     {"state": state, "adjustments": [[a.claim_id, a.item, a.benefit, a.before_fen, a.after_fen, a.kind]
                                                      for a in adjustments]}, note)
    return batch


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
