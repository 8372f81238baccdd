"""What a batch pays: its approved (or paid) claims with members, per-item amounts and lines — the one
source that the payout workbook, the bank file and the letters all read, so their totals agree."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

from sqlalchemy import null, select, update
from sqlalchemy.orm import Session

from claims.money import ZERO, from_fen, to_fen
from claims.policy.schema import Policy
from claims.store.bulk import insert_rows
from claims.store.models import (
    Adjustment,
    Batch,
    ClaimRow,
    EnrollmentRow,
    ExportItem,
    ExportRecord,
    MemberRow,
    ResultLineRow,
)
from claims.workflow import audit_log
from claims.workflow.batches import get_batch, policy_of
from claims.workflow.errors import Refusal
from claims.workflow.ledger import live_ledger
from claims.workflow.users import require

PAYABLE = ("approved", "paid")
# a claim's and a member's stored row as plain named tuples: reading a field of SQLAlchemy's Row by name costs
# ten times a named tuple's, and a 100,000-claim workbook reads each field of each row
ClaimRecord = namedtuple("ClaimRecord", [column.name for column in ClaimRow.__table__.c])
MemberRecord = namedtuple("MemberRecord", [column.name for column in MemberRow.__table__.c])
BRIEF_CLAIM = ("claim_id", "member_id", "state", "batch_id")  # what the payout workbook reads of a claim
BriefClaimRecord = namedtuple("BriefClaimRecord", BRIEF_CLAIM)


@dataclass(slots=True)
class PayoutLine:
    item: str
    benefit: str
    amount: Decimal
    reason: str
    explanation_json: str | None  # read only for letters (``payout_data(..., explanations=True)``)

    @property
    def explanation(self) -> dict:
        """Parsed only when a letter needs it: the payout workbook and bank file never do."""
        if self.explanation_json is None:
            raise ValueError("payout_data(..., explanations=True) reads the explanations")
        return json.loads(self.explanation_json)


@dataclass
class PayoutClaim:
    claim: ClaimRow
    member: MemberRow
    lines: list[PayoutLine]
    per_item: dict[str, Decimal]
    total: Decimal
    lines_batch_id: int = 0  # the batch whose current lines are paid (the claim's own, or a correction's)
    adjustment_ids: list[int] = field(default_factory=list)  # a correction batch: the top-ups paid

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


def payout_data(session: Session, batch_id: int, user: str, states: tuple[str, ...] = PAYABLE,
                kind: str | None = None, reexport: bool = False, unit: str | None = None,
                explanations: bool = False, brief: bool = False) -> PayoutData:
    """What a batch's files show. ``unit``: only the claims of members of this unit (chosen in SQL);
    ``explanations``: the lines' stored explanations read too (letters need them, nothing else does). ``kind`` (payouts | bank): what an export of that kind pays — only approved,
    unpaid claims whose current lines (the original batch's, or a correction's) are not yet in an export of
    that kind; of a correction batch, its approved top-ups not yet exported. ``reexport``: the export again,
    including what was exported before (a bank re-export still never includes paid claims). ``brief``: of each
    claim only its id, member, state and batch (``BRIEF_CLAIM``: the payout workbook shows no more; dates and
    codes of 100,000 claims cost a noticeable part of its export to read)."""
    require(session, user, "export")
    batch = get_batch(session, batch_id)
    data = PayoutData(batch, policy_of(batch).policy)
    if batch.kind != "regular":
        return _adjustment_data(session, data, kind, reexport, unit)
    if kind is not None:
        states = ("approved", "paid") if (reexport and kind == "payouts") else ("approved",)
    record, read = (BriefClaimRecord, [ClaimRow.__table__.c[name] for name in BRIEF_CLAIM]) if brief \
        else (ClaimRecord, ClaimRow.__table__.c)
    query = select(*read).where(ClaimRow.batch_id == batch_id, ClaimRow.state.in_(states))
    if unit is not None:
        query = query.where(ClaimRow.member_id.in_(select(MemberRow.member_id).where(MemberRow.unit == unit)))
    claims = {c.claim_id: c for c in map(record._make, session.execute(query))}
    lines: dict[str, list[PayoutLine]] = defaultdict(list)
    lines_batch: dict[str, int] = {}
    explanation = ResultLineRow.explanation_json if explanations else null().label("explanation_json")
    columns = (ResultLineRow.claim_id, ResultLineRow.item, ResultLineRow.benefit, ResultLineRow.amount_fen,
               ResultLineRow.reason, explanation, ResultLineRow.batch_id)
    # the batch's lines are found through the claims, by the (claim, current) index: a whole batch in one
    # query when it is the whole batch, the claims in chunks when it is a part
    parts = [select(*columns).join(ClaimRow, ClaimRow.claim_id == ResultLineRow.claim_id)
             .where(ClaimRow.batch_id == batch_id, ClaimRow.state.in_(states), ResultLineRow.current.is_(True))] \
        if unit is None else \
        [select(*columns).where(ResultLineRow.claim_id.in_(chunk), ResultLineRow.current.is_(True))
         for chunk in _chunks(sorted(claims), 2000)]
    for part in parts:
        for claim_id, item, benefit, amount_fen, reason, explanation_json, line_batch in session.execute(
                part.order_by(ResultLineRow.batch_id, ResultLineRow.position)):
            lines[claim_id].append(PayoutLine(item, benefit, from_fen(amount_fen), reason, explanation_json))
            lines_batch[claim_id] = line_batch
    if kind is not None and not reexport:
        done = exported(session, kind, sorted(claims))
        claims = {c: row for c, row in claims.items() if (c, lines_batch.get(c)) not in done}
    if unit is None:  # the whole batch: its members in one query
        members = {m.member_id: m for m in map(MemberRecord._make, session.execute(select(*MemberRow.__table__.c).where(
            MemberRow.member_id.in_(select(ClaimRow.member_id).where(ClaimRow.batch_id == batch_id)))))}
    else:
        members = {m.member_id: m for chunk in _chunks(sorted({c.member_id for c in claims.values()}), 2000)
                   for m in map(MemberRecord._make,
                                session.execute(select(*MemberRow.__table__.c).where(MemberRow.member_id.in_(chunk))))}
    codes = [code for code, _ in data.items]
    chosen = []
    for claim_id, claim in claims.items():
        per_item = dict.fromkeys(codes, ZERO)
        claim_lines = lines[claim_id]
        for line in claim_lines:
            if line.item:
                per_item[line.item] += line.amount
        member = members[claim.member_id]
        chosen.append(((member.unit, claim.member_id, claim_id),
                       PayoutClaim(claim, member, claim_lines, per_item, sum(per_item.values(), ZERO),
                                   lines_batch.get(claim_id, batch_id))))
    chosen.sort(key=itemgetter(0))  # by unit, member, claim
    data.claims.extend(claim for _, claim in chosen)
    return data


def decided_units(session: Session, batch_id: int, states: tuple[str, ...]) -> list[str]:
    """The units of the members with claims of the batch in these states, sorted."""
    return list(session.scalars(select(MemberRow.unit).distinct()
                                .join(ClaimRow, ClaimRow.member_id == MemberRow.member_id)
                                .where(ClaimRow.batch_id == batch_id, ClaimRow.state.in_(states))
                                .order_by(MemberRow.unit)))


def exported(session: Session, kind: str, claim_ids: list[str]) -> set[tuple[str, int]]:
    """(claim, batch of the lines paid) already in an export of this kind."""
    found = set()
    for chunk in _chunks(claim_ids, 2000):
        found |= {(c, b) for c, b in session.execute(
            select(ExportItem.claim_id, ExportItem.lines_batch_id).join(ExportRecord, ExportRecord.id == ExportItem.export_id)
            .where(ExportRecord.kind == kind, ExportItem.claim_id.in_(chunk), ExportItem.adjustment_id.is_(None)))}
    return found


def _adjustment_data(session: Session, data: PayoutData, kind: str | None, reexport: bool,
                     unit: str | None = None) -> PayoutData:
    """A correction (or re-evaluation) batch pays its approved top-ups: one payout claim per corrected claim."""
    if data.batch.state == "pending":
        raise Refusal("CORRECTION_PENDING", f"更正批次 {data.batch.id} 尚待审核员复核，复核通过前不能导出")
    states = ("open", "paid") if reexport else ("open",)
    adjustments = list(session.scalars(select(Adjustment).where(
        Adjustment.batch_id == data.batch.id, Adjustment.kind == "top_up", Adjustment.state.in_(states))
        .order_by(Adjustment.id)))
    if kind is not None and not reexport:
        done = set(session.scalars(select(ExportItem.adjustment_id).join(ExportRecord, ExportRecord.id == ExportItem.export_id)
                                   .where(ExportRecord.kind == kind, ExportItem.adjustment_id.is_not(None))))
        adjustments = [a for a in adjustments if a.id not in done]
    by_claim: dict[str, list[Adjustment]] = defaultdict(list)
    for a in adjustments:
        by_claim[a.claim_id].append(a)
    codes = [code for code, _ in data.items]
    for claim_id, found in by_claim.items():
        claim = session.execute(select(*ClaimRow.__table__.c).where(ClaimRow.claim_id == claim_id)).one()
        member = session.execute(select(*MemberRow.__table__.c).where(MemberRow.member_id == claim.member_id)).one()
        if unit is not None and member.unit != unit:
            continue
        lines = [PayoutLine(a.item, a.benefit, from_fen(a.after_fen - a.before_fen), "", '{"steps": []}') for a in found]
        per_item = dict.fromkeys(codes, ZERO)
        for line in lines:
            per_item[line.item] += line.amount
        data.claims.append(PayoutClaim(claim, member, lines, per_item, sum(per_item.values(), ZERO), data.batch.id,
                                       [a.id for a in found]))
    data.claims.sort(key=lambda c: (c.member.unit, c.member.member_id, c.claim.claim_id))
    return data


def record_export(session: Session, kind: str, data: PayoutData, path: Path, user: str, reexport: bool,
                  paid: list[PayoutClaim], count: int, total: Decimal) -> ExportRecord:
    """Record an export (kind, file sha256, count, total, who, when) and which claims it paid, in the table
    and in the audit log."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    record = ExportRecord(kind=kind, batch_id=data.batch.id, file_name=Path(path).name, file_sha256=digest,
                          count=count, total_fen=to_fen(total), reexport=reexport, created_by=user,
                          created_at=audit_log.now())
    session.add(record)
    session.flush()
    items = []
    for claim in paid:
        if claim.adjustment_ids:
            items += [{"export_id": record.id, "kind": kind, "claim_id": claim.claim.claim_id,
                       "lines_batch_id": claim.lines_batch_id, "adjustment_id": a, "amount_fen": to_fen(line.amount)}
                      for a, line in zip(claim.adjustment_ids, claim.lines, strict=True)]
        else:
            items.append({"export_id": record.id, "kind": kind, "claim_id": claim.claim.claim_id,
                          "lines_batch_id": claim.lines_batch_id, "adjustment_id": None, "amount_fen": to_fen(claim.total)})
    if items:
        insert_rows(session, ExportItem.__table__, items)
    audit_log.append(session, user, f"export.{kind}", "batch", data.batch.id,
                     {"export_id": record.id, "file": record.file_name, "sha256": digest, "count": count,
                      "total_fen": record.total_fen, "reexport": reexport, "claims": len(paid)})
    return record


