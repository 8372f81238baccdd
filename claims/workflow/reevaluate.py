"""When a claim's lines stop being live (returned, refused, corrected), every later claim of that member
and period that depended on it is re-evaluated (issue 10):

- still undecided (已计算) → recalculated in place: new lines, the change recorded in the audit log and the
  claim's version moved on, so a review sheet exported before is refused and shows the new figures;
- approved (已通过) but not yet in a bank file → recalculated and sent back to 已计算 for a new decision;
- paid, or in a bank file already → recalculated, and the difference becomes a top-up (补发) or a
  recovery (追回) that a reviewer approves before it is exported.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from claims.engine.calculate import evaluation_order
from claims.store.models import Adjustment, Batch, ClaimRow, ExportItem, ExportRecord, ResultLineRow
from claims.store.records import claim_of
from claims.workflow import audit_log
from claims.workflow.ledger import LIVE, _chunks, bump, end_lines, live_ledger, new_event, stamp_generation

Key = tuple[str, str, int, str, str]  # claim, member, period, item, benefit


def current_amounts(session: Session, claim_ids: list[str]) -> dict[Key, int]:
    amounts: dict[Key, int] = defaultdict(int)
    for chunk in _chunks(claim_ids):
        for line in session.execute(select(ResultLineRow.claim_id, ResultLineRow.member_id, ResultLineRow.period,
                                           ResultLineRow.item, ResultLineRow.benefit, ResultLineRow.amount_fen)
                                    .where(ResultLineRow.claim_id.in_(chunk), ResultLineRow.current.is_(True))):
            amounts[(line.claim_id, line.member_id, line.period, line.item, line.benefit)] += line.amount_fen
    return amounts


def current_lines_batch(session: Session, claim_ids: list[str]) -> dict[str, int]:
    """Each claim's batch of its current lines (the original batch, or the correction that replaced them)."""
    found = {}
    for chunk in _chunks(claim_ids):
        found.update({c: b for c, b in session.execute(select(ResultLineRow.claim_id, ResultLineRow.batch_id).where(
            ResultLineRow.claim_id.in_(chunk), ResultLineRow.current.is_(True)).distinct())})
    return found


def money_out(session: Session, claim_ids: list[str]) -> set[str]:
    """Claims whose money has gone out: paid, or their current lines written into a bank file."""
    out = set()
    lines_batch = current_lines_batch(session, claim_ids)
    for chunk in _chunks(claim_ids):
        out |= set(session.scalars(select(ClaimRow.claim_id).where(ClaimRow.claim_id.in_(chunk), ClaimRow.state == "paid")))
        for claim_id, batch_id in session.execute(
                select(ExportItem.claim_id, ExportItem.lines_batch_id).join(ExportRecord, ExportRecord.id == ExportItem.export_id)
                .where(ExportItem.claim_id.in_(chunk), ExportRecord.kind == "bank", ExportItem.adjustment_id.is_(None))):
            if lines_batch.get(claim_id) == batch_id:
                out.add(claim_id)
    return out


def amounts_of(lines: list[dict]) -> dict[Key, int]:
    after: dict[Key, int] = defaultdict(int)
    for line in lines:
        after[(line["claim_id"], line["member_id"], line["period"], line["item"], line["benefit"])] += line["amount_fen"]
    return after


def differences(batch_id: int, before: dict[Key, int], after: dict[Key, int], out: set[str]) -> list[Adjustment]:
    """One adjustment per changed line: top-up or recovery where the money is out, else a revision (the
    export of the claim's own batch pays the new amount)."""
    found = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, 0), after.get(key, 0)
        if old != new:
            kind = ("top_up" if new > old else "recovery") if key[0] in out else "revise"
            found.append(Adjustment(batch_id=batch_id, claim_id=key[0], member_id=key[1], period=key[2], item=key[3],
                                    benefit=key[4], before_fen=old, after_fen=new, kind=kind, state="pending"))
    return found


