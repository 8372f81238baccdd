"""Batches: calculate a period's received claims after every live line of earlier claims, and store
everything needed to re-run the calculation — policy text and hash, engine version, inputs, ledger before."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from claims import ENGINE_VERSION
from claims.engine import Claim, Enrollment, Ledger, Member
from claims.engine.periods import period_end, period_of, period_start
from claims.intake.checks import enrollment_problems
from claims.money import to_fen
from claims.policy import LoadedPolicy, parse_policy
from claims.store.bulk import insert_rows
from claims.store.explanations import compact_explanation_json
from claims.store.models import Batch, ClaimRow, EnrollmentRow, MemberRow, ResultLineRow
from claims.store.records import ENROLLMENT_COLUMNS, MEMBER_COLUMNS, claim_of, records
from claims.store.snapshot import inputs_json
from claims.workflow import audit_log, digests
from claims.workflow.errors import Refusal
from claims.workflow.ledger import head_generations, live_ledger, lock, new_event
from claims.workflow.policy_versions import check_named_file, in_force
from claims.workflow.users import require

SETTLED = ("approved", "paid")


def settled_ledger(session: Session, exclude: Iterable[str] = ()) -> Ledger:
    """The ledger of every *live* line (kept under its old name for callers): see ``ledger.live_ledger``."""
    return live_ledger(session, exclude)


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
        found = records(Member, session.execute(select(*MEMBER_COLUMNS).where(MemberRow.member_id.in_(chunk))))
        members.update(zip([m.member_id for m in found], found, strict=True))
        enrollments += records(Enrollment, session.execute(
            select(*ENROLLMENT_COLUMNS).where(EnrollmentRow.member_id.in_(chunk))))
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
    # what is needed to lock: the full rows are read once the member-periods are locked (_still_received)
    query = select(ClaimRow.claim_id, ClaimRow.member_id, ClaimRow.discharge_date).where(ClaimRow.state == "received")
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
    lock(session, {(r.member_id, period_of(policy, r.discharge_date)) for r in rows})
    rows = _still_received(session, rows)
    inputs = inputs_for(session, rows)
    check_enrollments_against(policy, inputs)
    before = live_ledger(session, members={r.member_id for r in rows})
    progress("计算中…" if workers == 1 else f"计算中（{workers} 个进程）…")
    versions = {r.claim_id: r.version for r in rows}
    lines = render_lines(policy, inputs, before, versions, workers)
    progress(f"写入 {len(lines)} 行结果…")
    # checked against the ledger heads as they are now (locked): the generation is written with each line
    generations = head_generations(session, {(row["member_id"], row["period"]) for row in lines})
    for row in lines:
        row["generation"] = generations.get((row["member_id"], row["period"]))
    batch = _store(session, "regular", loaded, period, user, name or f"{period} 年度第 {_next_number(session, period)} 批",
                   inputs, before, lines, len(versions), version_id=version.id if version else None,
                   event=new_event(session, "batch", "", user))
    _mark_calculated(session, [r.claim_id for r in rows], batch.id)
    audit_log.append(session, user, "batch.create", "batch", batch.id,
                     {"period": period, "claims": len(rows), "lines": batch.line_count, "total_fen": batch.total_fen,
                      "policy_sha256": loaded.sha256, "policy_version": batch.policy_version_id,
                      "engine_version": ENGINE_VERSION, "record": record_of(batch, lines)})
    return batch


def _still_received(session: Session, rows: list) -> list:
    """Once the member-periods are locked: the rows read again, and refused whole if another batch took one."""
    fresh = {r.claim_id: r for chunk in _chunks(sorted(r.claim_id for r in rows), 5000)
             for r in session.execute(select(*ClaimRow.__table__.c).where(ClaimRow.claim_id.in_(chunk)))}
    if any(fresh[r.claim_id].state != "received" for r in rows):
        raise Refusal("BATCH_CONFLICT", "有申请在计算期间被另一个批次取走，本批次未保存，请重新创建")
    return [fresh[r.claim_id] for r in rows]


def record_of(batch: Batch, lines: list[dict]) -> dict:
    """Content hashes and totals of a batch just stored, for the audit log (claims/workflow/digests.py)."""
    return digests.batch_record(batch.inputs_json, batch.ledger_before_json, [digests.line_tuple(r) for r in lines],
                                batch.policy_sha256, batch.claim_count)


def check_enrollments_against(policy, inputs: Inputs) -> None:
    """Every enrollment the calculation can use (the periods of the claims' events) must be one the policy
    allows — an item it has, shares within its limit, a start inside the period — whatever policy checked
    it at import. Refused whole, each enrollment named."""
    periods = {period_of(policy, day) for c in inputs.claims for day in (c.discharge_date, c.diagnosis_date)}
    refused, answers = [], {}
    for e in inputs.enrollments:
        if e.period in periods:
            key = (e.item, e.period, e.shares, e.start_date)  # all the answer depends on: worked out once
            if key not in answers:
                answers[key] = enrollment_problems(policy, e)
            if answers[key]:
                refused.append(e)
    found = []
    for e in sorted(refused, key=lambda e: (e.member_id, e.period, e.item)):  # in member order, as listed
        item = policy.item(e.item)
        what = f"“{item.name}”" if item is not None else f"项目代码“{e.item}”"
        found += [f"会员“{e.member_id}”{e.period} 年度{what}的参保（{e.shares} 份，{e.start_date} 起）：{message} [{code}]"
                  for _, code, message in answers[(e.item, e.period, e.shares, e.start_date)]]
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
           before: Ledger, lines: list[dict], claim_count: int, note: str = "", version_id: int | None = None,
           event: int | None = None, live: bool = True) -> Batch:
    """Store a batch and its lines; ``event``: the ledger event of its calculation (its lines are live from
    it unless ``live`` is false — a correction's lines wait for a reviewer)."""
    total_fen = sum(row["amount_fen"] for row in lines)
    batch = Batch(kind=kind, name=name, period=period, state="calculated", policy_name=loaded.name,
                  policy_text=loaded.text, policy_sha256=loaded.sha256, policy_version_id=version_id,
                  engine_version=ENGINE_VERSION,
                  inputs_json=json.dumps(inputs_json(inputs.members, inputs.enrollments, inputs.claims),
                                         ensure_ascii=False),
                  ledger_before_json=json.dumps(before.to_json(), ensure_ascii=False),
                  claim_count=claim_count, line_count=len(lines), total_fen=total_fen,
                  created_by=user, created_at=audit_log.now(), note=note, ledger_event=event)
    session.add(batch)
    session.flush()
    for position, row in enumerate(lines):
        row["batch_id"], row["position"] = batch.id, position
        row["live_from"], row["live_until"] = (event if live else None), None
        if not live:
            row["current"] = False
    insert_lines(session, lines)
    return batch


def insert_lines(session: Session, rows: list[dict]) -> None:
    """Core executemany on the table, COPY on PostgreSQL (the ORM's bulk path spends more on each row than the
    database does)."""
    insert_rows(session, ResultLineRow.__table__, rows)


def line_row(batch_id: int, position: int, line, claim_version: int) -> dict:
    """The column values of one stored result line, with what it adds to the ledger."""
    count = line.counted
    return {
        "batch_id": batch_id, "claim_id": line.claim_id, "claim_version": claim_version,
        "member_id": line.member_id, "period": line.period, "item": line.item, "benefit": line.benefit,
        "position": position, "amount_fen": to_fen(line.amount), "reason": line.reason.value if line.reason else "",
        "explanation_json": compact_explanation_json(line.explanation),
        "counted": count is not None, "base_fen": None if count is None or count.base is None else to_fen(count.base),
        "days": None if count is None else count.days, "lump_scope": None if count is None else count.lump_scope,
        "ends_cover": bool(count and count.ends_cover), "current": True, "live_from": None, "live_until": None,
    }


def policy_of(batch: Batch) -> LoadedPolicy:
    """The policy exactly as the batch used it."""
    return parse_policy(batch.policy_text, batch.policy_name)


def batch_lines(session: Session, batch_id: int) -> list[ResultLineRow]:
    return list(session.scalars(select(ResultLineRow).where(ResultLineRow.batch_id == batch_id)
                                .order_by(ResultLineRow.position)))


def line_figures(session: Session, batch_id: int) -> list:
    """A batch's lines in order, without their explanations: what a re-run compares."""
    return list(session.execute(select(ResultLineRow.claim_id, ResultLineRow.item, ResultLineRow.benefit,
                                       ResultLineRow.amount_fen, ResultLineRow.reason, ResultLineRow.current)
                                .where(ResultLineRow.batch_id == batch_id).order_by(ResultLineRow.position)))


def get_batch(session: Session, batch_id: int) -> Batch:
    """The batch; its stored inputs and ledger (megabytes for a large batch) are read only if used."""
    batch = session.get(Batch, batch_id, options=[defer(Batch.inputs_json), defer(Batch.ledger_before_json)])
    if batch is None:
        raise Refusal("BATCH_UNKNOWN", f"批次 {batch_id} 不存在")
    return batch
