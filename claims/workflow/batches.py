"""Batches: calculate a period's received claims against the ledger of settled claims, and store
everything needed to re-run the calculation — policy text and hash, engine version, inputs, ledger before."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims import ENGINE_VERSION
from claims.engine import Calculation, Claim, Enrollment, Ledger, Member, calculate, evaluation_order
from claims.engine.explain import explanation_json
from claims.engine.ledger import Count
from claims.engine.periods import period_end, period_start
from claims.money import from_fen, to_fen
from claims.policy import LoadedPolicy, parse_policy
from claims.store.models import Batch, ClaimRow, EnrollmentRow, MemberRow, ResultLineRow
from claims.store.records import claim_of, enrollment_of, member_of
from claims.store.snapshot import inputs_json
from claims.workflow import audit_log
from claims.workflow.errors import Refusal
from claims.workflow.users import require

SETTLED = ("approved", "paid")


def settled_ledger(session: Session, exclude: Iterable[str] = ()) -> Ledger:
    """The ledger as settled claims left it: invoice numbers of every claim ever calculated (whatever its
    outcome), and the counts of the current lines of approved and paid claims.

    ``exclude``: claims about to be re-evaluated (a correction, a what-if). Their counts are left out, and
    so is an invoice whose first holder is one of them: re-evaluated, that claim takes it again, and a
    claim refused later as its duplicate does not turn the original into the duplicate."""
    excluded = set(exclude)
    ledger = Ledger()
    first_batch = dict(session.execute(select(ResultLineRow.claim_id, func.min(ResultLineRow.batch_id))
                                       .group_by(ResultLineRow.claim_id)).all())
    evaluated = session.scalars(select(ClaimRow).where(ClaimRow.claim_id.in_(select(ResultLineRow.claim_id))))
    holders: dict[str, ClaimRow] = {}
    for claim in sorted(evaluated, key=lambda c: (first_batch[c.claim_id], c.discharge_date, c.claim_id)):
        if claim.invoice_no:
            holders.setdefault(claim.invoice_no, claim)
    for invoice, claim in holders.items():
        if claim.claim_id not in excluded:
            ledger.register_invoice(invoice, claim.claim_id)
    lines = session.scalars(
        select(ResultLineRow).join(ClaimRow, ClaimRow.claim_id == ResultLineRow.claim_id)
        .where(ResultLineRow.current.is_(True), ResultLineRow.counted.is_(True), ClaimRow.state.in_(SETTLED))
        .order_by(ResultLineRow.id))
    for line in lines:
        if line.claim_id not in excluded:
            ledger.record(count_of(line))
    return ledger


def count_of(line: ResultLineRow) -> Count:
    return Count(line.member_id, line.period, line.item, line.benefit, from_fen(line.amount_fen),
                 None if line.base_fen is None else from_fen(line.base_fen), line.days, line.lump_scope,
                 line.ends_cover)


@dataclass(frozen=True)
class Inputs:
    members: dict[str, Member]
    enrollments: list[Enrollment]
    claims: list[Claim]


def inputs_for(session: Session, claim_rows: list[ClaimRow]) -> Inputs:
    """The claims, their members, and every enrollment of those members (coverage chains span periods)."""
    member_ids = sorted({row.member_id for row in claim_rows})
    members, enrollments = {}, []
    for chunk in _chunks(member_ids, 500):
        members.update({m.member_id: member_of(m) for m in session.scalars(
            select(MemberRow).where(MemberRow.member_id.in_(chunk)))})
        enrollments += [enrollment_of(e) for e in session.scalars(
            select(EnrollmentRow).where(EnrollmentRow.member_id.in_(chunk)))]
    return Inputs(members, enrollments, [claim_of(row) for row in claim_rows])


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def create_batch(session: Session, loaded: LoadedPolicy, period: int, user: str, name: str = "",
                 claim_ids: list[str] | None = None, progress=lambda message: None) -> Batch:
    require(session, user, "calculate")
    policy = loaded.policy
    query = select(ClaimRow).where(ClaimRow.state == "received")
    if claim_ids:
        query = query.where(ClaimRow.claim_id.in_(claim_ids))
    else:
        query = query.where(ClaimRow.discharge_date >= period_start(policy, period),
                            ClaimRow.discharge_date <= period_end(policy, period))
    rows = list(session.scalars(query.order_by(ClaimRow.claim_id)))
    if claim_ids:
        missing = sorted(set(claim_ids) - {r.claim_id for r in rows})
        if missing:
            raise Refusal("BATCH_NOT_RECEIVED", f"这些申请不存在或不是“已受理”状态：{'、'.join(missing)}")
    if not rows:
        raise Refusal("BATCH_EMPTY", f"{period} 年度没有待计算（已受理）的申请")
    progress(f"读取 {len(rows)} 件申请及其会员、参保记录…")
    inputs = inputs_for(session, rows)
    before = settled_ledger(session)
    progress("计算中…")
    result = calculate(policy, inputs.members, inputs.enrollments, inputs.claims, before)
    progress(f"写入 {len(result.lines)} 行结果…")
    batch = _store(session, "regular", loaded, period, user, name or f"{period} 年度第 {_next_number(session, period)} 批",
                   inputs, before, result, {r.claim_id: r.version for r in rows})
    for row in rows:
        row.state, row.batch_id = "calculated", batch.id
    session.flush()
    audit_log.append(session, user, "batch.create", "batch", batch.id,
                     {"period": period, "claims": len(rows), "lines": batch.line_count, "total_fen": batch.total_fen,
                      "policy_sha256": loaded.sha256, "engine_version": ENGINE_VERSION})
    return batch


def _next_number(session: Session, period: int) -> int:
    return len(list(session.scalars(select(Batch.id).where(Batch.period == period, Batch.kind == "regular")))) + 1


def _store(session: Session, kind: str, loaded: LoadedPolicy, period: int, user: str, name: str, inputs: Inputs,
           before: Ledger, result: Calculation, versions: dict[str, int], note: str = "") -> Batch:
    total = sum((line.amount for line in result.lines), Decimal("0.00"))
    batch = Batch(kind=kind, name=name, period=period, state="calculated", policy_name=loaded.name,
                  policy_text=loaded.text, policy_sha256=loaded.sha256, engine_version=ENGINE_VERSION,
                  inputs_json=json.dumps(inputs_json(inputs.members, inputs.enrollments, inputs.claims),
                                         ensure_ascii=False),
                  ledger_before_json=json.dumps(before.to_json(), ensure_ascii=False),
                  claim_count=len(versions), line_count=len(result.lines), total_fen=to_fen(total),
                  created_by=user, created_at=audit_log.now(), note=note)
    session.add(batch)
    session.flush()
    session.add_all(line_rows(batch.id, result, versions))
    session.flush()
    return batch


def line_rows(batch_id: int, result: Calculation, versions: dict[str, int]) -> list[ResultLineRow]:
    rows = []
    for position, line in enumerate(result.lines):
        count = line.counted
        rows.append(ResultLineRow(
            batch_id=batch_id, claim_id=line.claim_id, claim_version=versions[line.claim_id],
            member_id=line.member_id, period=line.period, item=line.item, benefit=line.benefit, position=position,
            amount_fen=to_fen(line.amount), reason=line.reason.value if line.reason else "",
            explanation_json=json.dumps(explanation_json(line.explanation), ensure_ascii=False),
            counted=count is not None, base_fen=None if count is None or count.base is None else to_fen(count.base),
            days=None if count is None else count.days, lump_scope=None if count is None else count.lump_scope,
            ends_cover=bool(count and count.ends_cover), current=True))
    return rows


def policy_of(batch: Batch) -> LoadedPolicy:
    """The policy exactly as the batch used it."""
    return parse_policy(batch.policy_text, batch.policy_name)


def batch_lines(session: Session, batch_id: int) -> list[ResultLineRow]:
    return list(session.scalars(select(ResultLineRow).where(ResultLineRow.batch_id == batch_id)
                                .order_by(ResultLineRow.position)))


def get_batch(session: Session, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise Refusal("BATCH_UNKNOWN", f"批次 {batch_id} 不存在")
    return batch


def ordered(claims: list[Claim]) -> list[Claim]:
    return sorted(claims, key=evaluation_order)
