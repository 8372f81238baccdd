"""A member looks up their own claims without an account (/lookup): ID number + claim number + the last four
digits of the phone registered in the member list (成员名单的“手机号”列, ``claims import members``).

- Neutral: a mismatch says one thing, whatever was wrong (no such claim, another member's claim, wrong ID
  number, wrong phone, no phone registered) — nobody learns which ID numbers or claim numbers exist.
- Rate-limited per client address and per ID number typed: ``TRIES`` tries in ``WINDOW``, counted in the
  database (table ``lookup_attempts``), so the limit holds across server workers and restarts. Addresses
  and ID numbers are kept only as SHA-256 and only for the window.
- Every successful lookup is recorded in the access log as ``会员本人查询``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from claims.money import from_fen
from claims.store.models import ClaimRow, LookupAttempt, MemberRow, ResultLineRow
from claims.workflow.access import mask_id_number, record_access
from claims.workflow.decisions import STATE_NAMES
from claims.workflow.errors import Refusal

TRIES = 5
WINDOW = timedelta(minutes=15)
WHO = "会员本人查询"  # the access log's "who" for a member's own lookup

NO_MATCH = Refusal("LOOKUP_NO_MATCH", "没有查到相符的申请。请核对身份证号、申请编号和手机号后四位；"
                                      "多次查不到请联系所在单位的基层工会。")
LIMITED = Refusal("LOOKUP_LIMITED", f"查询次数过多：同一台电脑或同一身份证号 {WINDOW.seconds // 60} 分钟内最多查询 "
                                    f"{TRIES} 次，请稍后再试。")


@dataclass
class LookupClaim:
    claim_id: str
    state: str
    amount: str  # yuan, two decimals
    explanation: list[str]


@dataclass
class LookupOutcome:
    refusal: Refusal | None = None
    name: str = ""
    id_number: str = ""  # masked
    unit: str = ""
    claims: list[LookupClaim] = field(default_factory=list)


def _sha(text: str) -> str:
    return hashlib.sha256(f"lookup|{text}".encode()).hexdigest()


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def member_lookup(session: Session, id_number: str, claim_id: str, phone_last4: str, client: str,
                  now: datetime) -> LookupOutcome:
    """The member's claims when all three fields belong together, else a neutral refusal — as a value, so the
    try is committed and counts towards the limit."""
    id_number, claim_id, phone_last4 = id_number.strip().upper(), claim_id.strip(), _digits(phone_last4)
    client_key, id_key = _sha(client), _sha(id_number)
    since = now - WINDOW
    session.execute(delete(LookupAttempt).where(LookupAttempt.at <= since))
    per_client, per_id = session.execute(select(
        func.count().filter(LookupAttempt.client_sha256 == client_key),
        func.count().filter(LookupAttempt.id_number_sha256 == id_key),
    ).where(LookupAttempt.at > since, or_(LookupAttempt.client_sha256 == client_key,
                                           LookupAttempt.id_number_sha256 == id_key))).one()
    if per_client >= TRIES or per_id >= TRIES:
        return LookupOutcome(LIMITED)
    member = _member_of(session, id_number, claim_id, phone_last4)
    session.add(LookupAttempt(at=now, client_sha256=client_key, id_number_sha256=id_key, matched=member is not None))
    if member is None:
        return LookupOutcome(NO_MATCH)
    from claims.workflow.views import explanation_parts

    outcome = LookupOutcome(name=member.name, id_number=mask_id_number(member.id_number), unit=member.unit)
    totals = dict(session.execute(
        select(ResultLineRow.claim_id, func.sum(ResultLineRow.amount_fen))
        .join(ClaimRow, ClaimRow.claim_id == ResultLineRow.claim_id)
        .where(ClaimRow.member_id == member.member_id, ResultLineRow.current.is_(True))
        .group_by(ResultLineRow.claim_id)).all())
    for claim in session.scalars(select(ClaimRow).where(ClaimRow.member_id == member.member_id)
                                 .order_by(ClaimRow.discharge_date, ClaimRow.claim_id)):
        amount = f"{from_fen(totals[claim.claim_id]):,.2f}" if claim.claim_id in totals else "—"
        outcome.claims.append(LookupClaim(claim.claim_id, STATE_NAMES.get(claim.state, claim.state), amount,
                                          explanation_parts(session, claim, for_member=True)[0]))
    record_access(session, WHO, [member.member_id], "lookup", f"申请 {claim_id}", now)
    return outcome


def _member_of(session: Session, id_number: str, claim_id: str, phone_last4: str) -> MemberRow | None:
    """The claim's member when the ID number and the phone's last four digits are theirs. Every field is
    compared whatever the others gave, in constant time, so which one was wrong does not show."""
    claim = session.get(ClaimRow, claim_id) if 0 < len(claim_id) <= 40 else None
    member = session.get(MemberRow, claim.member_id) if claim is not None else None
    known_id = member.id_number.strip().upper() if member is not None else ""
    phone = _digits(member.phone) if member is not None else ""
    id_ok = hmac.compare_digest(known_id.encode(), id_number.encode())
    phone_ok = hmac.compare_digest(phone[-4:].encode(), phone_last4.encode())
    found = member is not None and len(phone) >= 4 and len(phone_last4) == 4 and bool(known_id)
    return member if found and id_ok and phone_ok else None