def reexport_path(path: Path) -> Path:
    """A re-export says so in its file name."""
    return path if "重新导出" in path.stem else path.with_name(f"{path.stem}（重新导出）{path.suffix}")


class Balances:
    """Each member's remaining cap per item and period after every settled claim — computed once per export."""

    def __init__(self, session: Session, policy: Policy, member_ids: set[str]):
        self.policy = policy
        self.ledger = live_ledger(session, members=member_ids, invoices=False)  # its members' counts only
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
        return _mark_top_ups_paid(session, batch, user)
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


def _mark_top_ups_paid(session: Session, batch: Batch, user: str) -> tuple[int, Decimal]:
    if batch.state == "pending":
        raise Refusal("CORRECTION_PENDING", f"更正批次 {batch.id} 尚待审核员复核")
    top_ups = list(session.scalars(select(Adjustment).where(Adjustment.batch_id == batch.id, Adjustment.kind == "top_up",
                                                            Adjustment.state == "open")))
    if not top_ups:
        raise Refusal("NOTHING_TO_PAY", f"更正批次 {batch.id} 没有待发放的补发")
    for a in top_ups:
        a.state, a.settled_by, a.settled_at = "paid", user, audit_log.now()
    total = from_fen(sum(a.after_fen - a.before_fen for a in top_ups))
    if not session.scalar(select(Adjustment.id).where(Adjustment.batch_id == batch.id, Adjustment.state == "open").limit(1)):
        batch.state = "paid"
    session.flush()
    audit_log.append(session, user, "batch.mark_paid", "batch", batch.id,
                     {"top_ups": len(top_ups), "total": str(total)})
    return len({a.claim_id for a in top_ups}), total


