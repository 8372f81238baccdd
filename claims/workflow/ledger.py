"""The period ledger in the database (SPEC §6): which result lines are *live*, the ledger they make, the
locks that serialise deciding and calculating for a member and period, and the invariants that must hold.

A line is live from the ledger event at which it was calculated (or its correction approved) until the
event at which its claim was returned, refused, resubmitted or corrected. Live lines are exactly the
current lines of calculated, approved and paid claims; a batch is calculated after all of them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Integer, String, and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from claims.engine import Ledger
from claims.engine.ledger import Count
from claims.money import from_fen
from claims.store.models import Batch, ClaimRow, EnrollmentRow, LedgerEvent, LedgerHead, ResultLineRow
from claims.workflow import audit_log

LIVE = ("calculated", "approved", "paid")
LINE_COLUMNS = (ResultLineRow.claim_id, ResultLineRow.member_id, ResultLineRow.period, ResultLineRow.item,
                ResultLineRow.benefit, ResultLineRow.amount_fen, ResultLineRow.base_fen, ResultLineRow.days,
                ResultLineRow.lump_scope, ResultLineRow.ends_cover)


def _chunks(values: list, size: int = 2000):
    for start in range(0, len(values), size):
        yield values[start:start + size]


# ── the clock and the locks ────────────────────────────────────────────────────────────────────────────

def new_event(session: Session, kind: str, subject: str, user: str) -> int:
    """The next tick of the ledger's clock (taken inside the caller's transaction)."""
    event = LedgerEvent(at=audit_log.now(), kind=kind, subject=str(subject)[:80], user_name=user)
    session.add(event)
    session.flush()
    return event.id


def lock(session: Session, keys: Iterable[tuple[str, int]]) -> None:
    """Serialise work on these member-periods: on PostgreSQL a row lock on each ledger head (taken in a
    fixed order, so two processes never deadlock); on SQLite the write lock of the database, taken before
    anything is read."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        # one lock order for every transaction: the audit log's append lock first (decisions take it before
        # anything else), then the ledger heads; otherwise a batch and a decision deadlock
        audit_log.reserve(session)
    else:
        from sqlalchemy.dialects.sqlite import insert

        raw = session.connection().connection.dbapi_connection
        if not raw.in_transaction:  # take the write lock first, so what follows reads the newest state
            raw.execute("BEGIN IMMEDIATE")
    # one statement executed for many rows (a multi-row VALUES statement per chunk cost more to build than to run)
    for chunk in _chunks(wanted, 10_000):
        session.execute(insert(LedgerHead).on_conflict_do_nothing(),
                        [{"member_id": m, "period": p, "generation": 0} for m, p in chunk])
    if dialect == "postgresql":
        for chunk in _chunks(wanted):
            session.execute(select(LedgerHead.member_id).where(_key_in(session, chunk))
                            .order_by(LedgerHead.member_id, LedgerHead.period).with_for_update())


def bump(session: Session, keys: Iterable[tuple[str, int]]) -> None:
    """A change to these member-periods' live lines: their generation moves on."""
    for chunk in _chunks(sorted(set(keys))):
        session.execute(update(LedgerHead).where(_key_in(session, chunk)).values(generation=LedgerHead.generation + 1)
                        .execution_options(synchronize_session=False))