def later_claims(session: Session, ended_claim: ClaimRow, keys: set[tuple[str, int]]) -> list:
    """Live claims of these member-periods evaluated after ``ended_claim`` (a later batch, or later in the
    evaluation order of the same batch)."""
    ended_batch = session.scalar(select(ResultLineRow.batch_id).where(
        ResultLineRow.claim_id == ended_claim.claim_id, ResultLineRow.current.is_(True)).limit(1))
    if ended_batch is None:
        return []
    ended_order = evaluation_order(claim_of(ended_claim))
    found = {}
    for member_id, period in sorted(keys):
        for line in session.execute(select(ResultLineRow.claim_id, ResultLineRow.batch_id).where(
                ResultLineRow.member_id == member_id, ResultLineRow.period == period,
                ResultLineRow.live_from.is_not(None), ResultLineRow.live_until.is_(None),
                ResultLineRow.claim_id != ended_claim.claim_id)):
            if line.batch_id >= ended_batch and line.claim_id not in found:
                found[line.claim_id] = line.batch_id
    rows = []
    for chunk in _chunks(sorted(found)):
        rows += list(session.execute(select(*ClaimRow.__table__.c).where(ClaimRow.claim_id.in_(chunk),
                                                                         ClaimRow.state.in_(LIVE))
                                     .order_by(ClaimRow.claim_id)))  # not the table's physical order
    return [r for r in rows if found[r.claim_id] > ended_batch or evaluation_order(claim_of(r)) > ended_order]


def after_lines_ended(session: Session, ended_claim: ClaimRow, keys: set[tuple[str, int]], user: str,
                      why: str) -> Batch | None:
    """Re-evaluate the later claims once ``ended_claim``'s lines have stopped being live (already locked)."""
    from claims.workflow.batches import _store, inputs_for, policy_of, render_lines

    later = later_claims(session, ended_claim, keys)
    stamp_generation(session, keys=keys)
    if not later:
        return None
    ids = [r.claim_id for r in later]
    lines_batch = current_lines_batch(session, ids)
    loaded = policy_of(session.get(Batch, max(lines_batch.values())))
    ledger = live_ledger(session, exclude=ids, members={r.member_id for r in later})
    inputs = inputs_for(session, later)
    lines = render_lines(loaded.policy, inputs, ledger, {r.claim_id: r.version for r in later})
    before, after = current_amounts(session, ids), amounts_of(lines)
    if before == after:
        return None
    event = new_event(session, "recalc", ended_claim.claim_id, user)
    end_lines(session, ids, event, superseded=True)
    batch = _store(session, "recalc", loaded, min(p for _, p in keys), user,
                   f"重算：申请 {ended_claim.claim_id} {why}后", inputs, ledger, lines, len(ids), note=why, event=event)
    out = money_out(session, ids)
    adjustments = differences(batch.id, before, after, out)
    changed = {a.claim_id for a in adjustments}
    for a in adjustments:
        if a.kind == "revise":
            a.state = "applied"
    session.add_all(adjustments)
    batch.state = "pending" if any(a.kind != "revise" for a in adjustments) else "approved"
    for row in later:
        values = {"version": ClaimRow.version + 1}
        was, now = (sum(v for k, v in amounts.items() if k[0] == row.claim_id) for amounts in (before, after))
        note = f"因申请 {ended_claim.claim_id} {why}已重新计算：原 {was / 100:,.2f} 元，现 {now / 100:,.2f} 元"
        if row.claim_id in changed and row.state == "approved" and row.claim_id not in out:
            values.update(state="calculated", decided_by=None, decision_note=note + "，请重新审核")
        elif row.claim_id in changed and row.state == "calculated":
            values.update(decided_by=None, decision_note=note)  # a 会审's first approval lapses with the amount
        session.execute(update(ClaimRow).where(ClaimRow.claim_id == row.claim_id).values(**values)
                        .execution_options(synchronize_session=False))
    bump(session, keys)
    stamp_generation(session, keys=keys)
    session.flush()
    audit_log.append(session, user, "ledger.recalculate", "batch", batch.id,
                     {"after": ended_claim.claim_id, "why": why, "re_evaluated": ids,
                      "changes": [[a.claim_id, a.item, a.benefit, a.before_fen, a.after_fen, a.kind] for a in adjustments]})
    return batch


def pending_row(claim: ClaimRow, fields: dict) -> SimpleNamespace:
    """A claim row as it would be after a correction (for inputs_for), without touching the stored row."""
    return SimpleNamespace(**{**{c: getattr(claim, c) for c in ClaimRow.__table__.columns.keys()}, **fields})
