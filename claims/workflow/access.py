"""Who looked at whose personal data (PIPL: health and bank data are sensitive).

Every view of a member's personal data by staff — the CLI's ``explain``, the review sheet and every
export, the web pages — adds one row per member: who, whom, when, what. Auditors list them with
``claims audit access``. ID numbers and bank accounts are masked wherever the role does not need them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.store.bulk import insert_rows
from claims.store.models import AccessRecord
from claims.workflow import audit_log
from claims.workflow.users import require

WHAT = {
    "explain": "查看申请说明（claims explain）",
    "page.claim": "网页查看申请说明",
    "page.unit": "代办员网页查看本单位申请状态",
    "review.export": "导出审核表",
    "export.payouts": "导出发放表",
    "export.bank": "导出银行转账文件",
    "export.letters": "导出补助通知书",
    "audit.bundle": "导出复算包（含会员资料）",
    "lookup": "会员本人网上查询自己的申请",
}


def record_access(session: Session, user: str, member_ids: Iterable[str], what: str, detail: str = "",
                  now: datetime | None = None) -> int:
    """One row per member viewed (a batch export records every member in it); returns how many."""
    at = now or audit_log.now()
    rows = [{"at": at, "user_name": user, "member_id": member_id, "what": what, "detail": detail[:200]}
            for member_id in dict.fromkeys(member_ids)]
    if rows:
        insert_rows(session, AccessRecord.__table__, rows)
    return len(rows)


def access_records(session: Session, user: str, member_id: str | None = None,
                   newest: int | None = None) -> list[AccessRecord]:
    """Oldest first; ``newest``: only that many of the latest, newest first."""
    require(session, user, "audit_access")
    query = select(AccessRecord).order_by(AccessRecord.at, AccessRecord.id)
    if newest is not None:
        query = select(AccessRecord).order_by(AccessRecord.at.desc(), AccessRecord.id.desc()).limit(newest)
    if member_id:
        query = query.where(AccessRecord.member_id == member_id)
    return list(session.scalars(query))


def access_count(session: Session, member_id: str | None = None) -> int:
    query = select(func.count()).select_from(AccessRecord)
    if member_id:
        query = query.where(AccessRecord.member_id == member_id)
    return session.scalar(query)


def access_rows(records: list[AccessRecord]) -> list[tuple[str, ...]]:
    """(time in Beijing, who, whom, what, detail) for printing."""
    return [(f"{r.at + timedelta(hours=8):%Y-%m-%d %H:%M:%S}", r.user_name, r.member_id, WHAT.get(r.what, r.what),
             r.detail) for r in records]


def mask_id_number(id_number: str) -> str:
    """110101199003071234 → 110101********1234: region and check digits only."""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_account(account: str) -> str:
    """Only the last four digits, as banks print them."""
    return "*" * max(len(account) - 4, 0) + account[-4:] if account else ""


def masked_member(session: Session, claim_id: str) -> dict[str, str]:
    """The member of a claim as a page shows them: name and unit, ID number and account masked."""
    from claims.store.models import ClaimRow, MemberRow

    member = session.get(MemberRow, session.get(ClaimRow, claim_id).member_id)
    return {"name": member.name, "unit": member.unit, "id_number": mask_id_number(member.id_number),
            "bank_account": mask_account(member.bank_account)}
