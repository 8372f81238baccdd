"""Member SMS when the money arrived: one message per member of at most 70 characters (one SMS page).

Only paid claims count (money that actually arrived: a succeeded bank transfer, or a batch marked paid).
The account tail is that of the transfer that succeeded. Members without a phone are listed apart."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.money import ZERO
from claims.store.models import BankTransfer
from claims.workflow.errors import Refusal
from claims.workflow.payouts import payout_data
from exports.safety import atomic_output, csv_text

LIMIT = 70
FORMS = ("【{sig}】{name}同志，您的职工医疗互助补助 {amount} 元已发放至尾号 {tail} 的账户。",
         "【{sig}】{name}同志，您的职工互助补助 {amount} 元已发至尾号 {tail} 账户。",
         "【{sig}】{name}，互助补助 {amount} 元已发至尾号 {tail} 账户。")


@dataclass
class Messages:
    sent: list[tuple[str, str, str, Decimal]] = field(default_factory=list)  # (member id, phone, text, amount)
    without_phone: list[tuple[str, str, str, Decimal]] = field(default_factory=list)  # (member id, name, unit, amount)

    @property
    def total(self) -> Decimal:
        return sum((m[3] for m in self.sent), ZERO) + sum((m[3] for m in self.without_phone), ZERO)


def message(signature: str, name: str, amount: Decimal, tail: str) -> str:
    for form in FORMS:
        text = form.format(sig=signature, name=name, amount=f"{amount:,.2f}", tail=tail)
        if len(text) <= LIMIT:
            return text
    raise Refusal("SMS_TOO_LONG", f"给 {name} 的短信超过 {LIMIT} 字，请在设置文件 sms.signature 中用更短的签名")


def build_messages(session: Session, batch_id: int, user: str, signature: str | None) -> Messages:
    data = payout_data(session, batch_id, user, ("paid",))
    if not data.claims:
        raise Refusal("NOTHING_ARRIVED", f"批次 {batch_id} 还没有已到账（已支付）的补助，无短信可发")
    signature = signature or data.policy.scheme.issuer
    tails: dict[str, str] = {}
    for transfer in session.scalars(select(BankTransfer).where(BankTransfer.batch_id == batch_id,
                                                               BankTransfer.status == "succeeded")
                                    .order_by(BankTransfer.id)):
        tails[transfer.member_id] = transfer.account[-4:]
    amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    members = {}
    for claim in data.claims:
        if claim.total > 0:
            amounts[claim.member.member_id] += claim.total
            members[claim.member.member_id] = claim.member
    out = Messages()
    for member_id, amount in amounts.items():
        member = members[member_id]
        phone = "".join(str(member.phone or "").split())
        if not phone:
            out.without_phone.append((member_id, member.name, member.unit, amount))
            continue
        tail = tails.get(member_id) or "".join(member.bank_account.split())[-4:]
        out.sent.append((member_id, phone, message(signature, member.name, amount, tail), amount))
    return out


def write_sms(messages: Messages, out: Path) -> Path | None:
    """The SMS file (手机号, 短信内容, 字数, 会员编号) and, when some have no phone, a second file beside it."""
    with atomic_output(out) as temporary, temporary.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(["手机号", "短信内容", "字数", "会员编号"])
        for member_id, phone, text, _ in messages.sent:
            writer.writerow([csv_text(phone), csv_text(text), len(text), csv_text(member_id)])
    if not messages.without_phone:
        return None
    apart = out.with_name(f"{out.stem}-无手机号{out.suffix or '.csv'}")
    with atomic_output(apart) as temporary, temporary.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(["会员编号", "姓名", "单位", "到账金额（元）"])
        for member_id, name, unit, amount in messages.without_phone:
            writer.writerow([csv_text(member_id), csv_text(name), csv_text(unit), f"{amount:.2f}"])
    return apart


