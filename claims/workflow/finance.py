"""What finance sees of each batch before exporting: claims approved and paid, transfers awaiting the bank,
the units (for one unit's letters), and every export already made — as plain values for the finance page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.money import from_fen
from claims.store.models import BankTransfer, Batch, ClaimRow, ExportRecord, MemberRow, ResultLineRow
from claims.workflow.users import require
from claims.workflow.views import BATCH_STATES, EXPORT_KINDS


def _yuan(fen: int) -> str:
    return f"{from_fen(fen):,.2f}"


@dataclass
class FinanceBatch:
    id: int
    name: str
    period: int
    kind: str
    state: str
    approved: int = 0
    approved_total: str = "0.00"
    paid: int = 0
    paid_total: str = "0.00"
    awaiting_bank: int = 0  # transfers sent, not yet answered
    awaiting_total: str = "0.00"
    units: list[str] = field(default_factory=list)
    exports: list[dict] = field(default_factory=list)


def finance_batches(session: Session, user: str) -> list[FinanceBatch]:
    """Batches with claims approved or paid (correction batches once approved), newest first."""
    require(session, user, "export")
    by_state: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    totals = (select(ResultLineRow.claim_id, func.sum(ResultLineRow.amount_fen).label("fen"))
              .where(ResultLineRow.current.is_(True)).group_by(ResultLineRow.claim_id).subquery())
    for batch_id, state, count, fen in session.execute(
            select(ClaimRow.batch_id, ClaimRow.state, func.count(), func.coalesce(func.sum(totals.c.fen), 0))
            .outerjoin(totals, totals.c.claim_id == ClaimRow.claim_id)
            .where(ClaimRow.state.in_(("approved", "paid")), ClaimRow.batch_id.is_not(None))
            .group_by(ClaimRow.batch_id, ClaimRow.state)):
        by_state[batch_id][state] = (count, int(fen))
    units: dict[int, list[str]] = defaultdict(list)
    for batch_id, unit in session.execute(
            select(ClaimRow.batch_id, MemberRow.unit).join(MemberRow, MemberRow.member_id == ClaimRow.member_id)
            .where(ClaimRow.state.in_(("approved", "paid", "refused"))).distinct().order_by(MemberRow.unit)):
        units[batch_id].append(unit)
    awaiting = dict((b, (n, int(f))) for b, n, f in session.execute(
        select(BankTransfer.batch_id, func.count(), func.sum(BankTransfer.amount_fen))
        .where(BankTransfer.status == "sent").group_by(BankTransfer.batch_id)))
    exports: dict[int, list[dict]] = defaultdict(list)
    for e in session.scalars(select(ExportRecord).order_by(ExportRecord.id)):
        exports[e.batch_id].append({"id": e.id, "kind": EXPORT_KINDS.get(e.kind, e.kind), "count": e.count,
                                    "total": _yuan(e.total_fen), "reexport": e.reexport, "by": e.created_by,
                                    "at": f"{e.created_at + timedelta(hours=8):%Y-%m-%d %H:%M}",
                                    "file": e.file_name})
    shown = []
    for b in session.scalars(select(Batch).order_by(Batch.id.desc())):
        if b.id not in by_state and not (b.kind != "regular" and b.state in ("approved", "paid")):
            continue
        approved, paid = by_state[b.id].get("approved", (0, 0)), by_state[b.id].get("paid", (0, 0))
        sent = awaiting.get(b.id, (0, 0))
        shown.append(FinanceBatch(b.id, b.name, b.period, "常规" if b.kind == "regular" else "更正",
                                  BATCH_STATES.get(b.state, b.state), approved[0], _yuan(approved[1]), paid[0],
                                  _yuan(paid[1]), sent[0], _yuan(sent[1]), units[b.id], exports[b.id]))
    return shown