def head_generations(session: Session, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The present generation of these member-periods' ledger heads (a key without a head is left out)."""
    found = {}
    for chunk in _chunks(sorted(set(keys))):
        found.update({(m, p): g for m, p, g in session.execute(
            select(LedgerHead.member_id, LedgerHead.period, LedgerHead.generation).where(_key_in(session, chunk)))})
    return found


def stamp_generation(session: Session, claim_ids: list[str] | None = None,
                     keys: Iterable[tuple[str, int]] = ()) -> None:
    """Mark live lines as checked against their ledger head's present generation: the lines of these
    claims, or every live line of these member-periods."""
    heads = LedgerHead.__table__
    generation = (select(heads.c.generation).where(heads.c.member_id == ResultLineRow.member_id,
                                                   heads.c.period == ResultLineRow.period).scalar_subquery())
    live = and_(ResultLineRow.live_from.is_not(None), ResultLineRow.live_until.is_(None))
    for chunk in _chunks(claim_ids or []):
        session.execute(update(ResultLineRow).where(ResultLineRow.claim_id.in_(chunk), live)
                        .values(generation=generation).execution_options(synchronize_session=False))
    for m, p in sorted(set(keys)):
        session.execute(update(ResultLineRow).where(ResultLineRow.member_id == m, ResultLineRow.period == p, live)
                        .values(generation=generation).execution_options(synchronize_session=False))


def stale_lines(session: Session, claim_id: str) -> bool:
    """Were this claim's live lines computed against a ledger that has changed since (a head moved on)?"""
    heads = LedgerHead.__table__
    return session.scalar(select(func.count()).select_from(ResultLineRow).join(
        heads, and_(heads.c.member_id == ResultLineRow.member_id, heads.c.period == ResultLineRow.period)).where(
        ResultLineRow.claim_id == claim_id, ResultLineRow.live_from.is_not(None), ResultLineRow.live_until.is_(None),
        or_(ResultLineRow.generation.is_(None), ResultLineRow.generation != heads.c.generation))) > 0


def _key_in(session: Session, chunk):
    """``(member_id, period) IN`` these keys. On PostgreSQL the keys travel as two arrays joined back by
    ``unnest``: a literal list of row values is planned as one filter of 2,000 ``OR``ed comparisons applied to
    every head of the period (an index scan on ``period`` alone), ~3 s a statement at 100,000 heads — what
    kept ``batch create`` waiting on the server for ~88 s (docs/performance.md)."""
    columns = tuple_(LedgerHead.member_id, LedgerHead.period)
    if session.get_bind().dialect.name != "postgresql":
        return columns.in_([tuple(key) for key in chunk])
    from sqlalchemy.dialects.postgresql import ARRAY

    keys = func.unnest(bindparam(None, [m for m, _ in chunk], type_=ARRAY(String)),
                       bindparam(None, [p for _, p in chunk], type_=ARRAY(Integer))).table_valued("member_id", "period").render_derived()
    return columns.in_(select(keys.c.member_id, keys.c.period))


def keys_of_claims(session: Session, claim_ids: list[str]) -> set[tuple[str, int]]:
    """The member-periods of these claims' current lines."""
    keys = set()
    for chunk in _chunks(claim_ids):
        keys |= {(m, p) for m, p in session.execute(select(ResultLineRow.member_id, ResultLineRow.period).where(
            ResultLineRow.claim_id.in_(chunk), ResultLineRow.current.is_(True)).distinct())}
    return keys


# ── live lines and the ledger they make ────────────────────────────────────────────────────────────────

def count_of(line) -> Count:
    return Count(line.member_id, line.period, line.item, line.benefit, from_fen(line.amount_fen),
                 None if line.base_fen is None else from_fen(line.base_fen), line.days, line.lump_scope,
                 line.ends_cover)


def _register_invoices(session: Session, ledger: Ledger, excluded: set[str], before_batch: int | None = None) -> None:
    """Invoice numbers of every claim ever calculated, held by the claim that carried each first."""
    first = select(ResultLineRow.claim_id, func.min(ResultLineRow.batch_id).label("first"))
    if before_batch is not None:
        first = first.where(ResultLineRow.batch_id < before_batch)
    first_batch = first.group_by(ResultLineRow.claim_id).subquery()
    evaluated = session.execute(
        select(ClaimRow.claim_id, ClaimRow.invoice_no, first_batch.c.first, ClaimRow.discharge_date)
        .join(first_batch, first_batch.c.claim_id == ClaimRow.claim_id).where(ClaimRow.invoice_no != ""))
    holders: dict[str, str] = {}
    for claim_id, invoice, _, _ in sorted(evaluated, key=lambda r: (r[2], r[3], r[0])):
        holders.setdefault(invoice, claim_id)
    for invoice, claim_id in holders.items():
        if claim_id not in excluded:
            ledger.register_invoice(invoice, claim_id)


def live_ledger(session: Session, exclude: Iterable[str] = (), members: Iterable[str] | None = None,
                invoices: bool = True) -> Ledger:
    """The ledger every live line makes: what a new batch continues from.

    ``exclude``: claims about to be re-evaluated (a correction, a what-if): their counts are left out,
    and so is an invoice whose first holder is one of them. ``members``: only these members' counts (the
    invoice numbers are always everyone's: a duplicate can come from anybody). ``invoices`` false: the counts
    only (what a balance shows), without reading every claim's invoice."""
    excluded = set(exclude)
    ledger = Ledger()
    if invoices:
        _register_invoices(session, ledger, excluded)
    query = (select(*LINE_COLUMNS).where(ResultLineRow.counted.is_(True), ResultLineRow.live_from.is_not(None),
                                         ResultLineRow.live_until.is_(None)).order_by(ResultLineRow.id))
    if members is None:
        parts = [query]
    else:
        parts = [query.where(ResultLineRow.member_id.in_(chunk)) for chunk in _chunks(sorted(set(members)))]
    for part in parts:
        for line in session.execute(part):
            if line.claim_id not in excluded:
                ledger.record(count_of(line))
    return ledger


def ledger_at(session: Session, event: int, members: Iterable[str], exclude: Iterable[str] = ()) -> Ledger:
    """The counts of these members just before ledger event ``event``: the lines live at that moment."""
    excluded = set(exclude)
    ledger = Ledger()
    for chunk in _chunks(sorted(set(members))):
        for line in session.execute(select(*LINE_COLUMNS).where(
                ResultLineRow.member_id.in_(chunk), ResultLineRow.counted.is_(True),
                ResultLineRow.live_from.is_not(None), ResultLineRow.live_from < event,
                or_(ResultLineRow.live_until.is_(None), ResultLineRow.live_until > event)).order_by(ResultLineRow.id)):
            if line.claim_id not in excluded:
                ledger.record(count_of(line))
    return ledger


def end_lines(session: Session, claim_ids: list[str], event: int, superseded: bool = False) -> None:
    """These claims' live lines stop being live at ``event`` (``superseded``: no longer current either)."""
    values = {"live_until": event, **({"current": False} if superseded else {})}
    for chunk in _chunks(claim_ids):
        session.execute(update(ResultLineRow).where(ResultLineRow.claim_id.in_(chunk), ResultLineRow.current.is_(True))
                        .where(or_(ResultLineRow.live_until.is_(None), ResultLineRow.live_from.is_(None)))
                        .values(**values).execution_options(synchronize_session=False))
        if superseded:
            session.execute(update(ResultLineRow).where(ResultLineRow.claim_id.in_(chunk), ResultLineRow.current.is_(True))
                            .values(current=False).execution_options(synchronize_session=False))


def counts_json(ledger: Ledger, members: set[str]) -> dict:
    """A ledger's counts of these members only (what the ledger-of-its-time check compares)."""
    data = ledger.to_json()
    return {"periods": [p for p in data["periods"] if p["member_id"] in members],
            "lifetime_lump": {m: s for m, s in data["lifetime_lump"].items() if m in members}}


# ── invariants ─────────────────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Violation:
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


def _yuan(fen: int) -> str:
    return f"{from_fen(fen):,.2f}"


def check_ledger(session: Session, period: int | None = None) -> list[Violation]:
    """Every invariant of the period ledger (issue 10), recomputed from the stored lines:

    1. live lines are exactly the current lines of calculated, approved and paid claims, of one version;
    2. for every member and period the live lines stay within each item cap × shares, the scheme cap and
       each per-diem's days maximum, and pay a once-per-period lump sum once (a lifetime one once ever);
    3. every batch's stored ledger-before equals the counts of the lines live at its moment (its counters
       are the sums of live lines, exactly).
    """
    from claims.engine.periods import period_start
    from claims.engine.plan import Plan
    from claims.workflow.batches import policy_of
    from claims.workflow.decisions import STATE_NAMES

    found: list[Violation] = []
    base = select(ResultLineRow, ClaimRow.state).join(ClaimRow, ClaimRow.claim_id == ResultLineRow.claim_id)
    if period is not None:
        base = base.where(ResultLineRow.period == period)
    by_claim_batches: dict[str, set[int]] = defaultdict(set)
    live: dict[tuple[str, int], list[ResultLineRow]] = defaultdict(list)
    for line, state in session.execute(base.order_by(ResultLineRow.id)):
        is_live = line.live_from is not None and line.live_until is None
        should = line.current and state in LIVE
        if is_live and not should:
            found.append(Violation("LEDGER_DEAD_LINE", f"申请 {line.claim_id}（{STATE_NAMES.get(state, state)}）的结果行 {line.id} "
                                                       f"（批次 {line.batch_id}）已不应计入台账，却仍计入"))
        elif should and not is_live:
            found.append(Violation("LEDGER_LINE_MISSING", f"申请 {line.claim_id} 的当前结果行 {line.id}"
                                                          f"（批次 {line.batch_id}）应计入台账，却未计入"))
        if is_live:
            live[(line.member_id, line.period)].append(line)
            by_claim_batches[line.claim_id].add(line.batch_id)
    for claim_id, batches in sorted(by_claim_batches.items()):
        if len(batches) > 1:
            found.append(Violation("LEDGER_TWO_VERSIONS", f"申请 {claim_id} 在批次 {'、'.join(map(str, sorted(batches)))} "
                                                          "中的结果行同时计入台账（同一申请只能有一个版本有效）"))
    policies: dict[int, Plan] = {}
    shares: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    members = sorted({m for m, _ in live})
    for chunk in _chunks(members):
        for e in session.execute(select(EnrollmentRow.member_id, EnrollmentRow.period, EnrollmentRow.item,
                                        EnrollmentRow.shares).where(EnrollmentRow.member_id.in_(chunk))):
            shares[(e.member_id, e.period)][e.item] = e.shares
    lifetime: dict[tuple[str, str], list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    for (member_id, label), lines in sorted(live.items()):
        newest = max(line.batch_id for line in lines)
        if newest not in policies:
            policies[newest] = Plan(policy_of(session.get(Batch, newest)).policy)
        plan = policies[newest]
        start = period_start(plan.policy, label)
        who = f"会员 {member_id} {label} 年度"
        item_paid: dict[str, int] = defaultdict(int)
        days: dict[str, int] = defaultdict(int)
        lumps: dict[str, list[str]] = defaultdict(list)
        total = 0
        for line in lines:
            if not line.counted:
                continue
            item_paid[line.item] += line.amount_fen
            total += line.amount_fen
            if line.days is not None:
                days[line.benefit] += line.days
            if line.amount_fen > 0 and line.lump_scope == "period":
                lumps[line.benefit].append(line.claim_id)
            if line.amount_fen > 0 and line.lump_scope == "lifetime":
                lifetime[(member_id, line.benefit)].append(line.claim_id)
        for item_plan in plan.items:
            code, item = item_plan.code, item_plan.item
            held = shares[(member_id, label)].get(code, 0)
            cap_fen = int(item_plan.cap_per_share(start)[0] * held * 100)
            if item_paid.get(code, 0) > cap_fen:
                found.append(Violation("LEDGER_ITEM_CAP", f"{who}“{item.name}”有效结果合计 {_yuan(item_paid[code])} 元，"
                                                          f"超过上限 {_yuan(cap_fen)} 元（每份上限 × {held} 份）"))
            for benefit in item.benefits:
                names[benefit.code] = benefit.name
                limit = getattr(benefit, "max_days_per_period", None)
                if limit is not None and days.get(benefit.code, 0) > limit.at(start):
                    found.append(Violation("LEDGER_DAYS_MAX", f"{who}“{benefit.name}”计入 {days[benefit.code]} 天，"
                                                              f"超过每期最多 {limit.at(start)} 天"))
                if len(lumps.get(benefit.code, [])) > 1:
                    found.append(Violation("LEDGER_LUMP_TWICE", f"{who}“{benefit.name}”每期只能给付一次，却在申请 "
                                                                f"{'、'.join(lumps[benefit.code])} 中各给付一次"))
        scheme_cap = plan.scheme_cap(start)
        if scheme_cap is not None and total > int(scheme_cap * 100):
            found.append(Violation("LEDGER_SCHEME_CAP", f"{who}有效结果合计 {_yuan(total)} 元，超过全方案上限 "
                                                        f"{_yuan(int(scheme_cap * 100))} 元"))
    for (member_id, benefit), claim_ids in sorted(lifetime.items()):
        if len(claim_ids) > 1:
            found.append(Violation("LEDGER_LUMP_TWICE", f"会员 {member_id} 的终身一次性给付“{names.get(benefit, benefit)}”在申请 "
                                                        f"{'、'.join(claim_ids)} 中各给付一次"))
    found += _check_ledgers_before(session, period)
    return found


def _check_ledgers_before(session: Session, period: int | None) -> list[Violation]:
    found = []
    query = select(Batch).where(Batch.ledger_event.is_not(None), Batch.ledger_event > 0).order_by(Batch.id)
    if period is not None:
        query = query.where(Batch.period == period)
    for batch in session.scalars(query):
        for problem in ledger_before_problems(session, batch):
            found.append(Violation("LEDGER_BEFORE_MISMATCH", f"批次 {batch.id}：{problem}"))
    return found


def ledger_before_problems(session: Session, batch: Batch, inputs: dict | None = None) -> list[str]:
    """How the batch's stored ledger-before differs from the lines live at its moment (empty: it agrees).
    ``inputs``: the batch's snapshot already parsed, if the caller has it."""
    if not batch.ledger_event:
        return []
    inputs = json.loads(batch.inputs_json) if inputs is None else inputs
    claims = [c["claim_id"] for c in inputs["claims"]]
    members = {c["member_id"] for c in inputs["claims"]}
    stored = counts_json(Ledger.from_json(json.loads(batch.ledger_before_json)), members)
    actual = counts_json(ledger_at(session, batch.ledger_event, members, exclude=claims), members)
    problems = []
    stored_periods = {(p["member_id"], p["period"]): p for p in stored["periods"]}
    actual_periods = {(p["member_id"], p["period"]): p for p in actual["periods"]}
    for key in sorted(set(stored_periods) | set(actual_periods)):
        s, a = stored_periods.get(key), actual_periods.get(key)
        if _normal(s) != _normal(a):
            problems.append(f"会员 {key[0]} {key[1]} 年度计算时的台账与当时有效的结果行不符："
                            f"批次记录的已付 {_paid(s)} 元，当时有效结果行合计 {_paid(a)} 元")
    if stored["lifetime_lump"] != actual["lifetime_lump"]:
        problems.append("终身一次性给付的记录与当时有效的结果行不符")
    return problems


def _normal(entry: dict | None) -> dict | None:
    if entry is None:
        return None
    data = {k: v for k, v in entry.items() if k not in ("member_id", "period")}
    empty = {"base": {}, "days": {}, "item_paid": {}, "total_paid": "0.00", "lump_paid": [], "cover_ended": []}
    return None if data == empty else data


def _paid(entry: dict | None) -> str:
    return "0.00" if entry is None else f"{Decimal(entry['total_paid']):,.2f}"
