"""Batches: calculate a period's received claims against the ledger of settled claims, and store
everything needed to re-run the calculation — policy text and hash, engine version, inputs, ledger before."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from claims import ENGINE_VERSION
from claims.engine import Claim, Enrollment, Ledger, Member
from claims.engine.explain import explanation_text_json
from claims.engine.ledger import Count
from claims.engine.periods import period_end, period_of, period_start
from claims.intake.checks import enrollment_problems
from claims.money import from_fen, to_fen
from claims.policy import LoadedPolicy, parse_policy
from claims.store.models import Batch, ClaimRow, EnrollmentRow, MemberRow, ResultLineRow
from claims.store.records import claim_of, enrollment_of, member_of
from claims.store.snapshot import inputs_json
from claims.workflow import audit_log, digests
from claims.workflow.errors import Refusal
from claims.workflow.policy_versions import check_named_file, in_force
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
    first_batch = (select(ResultLineRow.claim_id, func.min(ResultLineRow.batch_id).label("first"))
                   .group_by(ResultLineRow.claim_id).subquery())
    evaluated = session.execute(
        select(ClaimRow.claim_id, ClaimRow.invoice_no, first_batch.c.first, ClaimRow.discharge_date)
        .join(first_batch, first_batch.c.claim_id == ClaimRow.claim_id).where(ClaimRow.invoice_no != ""))
    holders: dict[str, str] = {}
    for claim_id, invoice, _, _ in sorted(evaluated, key=lambda r: (r[2], r[3], r[0])):
        holders.setdefault(invoice, claim_id)
    for invoice, claim_id in holders.items():
        if claim_id not in excluded:
            ledger.register_invoice(invoice, claim_id)
    lines = session.execute(
        select(ResultLineRow.claim_id, ResultLineRow.member_id, ResultLineRow.period, ResultLineRow.item,
               ResultLineRow.benefit, ResultLineRow.amount_fen, ResultLineRow.base_fen, ResultLineRow.days,
               ResultLineRow.lump_scope, ResultLineRow.ends_cover)
        .join(ClaimRow, ClaimRow.claim_id == ResultLineRow.claim_id)
        .where(ResultLineRow.current.is_(True), ResultLineRow.counted.is_(True), ClaimRow.state.in_(SETTLED))
        .order_by(ResultLineRow.id))
    for line in lines:
        if line.claim_id not in excluded:
            ledger.record(count_of(line))
    return ledger


def count_of(line) -> Count:
    return Count(line.member_id, line.period, line.item, line.benefit, from_fen(line.amount_fen),
                 None if line.base_fen is None else from_fen(line.base_fen), line.days, line.lump_scope,
                 line.ends_cover)


@dataclass(frozen=True)
class Inputs:
    members: dict[str, Member]
    enrollments: list[Enrollment]
    claims: list[Claim]


def inputs_for(session: Session, claim_rows: list) -> Inputs:
    """The claims, their members, and every enrollment of those members (coverage chains span periods)."""
    member_ids = sorted({row.member_id for row in claim_rows})
    members, enrollments = {}, []
    for chunk in _chunks(member_ids, 5000):
        members.update({m.member_id: member_of(m) for m in session.execute(
            select(*MemberRow.__table__.c).where(MemberRow.member_id.in_(chunk)))})
        enrollments += [enrollment_of(e) for e in session.execute(
            select(*EnrollmentRow.__table__.c).where(EnrollmentRow.member_id.in_(chunk)))]
    return Inputs(members, enrollments, [claim_of(row) for row in claim_rows])


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def create_batch(session: Session, loaded: LoadedPolicy | None, period: int, user: str, name: str = "",
                 claim_ids: list[str] | None = None, progress=lambda message: None, workers: int = 1) -> Batch:
    """``loaded`` None: the approved policy version in force for ``period``."""
    require(session, user, "calculate")
    if loaded is None:
        version, loaded = in_force(session, period)
    else:
        version = check_named_file(session, loaded)
    policy = loaded.policy
    query = select(*ClaimRow.__table__.c).where(ClaimRow.state == "received")
    if claim_ids:
        rows = [row for chunk in _chunks(sorted(set(claim_ids)), 5000)
                for row in session.execute(query.where(ClaimRow.claim_id.in_(chunk)))]
        missing = sorted(set(claim_ids) - {r.claim_id for r in rows})
        if missing:
            raise Refusal("BATCH_NOT_RECEIVED", f"这些申请不存在或不是“已受理”状态：{'、'.join(missing)}")
    else:
        rows = list(session.execute(query.where(ClaimRow.discharge_date >= period_start(policy, period),
                                                ClaimRow.discharge_date <= period_end(policy, period))))
    if not rows:
        raise Refusal("BATCH_EMPTY", f"{period} 年度没有待计算（已受理）的申请")
    progress(f"读取 {len(rows)} 件申请及其会员、参保记录…")
    inputs = inputs_for(session, rows)
    check_enrollments_against(policy, inputs)
    before = settled_ledger(session)
    progress("计算中…" if workers == 1 else f"计算中（{workers} 个进程）…")
    versions = {r.claim_id: r.version for r in rows}
    lines = render_lines(policy, inputs, before, versions, workers)
    progress(f"写入 {len(lines)} 行结果…")
    batch = _store(session, "regular", loaded, period, user, name or f"{period} 年度第 {_next_number(session, period)} 批",
                   inputs, before, lines, len(versions), version_id=version.id if version else None)
    _mark_calculated(session, [r.claim_id for r in rows], batch.id)
    audit_log.append(session, user, "batch.create", "batch", batch.id,
                     {"period": period, "claims": len(rows), "lines": batch.line_count, "total_fen": batch.total_fen,
                      "policy_sha256": loaded.sha256, "policy_version": batch.policy_version_id,
                      "engine_version": ENGINE_VERSION, "record": record_of(batch, lines)})
    return batch


def record_of(batch: Batch, lines: list[dict]) -> dict:
    """Content hashes and totals of a batch just stored, for the audit log (claims/workflow/digests.py)."""
    return digests.batch_record(batch.inputs_json, batch.ledger_before_json, [digests.line_tuple(r) for r in lines],
                                batch.policy_sha256, batch.claim_count)


def check_enrollments_against(policy, inputs: Inputs) -> None:
    """Every enrollment the calculation can use (the periods of the claims' events) must be one the policy
    allows — an item it has, shares within its limit, a start inside the period — whatever policy checked
    it at import. Refused whole, each enrollment named."""
    periods = {period_of(policy, day) for c in inputs.claims for day in (c.discharge_date, c.diagnosis_date)}
    found = []
    for e in sorted(inputs.enrollments, key=lambda e: (e.member_id, e.period, e.item)):
        if e.period in periods:
            item = policy.item(e.item)
            what = f"“{item.name}”" if item is not None else f"项目代码“{e.item}”"
            found += [f"会员“{e.member_id}”{e.period} 年度{what}的参保（{e.shares} 份，{e.start_date} 起）：{message} [{code}]"
                      for _, code, message in enrollment_problems(policy, e)]
    if found:
        shown = "\n  ".join(found[:50]) + (f"\n  ……另有 {len(found) - 50} 处" if len(found) > 50 else "")
        raise Refusal("BATCH_ENROLLMENT_CONFLICT",
                      f"{len(found)} 条参保记录与本批次所用策略“{policy.scheme.name}”不符，本批次未计算（请核实参保名单或所用策略）：\n  {shown}")


def _mark_calculated(session: Session, claim_ids: list[str], batch_id: int) -> None:
    """received → calculated, guarded: a claim another batch took meanwhile makes this batch fail whole."""
    changed = 0
    for chunk in _chunks(claim_ids, 5000):
        changed += session.execute(
            update(ClaimRow).where(ClaimRow.claim_id.in_(chunk), ClaimRow.state == "received")
            .values(state="calculated", batch_id=batch_id, version=ClaimRow.version + 1)
            .execution_options(synchronize_session=False)).rowcount
    if changed != len(claim_ids):
        raise Refusal("BATCH_CONFLICT", "有申请在计算期间被另一个批次取走，本批次未保存，请重新创建")


def _next_number(session: Session, period: int) -> int:
    return len(list(session.scalars(select(Batch.id).where(Batch.period == period, Batch.kind == "regular")))) + 1


def render_lines(policy, inputs: Inputs, before: Ledger, versions: dict[str, int], workers: int = 1) -> list[dict]:
    """Calculate and turn every line into its database row (explanation JSON included) — in ``workers``
    processes, each owning a share of the members, with the same figures as one."""
    from claims.bulk import calculate_rendered

    rows, _ = calculate_rendered(policy, inputs.members, inputs.enrollments, inputs.claims, before, workers,
                                 lambda line: line_row(0, 0, line, versions[line.claim_id]))
    return rows


def _store(session: Session, kind: str, loaded: LoadedPolicy, period: int, user: str, name: str, inputs: Inputs,
           before: Ledger, lines: list[dict], claim_count: int, note: str = "", version_id: int | None = None) -> Batch:
    total_fen = sum(row["amount_fen"] for row in lines)
    batch = Batch(kind=kind, name=name, period=period, state="calculated", policy_name=loaded.name,
                  policy_text=loaded.text, policy_sha256=loaded.sha256, policy_version_id=version_id,
                  engine_version=ENGINE_VERSION,
                  inputs_json=json.dumps(inputs_json(inputs.members, inputs.enrollments, inputs.claims),
                                         ensure_ascii=False),
                  ledger_before_json=json.dumps(before.to_json(), ensure_ascii=False),
                  claim_count=claim_count, line_count=len(lines), total_fen=total_fen,
                  created_by=user, created_at=audit_log.now(), note=note)
    session.add(batch)
    session.flush()
    for position, row in enumerate(lines):
        row["batch_id"], row["position"] = batch.id, position
    insert_lines(session, lines)
    return batch


def insert_lines(session: Session, rows: list[dict]) -> None:
    """Core executemany on the table (the ORM's bulk path spends more on each row than the database does)."""
    connection = session.connection()
    for start in range(0, len(rows), 10000):
        connection.execute(ResultLineRow.__table__.insert(), rows[start:start + 10000])


def line_row(batch_id: int, position: int, line, claim_version: int) -> dict:
    """The column values of one stored result line, with what it adds to the ledger."""
    count = line.counted
    return {
        "batch_id": batch_id, "claim_id": line.claim_id, "claim_version": claim_version,
        "member_id": line.member_id, "period": line.period, "item": line.item, "benefit": line.benefit,
        "position": position, "amount_fen": to_fen(line.amount), "reason": line.reason.value if line.reason else "",
        "explanation_json": explanation_text_json(line.explanation),
        "counted": count is not None, "base_fen": None if count is None or count.base is None else to_fen(count.base),
        "days": None if count is None else count.days, "lump_scope": None if count is None else count.lump_scope,
        "ends_cover": bool(count and count.ends_cover), "current": True,
    }


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
