"""What a batch pays: its approved (or paid) claims with members, per-item amounts and lines — the one
source that the payout workbook, the bank file and the letters all read, so their totals agree."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.money import ZERO, from_fen
from claims.policy.schema import Policy
from claims.store.models import Batch, ClaimRow, EnrollmentRow, MemberRow, ResultLineRow
from claims.workflow import audit_log
from claims.workflow.batches import get_batch, policy_of, settled_ledger
from claims.workflow.errors import Refusal
from claims.workflow.users import require

PAYABLE = ("approved", "paid")


@dataclass
class PayoutLine:
    item: str
    benefit: str
    amount: Decimal
    reason: str
    explanation: dict


@dataclass
class PayoutClaim:
    claim: ClaimRow
    member: MemberRow
    lines: list[PayoutLine]
    per_item: dict[str, Decimal]
    total: Decimal

    @property
    def has_account(self) -> bool:
        return bool(self.member.bank_account)


@dataclass
class PayoutData:
    batch: Batch
    policy: Policy
    claims: list[PayoutClaim] = field(default_factory=list)  # sorted by unit, member, claim

    @property
    def items(self) -> list[tuple[str, str]]:
        return [(item.code, item.name) for item in self.policy.items]

    @property
    def total(self) -> Decimal:
        return sum((c.total for c in self.claims), ZERO)

    def by_unit(self) -> dict[str, list[PayoutClaim]]:
        units: dict[str, list[PayoutClaim]] = defaultdict(list)
        for claim in self.claims:
            units[claim.member.unit].append(claim)
        return dict(units)


def mask_id(id_number: str) -> str:
    """330102********1234: the region and the last four digits, nothing of the birth date."""
    return id_number[:6] + "*" * 8 + id_number[-4:] if len(id_number) == 18 else "*" * len(id_number)


def payout_data(session: Session, batch_id: int, user: str, states: tuple[str, ...] = PAYABLE) -> PayoutData:
    require(session, user, "export")
    batch = get_batch(session, batch_id)
    data = PayoutData(batch, policy_of(batch).policy)
    claims = {c.claim_id: c for c in session.scalars(
        select(ClaimRow).where(ClaimRow.batch_id == batch_id, ClaimRow.state.in_(states)))}
    members = {m.member_id: m for m in session.scalars(
        select(MemberRow).where(MemberRow.member_id.in_({c.member_id for c in claims.values()})))}
    lines: dict[str, list[PayoutLine]] = defaultdict(list)
    for row in session.scalars(select(ResultLineRow).where(ResultLineRow.batch_id == batch_id)
                               .order_by(ResultLineRow.position)):
        if row.claim_id in claims:
            lines[row.claim_id].append(PayoutLine(row.item, row.benefit, from_fen(row.amount_fen), row.reason,
                                                  json.loads(row.explanation_json)))
    for claim_id, claim in claims.items():
        per_item = {code: ZERO for code, _ in data.items}
        for line in lines[claim_id]:
            if line.item:
                per_item[line.item] += line.amount
        data.claims.append(PayoutClaim(claim, members[claim.member_id], lines[claim_id], per_item,
                                       sum(per_item.values(), ZERO)))
    data.claims.sort(key=lambda c: (c.member.unit, c.member.member_id, c.claim.claim_id))
    return data


class Balances:
    """Each member's remaining cap per item and period after every settled claim — computed once per export."""

    def __init__(self, session: Session, policy: Policy, member_ids: set[str]):
        self.policy = policy
        self.ledger = settled_ledger(session)
        self.enrollments: dict[tuple[str, int], list[EnrollmentRow]] = defaultdict(list)
        for chunk in _chunks(sorted(member_ids), 500):
            for row in session.scalars(select(EnrollmentRow).where(EnrollmentRow.member_id.in_(chunk))):
                self.enrollments[(row.member_id, row.period)].append(row)

    def of(self, member_id: str, period: int) -> list[tuple[str, Decimal, Decimal]]:
        """(item name, cap × shares, remaining) for each item the member holds in the period."""
        from claims.engine.periods import period_start

        counts = self.ledger.periods.get((member_id, period))
        out = []
        for item in self.policy.items:
            for enrollment in self.enrollments.get((member_id, period), []):
                if enrollment.item == item.code:
                    cap = item.cap_per_share.at(period_start(self.policy, period)) * enrollment.shares
                    paid = counts.item_paid.get(item.code, ZERO) if counts else ZERO
                    out.append((item.name, cap, max(ZERO, cap - paid)))
        return out


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def mark_paid(session: Session, batch_id: int, user: str) -> tuple[int, Decimal]:
    require(session, user, "mark_paid")
    batch = get_batch(session, batch_id)
    if batch.kind != "regular":
        raise Refusal("BATCH_KIND", f"批次 {batch_id} 是更正批次，其补发/追回另行处理")
    states = list(session.scalars(select(ClaimRow).where(ClaimRow.batch_id == batch_id)))
    undecided = [c.claim_id for c in states if c.state == "calculated"]
    if undecided:
        raise Refusal("BATCH_UNDECIDED", f"批次 {batch_id} 还有 {len(undecided)} 件申请未审核（如 {undecided[0]}），不能标记为已支付")
    if batch.state == "paid":
        raise Refusal("BATCH_PAID", f"批次 {batch_id} 已标记为已支付")
    paid = [c for c in states if c.state == "approved"]
    data = payout_data(session, batch_id, user, ("approved",))
    for claim in paid:
        claim.state = "paid"
    batch.state = "paid"
    session.flush()
    audit_log.append(session, user, "batch.mark_paid", "batch", batch_id,
                     {"claims": len(paid), "total": str(data.total)})
    return len(paid), data.total

