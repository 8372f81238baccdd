"""The figures a union reports upward for a period: enrollment and contributions (互助金收入), claims,
payouts (补助支出) per item and unit, payout ratio and average payout — to the fen, reconciled with the
batches: the payouts are the current lines of the period's paid claims, and the same sum per batch."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.engine.periods import period_start
from claims.money import ZERO, from_fen
from claims.policy import LoadedPolicy
from claims.store.models import Adjustment, Batch, ClaimRow, EnrollmentRow, MemberRow, ResultLineRow
from claims.workflow.batches import policy_of
from claims.workflow.errors import Refusal
from claims.workflow.users import require


@dataclass
class Figures:
    members: set[str] = field(default_factory=set)
    shares: int = 0
    income: Decimal = ZERO
    claims: set[str] = field(default_factory=set)
    paid_claims: set[str] = field(default_factory=set)
    paid: Decimal = ZERO

    @property
    def ratio(self) -> Decimal | None:
        return (self.paid / self.income).quantize(Decimal("0.0001")) if self.income else None

    @property
    def average(self) -> Decimal | None:
        return (self.paid / len(self.paid_claims)).quantize(Decimal("0.01")) if self.paid_claims else None


@dataclass
class Report:
    period: int
    policy: LoadedPolicy
    total: Figures = field(default_factory=Figures)
    items: dict[str, Figures] = field(default_factory=lambda: defaultdict(Figures))  # item name → figures
    units: dict[str, Figures] = field(default_factory=lambda: defaultdict(Figures))
    states: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    approved_unpaid: Decimal = ZERO
    recoveries: Decimal = ZERO
    batches: list[tuple[int, str, str, Decimal]] = field(default_factory=list)  # id, name, state, paid in period


def period_report(session: Session, period: int, user: str, loaded: LoadedPolicy | None = None) -> Report:
    require(session, user, "read")
    if loaded is None:
        batch = session.scalars(select(Batch).where(Batch.period == period).order_by(Batch.id.desc()).limit(1)).first()
        if batch is None:
            raise Refusal("REPORT_NO_BATCH", f"{period} 年度还没有批次；请用 --policy 指定策略文件")
        loaded = policy_of(batch)
    policy = loaded.policy
    report = Report(period, loaded)
    names = {item.code: item.name for item in policy.items}
    start = period_start(policy, period)
    units = {member_id: unit for member_id, unit in session.execute(select(MemberRow.member_id, MemberRow.unit))}
    for row in session.execute(select(EnrollmentRow.member_id, EnrollmentRow.item, EnrollmentRow.shares)
                               .where(EnrollmentRow.period == period)):
        item = policy.item(row.item)
        income = item.contribution.at(start) * row.shares if item is not None else ZERO
        for figures in (report.total, report.items[names.get(row.item, row.item)], report.units[units[row.member_id]]):
            figures.members.add(row.member_id)
            figures.shares += row.shares
            figures.income += income
    per_batch: dict[int, int] = defaultdict(int)
    for line in session.execute(
            select(ResultLineRow.claim_id, ResultLineRow.member_id, ResultLineRow.item, ResultLineRow.amount_fen,
                   ResultLineRow.batch_id, ClaimRow.state)
            .join(ClaimRow, ClaimRow.claim_id == ResultLineRow.claim_id)
            .where(ResultLineRow.period == period, ResultLineRow.current.is_(True))):
        item_figures, unit_figures = report.items[names.get(line.item, line.item or "整件")], report.units[units[line.member_id]]
        for figures in (report.total, item_figures, unit_figures):
            figures.claims.add(line.claim_id)
        if line.state == "paid":
            amount = from_fen(line.amount_fen)
            per_batch[line.batch_id] += line.amount_fen
            for figures in (report.total, item_figures, unit_figures):
                figures.paid += amount
                if line.amount_fen:
                    figures.paid_claims.add(line.claim_id)
        elif line.state == "approved":
            report.approved_unpaid += from_fen(line.amount_fen)
    for state, in session.execute(select(ClaimRow.state).where(ClaimRow.claim_id.in_(report.total.claims))):
        report.states[state] += 1
    report.recoveries = from_fen(sum(a.before_fen - a.after_fen for a in session.scalars(
        select(Adjustment).where(Adjustment.period == period, Adjustment.kind == "recovery"))))
    for batch in session.scalars(select(Batch).where(Batch.id.in_(set(per_batch))).order_by(Batch.id)):
        report.batches.append((batch.id, batch.name, batch.state, from_fen(per_batch[batch.id])))
    report.items = dict(report.items)
    report.units = dict(sorted(report.units.items()))
    return report
