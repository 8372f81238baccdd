"""What a batch pays: its approved (or paid) claims with members, per-item amounts and lines — the one
source that the payout workbook, the bank file and the letters all read, so their totals agree."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select, update
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
    explanation_json: str

    @property
    def explanation(self) -> dict:
        """Parsed only when a letter needs it: the payout workbook and bank file never do."""
        return json.loads(self.explanation_json)


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
    claims = {c.claim_id: c for c in session.execute(
        select(*ClaimRow.__table__.c).where(ClaimRow.batch_id == batch_id, ClaimRow.state.in_(states)))}
    members = {m.member_id: m for m in session.execute(
        select(*MemberRow.__table__.c).where(MemberRow.member_id.in_(
            select(ClaimRow.member_id).where(ClaimRow.batch_id == batch_id, ClaimRow.state.in_(states)))))}
    lines: dict[str, list[PayoutLine]] = defaultdict(list)
    for row in session.execute(select(ResultLineRow.claim_id, ResultLineRow.item, ResultLineRow.benefit,
                                      ResultLineRow.amount_fen, ResultLineRow.reason, ResultLineRow.explanation_json)
                               .where(ResultLineRow.batch_id == batch_id).order_by(ResultLineRow.position)):
        if row.claim_id in claims:
            lines[row.claim_id].append(PayoutLine(row.item, row.benefit, from_fen(row.amount_fen), row.reason,
                                                  row.explanation_json))
    codes = [code for code, _ in data.items]
    for claim_id, claim in claims.items():
        per_item = dict.fromkeys(codes, ZERO)
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
    states = list(session.execute(select(ClaimRow.claim_id, ClaimRow.state).where(ClaimRow.batch_id == batch_id)))
    undecided = [c.claim_id for c in states if c.state == "calculated"]
    if undecided:
        raise Refusal("BATCH_UNDECIDED", f"批次 {batch_id} 还有 {len(undecided)} 件申请未审核（如 {undecided[0]}），不能标记为已支付")
    if batch.state == "paid":
        raise Refusal("BATCH_PAID", f"批次 {batch_id} 已标记为已支付")
    from claims.workflow.bank import outstanding_failures, settle_sent_as_succeeded

    failed = outstanding_failures(session, batch_id)
    if failed:
        raise Refusal("BANK_FAILED_TRANSFERS", f"批次 {batch_id} 有 {len(failed)} 笔转账失败（如 {failed[0].name}：{failed[0].reason}），"
                                               "不能整批标记为已支付；请用 claims bank reconcile 对账，更正账号后再发")
    settle_sent_as_succeeded(session, batch_id, user)
    paid = [c for c in states if c.state == "approved"]
    data = payout_data(session, batch_id, user, ("approved",))
    changed = session.execute(update(ClaimRow).where(ClaimRow.batch_id == batch_id, ClaimRow.state == "approved")
                              .values(state="paid", version=ClaimRow.version + 1)
                              .execution_options(synchronize_session=False)).rowcount
    if changed != len(paid):
        raise Refusal("CLAIM_CHANGED", "标记期间有申请被他人改动，未标记，请重试")
    batch.state = "paid"
    session.flush()
    audit_log.append(session, user, "batch.mark_paid", "batch", batch_id,
                     {"claims": len(paid), "total": str(data.total)})
    return len(paid), data.total