def recoveries(session: Session, batch_id: int | None, user: str, states: tuple[str, ...] = ("open",)) -> list[tuple]:
    """The recoveries (追回) to collect: (adjustment, member) of one batch, or of every batch."""
    require(session, user, "export")
    query = (select(Adjustment, MemberRow).join(MemberRow, MemberRow.member_id == Adjustment.member_id)
             .where(Adjustment.kind == "recovery", Adjustment.state.in_(states)).order_by(Adjustment.id))
    if batch_id is not None:
        get_batch(session, batch_id)
        query = query.where(Adjustment.batch_id == batch_id)
    return list(session.execute(query))


def record_recovered(session: Session, adjustment_id: int, user: str, note: str) -> Adjustment:
    """Finance records a recovery as collected (the money came back)."""
    require(session, user, "mark_paid")
    adjustment = session.get(Adjustment, adjustment_id)
    if adjustment is None or adjustment.kind != "recovery":
        raise Refusal("RECOVERY_UNKNOWN", f"追回记录 {adjustment_id} 不存在")
    if adjustment.state != "open":
        names = {"pending": "更正尚待复核", "recovered": "已追回", "void": "更正已驳回"}
        raise Refusal("RECOVERY_STATE", f"追回记录 {adjustment_id}：{names.get(adjustment.state, adjustment.state)}，不能登记")
    adjustment.state, adjustment.settled_by, adjustment.settled_at = "recovered", user, audit_log.now()
    adjustment.settled_note = note
    session.flush()
    audit_log.append(session, user, "recovery.recorded", "adjustment", adjustment_id,
                     {"claim_id": adjustment.claim_id, "amount_fen": adjustment.before_fen - adjustment.after_fen}, note)
    return adjustment


def record_recoveries(session: Session, batch_id: int | None, rows: list[tuple], path: Path, user: str,
                      total: Decimal) -> ExportRecord:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    record = ExportRecord(kind="recoveries", batch_id=batch_id or rows[0][0].batch_id, file_name=Path(path).name,
                          file_sha256=digest, count=len(rows), total_fen=to_fen(total), reexport=False,
                          created_by=user, created_at=audit_log.now())
    session.add(record)
    session.flush()
    insert_rows(session, ExportItem.__table__, [
        {"export_id": record.id, "kind": "recoveries", "claim_id": a.claim_id, "lines_batch_id": a.batch_id,
         "adjustment_id": a.id, "amount_fen": a.before_fen - a.after_fen} for a, _ in rows])
    audit_log.append(session, user, "export.recoveries", "batch", record.batch_id,
                     {"export_id": record.id, "file": record.file_name, "sha256": digest, "count": len(rows),
                      "total_fen": record.total_fen})
    return record
