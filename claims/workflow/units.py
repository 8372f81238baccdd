"""A base-union agent's scope (基层工会代办员): their own unit's rows in, their own unit's claims out.

An agent (role ``agent``) is bound to one unit (``users.unit``, written exactly as the members file's 单位
column). Every import by an agent — web page or ``claims import`` — passes ``scope_problems`` inside the
import workflow: a row of another unit is refused, located at its row and column, and nothing of the
file is imported. What the database holds about other units never appears in these messages: a member or
claim number used by another unit is answered the same way as one that does not exist, or, where the key
is taken, without saying by whom or in what state.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claims.intake.lenient import key_text
from claims.intake.rows import ParsedTable
from claims.problems import Problem
from claims.store.models import ClaimRow, MemberRow, ResultLineRow, User
from claims.workflow.access import record_access
from claims.workflow.decisions import STATE_NAMES
from claims.workflow.users import require, roles_of

KIND_WORDS = {"members": "会员", "enrollments": "参保记录", "claims": "申请"}


def agent_unit(session: Session, user_name: str | None) -> str | None:
    """The unit ``user_name`` is bound to when they act as an agent; None for every other user."""
    user = session.get(User, user_name) if user_name else None
    if user is None or "agent" not in roles_of(user):
        return None
    return user.unit


def unit_member_ids(session: Session, unit: str) -> set[str]:
    return set(session.scalars(select(MemberRow.member_id).where(MemberRow.unit == unit)))


def _value(table: ParsedTable, number: int, cells: list, field: str, records: dict) -> str | None:
    """A row's value of ``field``: from its record when the row parsed, else the cell as submitted."""
    if number in records:
        return str(getattr(records[number], field))
    position = table.header_index.get(field)
    if position is None or position >= len(cells) or cells[position] is None:
        return None
    return key_text(cells[position]) if field != "unit" else str(cells[position]).strip()


def scope_problems(session: Session, kind: str, table: ParsedTable, unit: str) -> list[Problem]:
    """Every row of ``table`` that reaches outside ``unit``, located (row, column, value, what to do)."""
    records = {p.row: p.record for p in table.rows}
    own = unit_member_ids(session, unit)
    problems: list[Problem] = []
    if kind == "members":
        stored_elsewhere = set(session.scalars(select(MemberRow.member_id).where(
            MemberRow.unit != unit, MemberRow.member_id.in_(table.keys("member_id")))))
    elif kind == "claims":
        taken = set(session.scalars(select(ClaimRow.claim_id).where(
            ClaimRow.claim_id.in_(table.keys("claim_id")), ClaimRow.member_id.not_in(select(MemberRow.member_id).where(
                MemberRow.unit == unit)))))
    for number, cells in table.raw_rows:
        member_id = _value(table, number, cells, "member_id", records)
        if kind == "members":
            written = _value(table, number, cells, "unit", records)
            if written is not None and written != unit:
                problems.append(Problem(
                    "AGENT_OTHER_UNIT",
                    f"单位“{written}”不是您的单位“{unit}”：代办员只能导入本单位的会员；请删去这一行，"
                    "或交由该单位的代办员或服务中心经办员导入", *table.where(number, "unit")))
            elif member_id in stored_elsewhere:
                problems.append(Problem(
                    "AGENT_MEMBER_ID_TAKEN",
                    f"会员编号“{member_id}”已被其他单位使用：请核对会员编号；如确属本单位的会员，请联系服务中心经办员",
                    *table.where(number, "member_id")))
            continue
        if member_id is not None and member_id not in own:
            problems.append(Problem(
                "AGENT_OTHER_UNIT",
                f"会员编号“{member_id}”不在本单位（{unit}）的会员名单中：代办员只能导入本单位会员的{KIND_WORDS[kind]}；"
                "请核对会员编号，新会员请先导入会员名单，其他单位的行请删去或交由服务中心经办员导入",
                *table.where(number, "member_id")))
        elif kind == "claims":
            claim_id = _value(table, number, cells, "claim_id", records)
            if claim_id in taken:
                problems.append(Problem(
                    "AGENT_CLAIM_ID_TAKEN",
                    f"申请编号“{claim_id}”已被其他单位使用：请换用本单位的申请编号，或联系服务中心经办员",
                    *table.where(number, "claim_id")))
    return problems


def owns_claim(session: Session, unit: str, claim: ClaimRow) -> bool:
    member = session.get(MemberRow, claim.member_id)
    return member is not None and member.unit == unit


@dataclass(frozen=True)
class UnitClaim:
    claim_id: str
    member_name: str
    state: str  # in Chinese
    proposed: int | None  # fen; None: not calculated yet
    approved: int | None  # fen; the amount approved or paid, else None


@dataclass(frozen=True)
class UnitPage:
    unit: str
    claims: list[UnitClaim]
    total: int  # claims of the unit (all pages)
    by_state: dict[str, int]  # Chinese state → count
    page: int
    pages: int


PER_PAGE = 100
APPROVED = ("approved", "paid")


def unit_claims(session: Session, user: str, page: int = 1, per_page: int = PER_PAGE) -> UnitPage:
    """The status of the agent's unit's claims, one page of ``per_page`` (by claim id); the members shown
    are recorded as viewed (their names next to the amounts)."""
    require(session, user, "unit_status")
    unit = agent_unit(session, user)
    of_unit = select(MemberRow.member_id).where(MemberRow.unit == unit)
    counts = dict(session.execute(select(ClaimRow.state, func.count()).where(ClaimRow.member_id.in_(of_unit))
                                  .group_by(ClaimRow.state)).all())
    total = sum(counts.values())
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(select(ClaimRow.claim_id, ClaimRow.state, ClaimRow.member_id, MemberRow.name)
                           .join(MemberRow, MemberRow.member_id == ClaimRow.member_id)
                           .where(MemberRow.unit == unit).order_by(ClaimRow.claim_id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    ids = [r.claim_id for r in rows]
    amounts = dict(session.execute(select(ResultLineRow.claim_id, func.sum(ResultLineRow.amount_fen))
                                   .where(ResultLineRow.claim_id.in_(ids), ResultLineRow.current.is_(True))
                                   .group_by(ResultLineRow.claim_id)).all()) if ids else {}
    record_access(session, user, [r.member_id for r in rows], "page.unit", f"本单位申请第 {page} 页")
    claims = []
    for r in rows:
        proposed = amounts.get(r.claim_id)
        proposed = int(proposed) if proposed is not None else None
        claims.append(UnitClaim(r.claim_id, r.name, STATE_NAMES.get(r.state, r.state), proposed,
                                proposed if r.state in APPROVED else None))
    by_state = {STATE_NAMES.get(s, s): n for s, n in sorted(counts.items())}
    return UnitPage(unit or "", claims, total, by_state, page, pages)


def importer_scope(session: Session, user: str) -> str | None:
    """Refuses unless ``user`` may import; their unit when they are an agent (None: any unit)."""
    require(session, user, "import")
    return agent_unit(session, user)
