"""What the web workbench and review pages read: a batch's claims one page at a time — filtered, counted,
sampled and paged in the database, so a 100,000-claim batch costs a page of rows — and what waits for whom.

Members appear masked here (name's first character, member number); the claim's own page shows more and
records the view (claims/workflow/views.py)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from claims.engine.explain import level_name
from claims.engine.reasons import Reason
from claims.money import from_fen, to_fen
from claims.settings import DEFAULT_FLAGS, flag_name
from claims.store.models import Batch, ClaimRow, ExportRecord, ImportRecord, MemberRow, ResultLineRow
from claims.workflow.batches import get_batch
from claims.workflow.decisions import state_name
from claims.workflow.errors import Refusal
from claims.workflow.users import require, roles_of
from claims.workflow.views import BATCH_KINDS, BATCH_STATES

PAGE_SIZE = 50
SAMPLE_MAX_PERCENT = 100


def _yuan(fen: int) -> str:
    return f"{from_fen(fen):,.2f}"


def mask_name(name: str) -> str:
    """张三丰 → 张**: enough to recognise a row, not to identify a person from a list."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


@dataclass(frozen=True)
class Filters:
    """What a queue shows: ``waiting`` only the claims still to decide (已计算, 会审待复核 included); lines
    with any of ``reasons``; ``flagged``: any of the settings' review flags (逾期、发票重复、封顶…); the member's ``unit``; a total ≥ ``min_amount``;
    ``sample`` percent of what matches, drawn with ``seed`` (same seed, same claims)."""

    waiting: bool = False
    reasons: tuple[str, ...] = ()
    flagged: bool = False
    unit: str = ""
    min_amount: Decimal | None = None
    sample: int = 0
    seed: int | None = None
    page: int = 1


@dataclass
class QueueRow:
    claim_id: str
    member_id: str
    name: str  # masked
    unit: str
    state: str  # as read (会审待复核 included)
    amount: str
    flags: list[str]
    first_approver: str | None


@dataclass
class QueuePage:
    batch: dict
    rows: list[QueueRow]
    matched: int  # claims matching the filters (before the sample)
    shown: int  # claims in the listing (the sample's size when sampling)
    page: int
    pages: int
    seed: int | None
    reasons: list[tuple[str, str]]  # (code, Chinese name) of every reason a line can carry
    units: list[str]
    four_eyes: str = ""  # why this user may not approve this batch's claims ("" when they may)
    states: dict[str, int] = field(default_factory=dict)


def batch_info(session: Session, batch: Batch) -> dict:
    return {"id": batch.id, "name": batch.name, "period": batch.period, "kind": BATCH_KINDS.get(batch.kind, batch.kind),
            "state": BATCH_STATES.get(batch.state, batch.state), "claims": batch.claim_count,
            "total": _yuan(batch.total_fen), "created_by": batch.created_by, "regular": batch.kind == "regular"}


def four_eyes_reason(session: Session, user: str, batch: Batch) -> str:
    """Why ``user`` may not approve claims of ``batch`` (the rule ``decide`` enforces), or ""."""
    if user == batch.created_by:
        return f"您（{user}）创建了本批次，不能审核通过其中的申请（四眼原则：须由另一位审核员审核）。"
    imported = session.scalar(select(func.count()).select_from(ClaimRow).join(
        ImportRecord, ImportRecord.id == ClaimRow.import_id).where(ClaimRow.batch_id == batch.id,
                                                                   ImportRecord.imported_by == user))
    if imported:
        return f"您（{user}）导入了本批次的 {imported} 件申请，不能审核通过这些申请（四眼原则：须由另一位审核员审核）。"
    return ""


def _amount_of():
    return (select(func.coalesce(func.sum(ResultLineRow.amount_fen), 0))
            .where(ResultLineRow.claim_id == ClaimRow.claim_id, ResultLineRow.current.is_(True))
            .correlate(ClaimRow).scalar_subquery())


