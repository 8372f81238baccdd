"""The bank round trip: what a bank file pays, what was sent, and what the bank answered.

``bank_selection`` decides what the next bank file of a batch pays: the batch's payable claims (from the
one selection function, ``payout_data``), one transfer per member, except claims already in a transfer that
was sent and not yet answered, or that succeeded. A claim whose transfer failed comes back only once the
member's account was corrected (``claims import members`` with the new account): the same account would
fail again.

``reconcile`` reads the bank's result file (account, name, amount, 成功/失败, reason): a file that does not
match what was sent is refused whole, with located messages; otherwise succeeded transfers mark their
claims paid and failed ones stay unpaid with the bank's reason.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from claims.intake.columns import normalize_header
from claims.intake.tables import read_table
from claims.money import ZERO, from_fen, parse_decimal, to_fen
from claims.problems import Problem, ProblemsFound
from claims.store.bulk import insert_rows
from claims.store.models import BankTransfer, Batch, ClaimRow, MemberRow
from claims.workflow import audit_log
from claims.workflow.batches import get_batch
from claims.workflow.errors import Refusal
from claims.workflow.payouts import PayoutClaim, PayoutData, payout_data
from claims.workflow.users import require


@dataclass
class Transfer:
    member: MemberRow
    claims: list[PayoutClaim]

    @property
    def amount(self) -> Decimal:
        return sum((c.total for c in self.claims), ZERO)

    @property
    def claim_ids(self) -> list[str]:
        return [c.claim.claim_id for c in self.claims]


@dataclass
class Selection:
    data: PayoutData
    transfers: list[Transfer] = field(default_factory=list)
    without_account: list[PayoutClaim] = field(default_factory=list)
    awaiting_correction: list[tuple[PayoutClaim, BankTransfer]] = field(default_factory=list)
    in_flight: list[PayoutClaim] = field(default_factory=list)  # in a sent, unanswered bank file

    @property
    def total(self) -> Decimal:
        return sum((t.amount for t in self.transfers), ZERO)


def latest_transfers(session: Session, batch_id: int) -> dict[str, BankTransfer]:
    """Each claim's latest transfer in the batch's bank files."""
    latest: dict[str, BankTransfer] = {}
    for transfer in session.scalars(select(BankTransfer).where(BankTransfer.batch_id == batch_id)
                                    .order_by(BankTransfer.id)):
        for claim_id in json.loads(transfer.claim_ids):
            latest[claim_id] = transfer
    return latest


def bank_selection(session: Session, batch_id: int, user: str, reexport: bool = False) -> Selection:
    """What the batch's next bank file pays: approved, unpaid claims not already sent, plus failed transfers
    whose account was corrected since. ``reexport``: transfers sent but not yet answered by the bank are
    sent again (never what succeeded or was paid)."""
    data = payout_data(session, batch_id, user, kind="bank", reexport=True)
    selection = Selection(data)
    latest = latest_transfers(session, batch_id)
    per_member: dict[str, list[PayoutClaim]] = defaultdict(list)
    regular = data.batch.kind == "regular"  # a correction batch's selection is already its unpaid top-ups
    for claim in data.claims:
        if (regular and claim.claim.state != "approved") or claim.total <= 0:
            continue
        sent = latest.get(claim.claim.claim_id)
        if sent is not None and sent.status in ("sent", "succeeded") and not (reexport and sent.status == "sent"):
            if sent.status == "sent":
                selection.in_flight.append(claim)
            continue
        if sent is not None and sent.status == "failed" and _account(claim.member.bank_account) == sent.account:
            selection.awaiting_correction.append((claim, sent))
            continue
        if not claim.has_account:
            selection.without_account.append(claim)
            continue
        per_member[claim.member.member_id].append(claim)
    selection.transfers = [Transfer(claims[0].member, claims) for claims in per_member.values()]
    return selection


def _account(text: str) -> str:
    return "".join(str(text or "").split())


def record_sent(session: Session, selection: Selection, template: str, user: str) -> int:
    """Store the transfers as sent in the batch's next bank file; returns that file's number."""
    batch_id = selection.data.batch.id
    file_no = (session.scalar(select(func.max(BankTransfer.file_no)).where(BankTransfer.batch_id == batch_id)) or 0) + 1
    at = audit_log.now()
    # one bulk insert (COPY on PostgreSQL), in the file's order: ids ascend as the transfers are listed
    insert_rows(session, BankTransfer.__table__, [
        {"batch_id": batch_id, "file_no": file_no, "template": template, "member_id": t.member.member_id,
         "name": t.member.name, "account": _account(t.member.bank_account), "bank_name": t.member.bank_name or "",
         "amount_fen": to_fen(t.amount), "claim_ids": json.dumps(t.claim_ids), "status": "sent", "reason": "",
         "exported_by": user, "exported_at": at, "reconciled_by": None, "reconciled_at": None}
        for t in selection.transfers])
    return file_no


# the bank's result file: header aliases (banks name them differently)
RESULT_COLUMNS = {
    "account": ("账号", "收款账号", "银行账号", "收款方账号", "收款人账号", "account"),
    "name": ("户名", "收款户名", "姓名", "收款方户名", "收款人户名", "收款人", "name"),
    "amount": ("金额", "金额（元）", "金额(元)", "交易金额", "amount"),
    "status": ("状态", "结果", "处理结果", "交易状态", "status"),
    "reason": ("原因", "失败原因", "备注", "说明", "reason"),
}
OK_WORDS = {"成功", "交易成功", "处理成功", "success", "succeeded", "ok"}
FAILED_WORDS = {"失败", "交易失败", "处理失败", "退票", "failed", "fail", "failure"}
COLUMN_NAMES = {"account": "账号", "name": "户名", "amount": "金额", "status": "状态", "reason": "原因"}


@dataclass
class Reconciled:
    batch: Batch
    sent: list[BankTransfer]
    succeeded: list[BankTransfer] = field(default_factory=list)
    failed: list[BankTransfer] = field(default_factory=list)
    claims_paid: int = 0
    batch_paid: bool = False

    @staticmethod
    def total(transfers: list[BankTransfer]) -> Decimal:
        return from_fen(sum(t.amount_fen for t in transfers))


def reconcile(session: Session, batch_id: int, result_file: str | Path, user: str) -> Reconciled:
    require(session, user, "mark_paid")
    batch = get_batch(session, batch_id)
    sent = list(session.scalars(select(BankTransfer).where(BankTransfer.batch_id == batch_id,
                                                           BankTransfer.status == "sent").order_by(BankTransfer.id)))
    if not sent:
        raise Refusal("BANK_NOTHING_SENT", f"批次 {batch_id} 没有已发出、等待银行回盘的转账（请先 claims export bank）")
    table = read_table(result_file)
    positions: dict[str, int] = {}
    aliases = {normalize_header(a): key for key, names in RESULT_COLUMNS.items() for a in names}
    for index, header in enumerate(table.header):
        key = aliases.get(normalize_header(header))
        if key and key not in positions:
            positions[key] = index
    problems = [Problem("BANK_RESULT_MISSING_COLUMN",
                        f"银行回盘文件缺少“{COLUMN_NAMES[key]}”列（可写作：{'、'.join(RESULT_COLUMNS[key][:4])}）",
                        table.file, 1, COLUMN_NAMES[key]) for key in ("account", "name", "amount", "status")
                if key not in positions]
    if problems:
        raise ProblemsFound(problems)
    label = {key: table.header[i] for key, i in positions.items()}

    def cell(cells, key):
        i = positions.get(key)
        value = cells[i] if i is not None and i < len(cells) else None
        return "" if value is None else str(value).strip()

    by_account: dict[str, list[BankTransfer]] = defaultdict(list)
    for transfer in sent:
        by_account[transfer.account].append(transfer)
    matched: dict[int, tuple[BankTransfer, bool, str]] = {}
    seen_rows: dict[tuple[str, int], int] = {}
    for number, cells in table.rows:
        raw_account = cells[positions["account"]] if positions["account"] < len(cells) else None
        if isinstance(raw_account, (int, float)) and not isinstance(raw_account, bool) and len(str(int(raw_account))) >= 16:
            problems.append(Problem("INPUT_NUMBER_CELL", f"银行账号被 Excel 存成了数字（{raw_account}），末几位已丢失，"
                                    "请把该列设为文本后重新填写", table.file, number, label["account"]))
            continue
        account = _account(cell(cells, "account"))
        amount = parse_decimal(cell(cells, "amount").replace(",", "").replace("¥", ""))
        status = cell(cells, "status").lower()
        where = lambda key, n=number: (table.file, n, label.get(key, COLUMN_NAMES[key]))  # noqa: E731
        if amount is None:
            problems.append(Problem("BANK_RESULT_BAD_AMOUNT", f"“{cell(cells, 'amount')}”不是金额", *where("amount")))
            continue
        ok = status in OK_WORDS
        if not ok and status not in FAILED_WORDS:
            problems.append(Problem("BANK_RESULT_BAD_STATUS", f"状态“{cell(cells, 'status')}”无法识别，应为 成功 或 失败",
                                    *where("status")))
            continue
        candidates = by_account.get(account)
        if not candidates:
            problems.append(Problem("BANK_RESULT_UNKNOWN_ACCOUNT", f"账号 {account} 不在批次 {batch_id} 已发出的转账中",
                                    *where("account")))
            continue
        fen = to_fen(amount.quantize(Decimal("0.01"))) if amount == amount.quantize(Decimal("0.01")) else None
        key = (account, fen if fen is not None else -1)
        if key in seen_rows and not [t for t in candidates if t.amount_fen == fen and t.id not in matched]:
            problems.append(Problem("BANK_RESULT_DUPLICATE", f"账号 {account} 金额 {amount} 的回盘重复（第 {seen_rows[key]} 行已有）",
                                    *where("account")))
            continue
        transfer = next((t for t in candidates if t.amount_fen == fen and t.id not in matched), None)
        if transfer is None:
            sent_amounts = "、".join(f"{from_fen(t.amount_fen):,.2f}" for t in candidates)
            problems.append(Problem("BANK_RESULT_AMOUNT", f"账号 {account} 回盘金额 {amount:,.2f} 元，与发出的 {sent_amounts} 元不符",
                                    *where("amount")))
            continue
        seen_rows.setdefault(key, number)
        name = cell(cells, "name")
        if name and name != transfer.name:
            problems.append(Problem("BANK_RESULT_NAME", f"账号 {account} 回盘户名“{name}”与发出的“{transfer.name}”不符",
                                    *where("name")))
            continue
        matched[transfer.id] = (transfer, ok, cell(cells, "reason"))
    for transfer in sent:
        if transfer.id not in matched and not problems:
            problems.append(Problem("BANK_RESULT_MISSING_LINE",
                                    f"第 {transfer.file_no} 号银行文件发出的 {transfer.name}（账号 {transfer.account}，"
                                    f"{from_fen(transfer.amount_fen):,.2f} 元）在回盘文件中没有结果", table.file))
    if problems:
        raise ProblemsFound(problems)
    done = Reconciled(batch, sent)
    at = audit_log.now()
    paid_ids: list[str] = []
    for transfer, ok, reason in matched.values():
        transfer.status = "succeeded" if ok else "failed"
        transfer.reason = "" if ok else (reason or "银行未说明原因")
        transfer.reconciled_by, transfer.reconciled_at = user, at
        (done.succeeded if ok else done.failed).append(transfer)
        if ok:
            paid_ids += json.loads(transfer.claim_ids)
    if paid_ids:
        done.claims_paid = session.execute(
            update(ClaimRow).where(ClaimRow.claim_id.in_(paid_ids), ClaimRow.state == "approved")
            .values(state="paid", version=ClaimRow.version + 1).execution_options(synchronize_session=False)).rowcount
    nothing_to_pay = _approved_with_nothing_to_pay(session, batch_id)
    if nothing_to_pay:  # 0.00 claims need no transfer: settled with the first answer of the bank
        done.claims_paid += session.execute(
            update(ClaimRow).where(ClaimRow.claim_id.in_(nothing_to_pay), ClaimRow.state == "approved")
            .values(state="paid", version=ClaimRow.version + 1).execution_options(synchronize_session=False)).rowcount
    open_claims = session.scalar(select(func.count()).select_from(ClaimRow).where(
        ClaimRow.batch_id == batch_id, ClaimRow.state.in_(("calculated", "approved"))))
    if open_claims == 0 and batch.state != "paid":
        batch.state = "paid"
        done.batch_paid = True
    session.flush()
    audit_log.append(session, user, "bank.reconcile", "batch", batch_id,
                     {"file": Path(result_file).name, "sent": len(sent), "sent_total": str(done.total(sent)),
                      "succeeded": len(done.succeeded), "succeeded_total": str(done.total(done.succeeded)),
                      "failed": [[t.member_id, t.account, t.amount_fen, t.reason] for t in done.failed],
                      "claims_paid": done.claims_paid})
    return done


def _approved_with_nothing_to_pay(session: Session, batch_id: int) -> list[str]:
    from claims.store.models import ResultLineRow

    totals = session.execute(
        select(ClaimRow.claim_id, func.coalesce(func.sum(ResultLineRow.amount_fen), 0))
        .outerjoin(ResultLineRow, (ResultLineRow.claim_id == ClaimRow.claim_id) & ResultLineRow.current.is_(True))
        .where(ClaimRow.batch_id == batch_id, ClaimRow.state == "approved").group_by(ClaimRow.claim_id))
    return [claim_id for claim_id, fen in totals if fen == 0]


def outstanding_failures(session: Session, batch_id: int) -> list[BankTransfer]:
    """Failed transfers whose claims have not been sent again since."""
    latest = latest_transfers(session, batch_id)
    return sorted({t.id: t for t in latest.values() if t.status == "failed"}.values(), key=lambda t: t.id)


def settle_sent_as_succeeded(session: Session, batch_id: int, user: str) -> None:
    """``batch mark-paid`` says everything succeeded: the transfers still awaiting an answer succeeded."""
    at = audit_log.now()
    for transfer in session.scalars(select(BankTransfer).where(BankTransfer.batch_id == batch_id,
                                                               BankTransfer.status == "sent")):
        transfer.status, transfer.reconciled_by, transfer.reconciled_at = "succeeded", user, at