def _conditions(batch_id: int, filters: Filters) -> list:
    where = [ClaimRow.batch_id == batch_id]
    if filters.waiting:
        where.append(ClaimRow.state == "calculated")
    if filters.reasons or filters.flagged:
        line = and_(ResultLineRow.claim_id == ClaimRow.claim_id, ResultLineRow.current.is_(True),
                    ResultLineRow.reason.in_(filters.reasons or DEFAULT_FLAGS))
        where.append(exists().where(line))
    if filters.unit:
        where.append(ClaimRow.member_id.in_(select(MemberRow.member_id).where(MemberRow.unit == filters.unit)))
    if filters.min_amount is not None and filters.min_amount > 0:
        # a sum per claim through the (claim_id, current) index: predictable on PostgreSQL even before it has
        # statistics (a grouped pass over the batch's lines once took minutes on a fresh table)
        where.append(_amount_of() >= to_fen(filters.min_amount))
    return where


def batch_queue(session: Session, user: str, batch_id: int, filters: Filters) -> QueuePage:
    """One page of a batch's claims as ``filters`` ask (paged with LIMIT/OFFSET, or a seeded sample)."""
    require(session, user, "read")
    batch = get_batch(session, batch_id)
    if filters.sample and not 0 < filters.sample <= SAMPLE_MAX_PERCENT:
        raise Refusal("SAMPLE_PERCENT", f"抽样比例应为 1 到 {SAMPLE_MAX_PERCENT} 之间的整数（百分比）")
    where = _conditions(batch_id, filters)
    ordered = select(ClaimRow.claim_id).where(*where).order_by(ClaimRow.claim_id)
    seed = filters.seed
    if filters.sample:
        matching = list(session.scalars(ordered))
        matched = len(matching)
        seed = seed if seed is not None else random.SystemRandom().randrange(1, 1_000_000)
        drawn = sorted(random.Random(seed).sample(matching, math.ceil(matched * filters.sample / 100)))
        shown = len(drawn)
        pages = max(1, math.ceil(shown / PAGE_SIZE))
        page = min(max(filters.page, 1), pages)
        ids = drawn[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    else:
        matched = shown = session.scalar(select(func.count()).select_from(ClaimRow).where(*where))
        pages = max(1, math.ceil(shown / PAGE_SIZE))
        page = min(max(filters.page, 1), pages)
        ids = list(session.scalars(ordered.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    rows = _rows(session, ids)
    # the choices come from the vocabulary and the member list, not from scanning the batch's lines
    units = list(session.scalars(select(MemberRow.unit).distinct().order_by(MemberRow.unit)))
    states = {state_name(s, d): n for s, d, n in session.execute(
        select(ClaimRow.state, ClaimRow.decided_by.is_not(None), func.count()).where(ClaimRow.batch_id == batch_id)
        .group_by(ClaimRow.state, ClaimRow.decided_by.is_not(None)))}
    return QueuePage(batch_info(session, batch), rows, matched, shown, page, pages, seed,
                     [(reason.value, flag_name(reason.value)) for reason in Reason], units,
                     four_eyes_reason(session, user, batch), states)


def _reason_name(code: str) -> str:
    """The short name a reviewer scans a list by (the line's page has the full sentence)."""
    return flag_name(code)


def _rows(session: Session, ids: list[str]) -> list[QueueRow]:
    """The listed claims (a page: at most PAGE_SIZE ids), their members and current lines, in three queries."""
    if not ids:
        return []
    claims = {c.claim_id: c for c in session.execute(
        select(ClaimRow.claim_id, ClaimRow.member_id, ClaimRow.state, ClaimRow.decided_by)
        .where(ClaimRow.claim_id.in_(ids)))}
    members = {m.member_id: m for m in session.execute(
        select(MemberRow.member_id, MemberRow.name, MemberRow.unit)
        .where(MemberRow.member_id.in_({c.member_id for c in claims.values()})))}
    amounts: dict[str, int] = {claim_id: 0 for claim_id in ids}
    flags: dict[str, list[str]] = {claim_id: [] for claim_id in ids}
    for line in session.execute(select(ResultLineRow.claim_id, ResultLineRow.amount_fen, ResultLineRow.reason)
                                .where(ResultLineRow.claim_id.in_(ids), ResultLineRow.current.is_(True))):
        amounts[line.claim_id] += line.amount_fen
        if line.reason and _reason_name(line.reason) not in flags[line.claim_id]:
            flags[line.claim_id].append(_reason_name(line.reason))
    out = []
    for claim_id in ids:
        claim = claims[claim_id]
        member = members[claim.member_id]
        first = claim.decided_by if claim.state == "calculated" else None
        out.append(QueueRow(claim_id, claim.member_id, mask_name(member.name), member.unit,
                            state_name(claim.state, claim.decided_by), _yuan(amounts[claim_id]), flags[claim_id], first))
    return out


def batch_list(session: Session, user: str, page: int = 1) -> tuple[list[dict], int, int]:
    """Batches newest first, a page at a time; returns (batches, page, pages)."""
    require(session, user, "read")
    count = session.scalar(select(func.count()).select_from(Batch))
    pages = max(1, math.ceil(count / PAGE_SIZE))
    page = min(max(page, 1), pages)
    batches = session.scalars(select(Batch).order_by(Batch.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    return [batch_info(session, b) for b in batches], page, pages


@dataclass
class Waiting:
    """The workbench: batches by state, and what waits for this user's roles (counts, with where to go)."""

    by_state: list[tuple[str, int, int, str]]  # (state, batches, claims, total)
    to_decide: list[tuple[int, str, int]] = field(default_factory=list)  # (batch, name, claims I may decide)
    second_review: list[tuple[str, str, int]] = field(default_factory=list)  # (claim, first approver, batch)
    returned: int | None = None
    to_export: list[tuple[int, str, int]] = field(default_factory=list)  # (batch, name, approved claims)
    roles: set[str] = field(default_factory=set)


def waiting_for(session: Session, user: str) -> Waiting:
    me = require(session, user, "read")
    roles = roles_of(me)
    by_state = [(BATCH_STATES.get(state, state), n, claims, _yuan(total or 0)) for state, n, claims, total in session.execute(
        select(Batch.state, func.count(), func.sum(Batch.claim_count), func.sum(Batch.total_fen))
        .group_by(Batch.state).order_by(Batch.state))]
    out = Waiting(by_state, roles=roles)
    if "reviewer" in roles:
        # claims I may still decide: not in a batch I created, nor a 会审 I gave the first approval of
        out.to_decide = [(b, name, n) for b, name, n in session.execute(
            select(Batch.id, Batch.name, func.count()).join(ClaimRow, ClaimRow.batch_id == Batch.id)
            .where(ClaimRow.state == "calculated", ClaimRow.decided_by.is_(None), Batch.created_by != user)
            .group_by(Batch.id, Batch.name).order_by(Batch.id))]
        out.second_review = [(c, first, b) for c, first, b in session.execute(
            select(ClaimRow.claim_id, ClaimRow.decided_by, ClaimRow.batch_id)
            .where(ClaimRow.state == "calculated", ClaimRow.decided_by.is_not(None), ClaimRow.decided_by != user)
            .order_by(ClaimRow.claim_id).limit(PAGE_SIZE))]
    if "clerk" in roles:
        out.returned = session.scalar(select(func.count()).select_from(ClaimRow).where(ClaimRow.state == "returned"))
    if "finance" in roles:
        exported = select(ExportRecord.batch_id).where(ExportRecord.kind == "payouts")
        out.to_export = [(b, name, n) for b, name, n in session.execute(
            select(Batch.id, Batch.name, func.count()).join(ClaimRow, ClaimRow.batch_id == Batch.id)
            .where(ClaimRow.state == "approved", Batch.id.not_in(exported))
            .group_by(Batch.id, Batch.name).order_by(Batch.id))]
    return out


def claim_detail(session: Session, user: str, claim_id: str) -> dict:
    """A claim's page: the member (masked), the event, every current line explained (caps remaining
    included), the member's other claims period by period, and who may decide it and why not. The view is
    recorded (it shows the member's diagnoses)."""
    from claims.policy.schema import EVENT_TYPE_NAMES
    from claims.settings import second_review_above
    from claims.workflow.access import masked_member
    from claims.workflow.views import claim_explained

    text, lines = claim_explained(session, user, claim_id, "page.claim")  # refuses unknown claims and other roles
    me = require(session, user, "read")
    claim = session.get(ClaimRow, claim_id)
    amount_fen = sum(line["amount_fen"] for line in lines)
    history = []
    for other, state, decided_by, discharged in session.execute(
            select(ClaimRow.claim_id, ClaimRow.state, ClaimRow.decided_by, ClaimRow.discharge_date)
            .where(ClaimRow.member_id == claim.member_id).order_by(ClaimRow.discharge_date, ClaimRow.claim_id)):
        periods = sorted(set(session.scalars(select(ResultLineRow.period).where(
            ResultLineRow.claim_id == other, ResultLineRow.current.is_(True)))))
        paid = session.scalar(select(func.coalesce(func.sum(ResultLineRow.amount_fen), 0)).where(
            ResultLineRow.claim_id == other, ResultLineRow.current.is_(True)))
        history.append({"claim_id": other, "this": other == claim_id, "state": state_name(state, decided_by),
                        "discharged": discharged.isoformat(), "period": "、".join(map(str, periods)) or "—",
                        "amount": _yuan(paid)})
    batch = get_batch(session, claim.batch_id) if claim.batch_id else None
    importer = session.get(ImportRecord, claim.import_id).imported_by
    four_eyes = ""
    if batch is not None and user == batch.created_by:
        four_eyes = f"您（{user}）创建了批次 {batch.id}，不能审核通过其中的申请（四眼原则：须由另一位审核员审核）。"
    elif user == importer:
        four_eyes = f"您（{user}）导入了这件申请，不能审核通过（四眼原则：须由另一位审核员审核）。"
    threshold, _ = second_review_above()
    first = claim.decided_by if claim.state == "calculated" else None
    return {
        "claim_id": claim_id, "version": claim.version, "text": text, "member": masked_member(session, claim_id),
        "member_id": claim.member_id, "state": state_name(claim.state, claim.decided_by), "waiting": claim.state == "calculated",
        "event": {"type": EVENT_TYPE_NAMES.get(claim.event_type, claim.event_type),
                  "admitted": claim.admission_date.isoformat(), "discharged": claim.discharge_date.isoformat(),
                  "hospital_level": level_name(claim.hospital_level), "diagnoses": claim.diagnoses,
                  "total_cost": _yuan(claim.total_cost_fen), "insurance_paid": _yuan(claim.insurance_paid_fen),
                  "in_scope": _yuan(claim.self_pay_in_scope_fen), "out_of_scope": _yuan(claim.self_pay_out_of_scope_fen),
                  "submitted": claim.submitted_date.isoformat(), "invoice": claim.invoice_no},
        "lines": lines, "amount": _yuan(amount_fen), "history": history,
        "batch": batch_info(session, batch) if batch else None, "importer": importer,
        "note": claim.decision_note if claim.state != "calculated" or not first else "",
        "decided_by": claim.decided_by if claim.state != "calculated" else None,
        "may_decide": "reviewer" in roles_of(me) and claim.state == "calculated",
        "four_eyes": four_eyes,
        "threshold": None if threshold is None else f"{threshold:,.2f}",
        "second_review": threshold is not None and from_fen(amount_fen) > threshold,
        "first_approver": first, "first_note": claim.decision_note if first else "",
        "mine_first": first == user,
    }
