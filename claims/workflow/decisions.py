"""Review decisions on calculated claims: approve (通过), return for documents (退回), refuse (不予补助).

会审 (two reviewers): a claim whose total is above the settings' ``review.second_reviewer_above`` is
approved only by a second, different reviewer. The first approval keeps the claim 已计算 and records its
reviewer in ``decided_by`` with a 会审待复核 note — so on a calculated claim ``decided_by`` means "first
approval given" (a recalculation or a resubmission clears it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from claims.store.models import Batch, ClaimRow, ImportRecord, ResultLineRow
from claims.workflow import audit_log, digests
from claims.workflow.errors import Refusal
from claims.workflow.ledger import bump, end_lines, keys_of_claims, lock, new_event, stale_lines
from claims.workflow.users import require

DECISIONS = {"approve": "approved", "return": "returned", "refuse": "refused"}
DECISION_NAMES = {"approve": "通过", "return": "退回", "refuse": "不予补助",
                  "approve_first": "会审第一次通过（须另一位审核员复核）"}
STATE_NAMES = {"received": "已受理", "calculated": "已计算", "approved": "已通过", "returned": "已退回",
               "refused": "不予补助", "paid": "已支付", "withdrawn": "已撤回（医保冲销）",
               "reversed": "已冲销（待追回）"}


def decide(session: Session, claim_id: str, decision: str, user: str, note: str = "",
           expected_version: int | None = None) -> ClaimRow:
    """Record one decision. ``expected_version``: the version the reviewer saw; a claim changed since
    (by a concurrent decision) is refused rather than overwritten."""
    require(session, user, "decide")
    audit_log.reserve(session)  # before the claim row: one lock order for every deciding transaction
    claim = session.get(ClaimRow, claim_id)
    if claim is None:
        raise Refusal("CLAIM_UNKNOWN", f"申请 {claim_id} 不存在")
    if expected_version is not None and claim.version != expected_version:
        raise Refusal("CLAIM_CHANGED", f"申请 {claim_id} 在您查看（或导出审核表）之后已被处理过，本次决定未生效；请刷新页面或重新导出审核表")
    if claim.state != "calculated":
        raise Refusal("CLAIM_STATE", f"申请 {claim_id} 的状态是“{STATE_NAMES[claim.state]}”，只有“已计算”的申请可以审核")
    if decision == "approve":
        creator = session.scalar(select(Batch.created_by).where(Batch.id == claim.batch_id))
        importer = session.scalar(select(ImportRecord.imported_by).where(ImportRecord.id == claim.import_id))
        if user in (importer, creator):
            raise Refusal("FOUR_EYES", f"{user} 导入了该申请或创建了批次 {claim.batch_id}，不能审核通过（须由另一人审核）")
    first_approver = claim.decided_by  # on a calculated claim: the first approval of a 会审
    if decision == "approve" and first_approver == user:
        raise Refusal("SECOND_REVIEWER", f"申请 {claim_id} 已由您第一次审核通过（会审待复核），须由另一位审核员复核通过")
    if decision == "refuse" and not note.strip():
        raise Refusal("NOTE_REQUIRED", "不予补助须在备注中写明理由")
    keys = keys_of_claims(session, [claim_id])
    lock(session, keys)
    if decision == "approve" and stale_lines(session, claim_id):
        raise Refusal("LEDGER_STALE", f"申请 {claim_id} 计算时所依据的会员台账已经变动（有更早的申请被退回、不予补助或更正），"
                                      "本次通过未生效；请退回该申请并重新提交、重新计算后再审核")
    lines = [digests.line_tuple(row) for row in session.scalars(
        select(ResultLineRow).where(ResultLineRow.claim_id == claim_id, ResultLineRow.current.is_(True))
        .order_by(ResultLineRow.batch_id, ResultLineRow.position))]
    amount_fen = sum(line[3] for line in lines)
    if decision == "approve" and first_approver is None and needs_second_reviewer(amount_fen):
        return _first_approval(session, claim, user, note, amount_fen, digests.results_sha(lines))
    claim.state = DECISIONS[decision]
    claim.decided_by, claim.decision_note = user, note
    try:
        session.flush()
    except StaleDataError:
        raise Refusal("CLAIM_CHANGED", f"申请 {claim_id} 已被他人同时处理，本次决定未生效，请刷新后重试") from None
    audit_log.append(session, user, f"claim.{decision}", "claim", claim_id,
                     {"state": claim.state, "batch_id": claim.batch_id, "version": claim.version,
                      "amount_fen": amount_fen, "results_sha256": digests.results_sha(lines),
                      **({"first_approval_by": first_approver} if first_approver and decision == "approve" else {})},
                     note)
    if decision in ("return", "refuse"):
        from claims.workflow.reevaluate import after_lines_ended

        end_lines(session, [claim_id], new_event(session, f"claim.{decision}", claim_id, user))
        bump(session, keys)
        after_lines_ended(session, claim, keys, user, DECISION_NAMES[decision])
    return claim


SECOND_REVIEW_NOTE = "会审待复核"


def needs_second_reviewer(amount_fen: int) -> bool:
    from claims.money import from_fen
    from claims.settings import second_review_above

    threshold, _ = second_review_above()
    return threshold is not None and from_fen(amount_fen) > threshold


def _first_approval(session: Session, claim: ClaimRow, user: str, note: str, amount_fen: int, results_sha: str) -> ClaimRow:
    """The first of two approvals: the claim stays 已计算, its version moves (a sheet or page showing the
    old version can no longer decide it) and the audit log records who gave it."""
    from claims.money import from_fen
    from claims.settings import second_review_above

    threshold, _ = second_review_above()
    claim.decided_by = user
    claim.decision_note = (f"{SECOND_REVIEW_NOTE}：{user} 已审核通过（补助 {from_fen(amount_fen):,.2f} 元，超过会审金额 "
                           f"{threshold:,.2f} 元），须另一位审核员复核通过" + (f"；备注：{note}" if note.strip() else ""))
    try:
        session.flush()
    except StaleDataError:
        raise Refusal("CLAIM_CHANGED", f"申请 {claim.claim_id} 已被他人同时处理，本次决定未生效，请刷新后重试") from None
    audit_log.append(session, user, "claim.approve_first", "claim", claim.claim_id,
                     {"state": claim.state, "batch_id": claim.batch_id, "version": claim.version,
                      "amount_fen": amount_fen, "results_sha256": results_sha, "threshold": str(threshold)}, note)
    return claim


def awaiting_second_reviewer(claim: ClaimRow) -> bool:
    return claim.state == "calculated" and claim.decided_by is not None


def state_name(state: str, decided_by: str | None) -> str:
    """A claim's state as users read it: 已计算 with a first approval reads 会审待复核."""
    return SECOND_REVIEW_NOTE if state == "calculated" and decided_by else STATE_NAMES[state]


# ── a review sheet's decisions, in bulk ────────────────────────────────────────────────────────────────

APPROVE_CHUNK = 5000  # claims approved per round of statements (bounded IN lists on SQLite and PostgreSQL)

def apply_decisions(session: Session, decisions: list[tuple[str, str, str, int]], user: str,
                    bulk: bool = True) -> tuple[dict[str, int], list[str]]:
    """Apply a review sheet's decisions — (claim, decision, note, version the reviewer saw) in the sheet's
    order — as ``decide`` one at a time would: the same states, ledger and audit entries, and on a refusal
    the same message for the same (first) claim. Returns (count per decision, claims left undecided because
    a return or refusal earlier in the sheet re-evaluated them: their figures changed under the reviewer).

    ``bulk``: runs of approvals are applied set-based (a few queries and one executemany per 5,000 claims,
    the audit entries appended as one run of the chain); returns and refusals go one at a time, since each
    re-evaluates the member's later claims. ``bulk=False`` is the one-at-a-time reference the tests compare
    it with."""
    require(session, user, "decide")
    counts: dict[str, int] = {}
    recalculated: list[str] = []
    run: list[tuple[str, str, str, int]] = []

    def decide_one(item: tuple[str, str, str, int]) -> None:
        claim_id, decision, note, seen = item
        if _version(session, claim_id) != seen:
            # a return or refusal earlier in this sheet re-evaluated the claim: its figures changed, so the
            # decision taken on the old figures is not applied; it waits, recalculated, for a new sheet
            recalculated.append(claim_id)
            return
        decided = decide(session, claim_id, decision, user, note, expected_version=seen)
        done = "approve_first" if decision == "approve" and decided.state == "calculated" else decision
        counts[done] = counts.get(done, 0) + 1

    def approve_many(items: list[tuple[str, str, str, int]]) -> None:
        for start in range(0, len(items), APPROVE_CHUNK):
            done = _approve_many(session, items[start:start + APPROVE_CHUNK], user, recalculated)
            if done:
                counts["approve"] = counts.get("approve", 0) + done

    def approve_run() -> None:
        # 会审: a claim above the settings' threshold, or one holding a first approval, goes through decide
        # (a first approval, or the second reviewer's), in its place in the sheet; runs of the rest in bulk
        special = _second_review_claims(session, [claim_id for claim_id, *_ in run])
        segment: list[tuple[str, str, str, int]] = []
        for item in run:
            if item[0] not in special:
                segment.append(item)
                continue
            approve_many(segment)
            segment = []
            decide_one(item)
        approve_many(segment)
        run.clear()

    for item in decisions:
        if bulk and item[1] == "approve":
            run.append(item)
            continue
        approve_run()
        decide_one(item)
    approve_run()
    return counts, recalculated


def _second_review_claims(session: Session, claim_ids: list[str]) -> set[str]:
    """Which of these claims a 会审 concerns: holding a first approval, or above the threshold in force."""
    from decimal import ROUND_FLOOR

    from sqlalchemy import func

    from claims.settings import second_review_above

    if not claim_ids:
        return set()
    session.flush()
    threshold, _ = second_review_above()
    limit = None if threshold is None else int((threshold * 100).to_integral_value(rounding=ROUND_FLOOR))
    special: set[str] = set()  # amount_fen > limit ⇔ amount > threshold
    for start in range(0, len(claim_ids), APPROVE_CHUNK):
        chunk = claim_ids[start:start + APPROVE_CHUNK]
        special.update(session.scalars(select(ClaimRow.claim_id).where(
            ClaimRow.claim_id.in_(chunk), ClaimRow.state == "calculated", ClaimRow.decided_by.is_not(None))))
        if limit is not None:
            special.update(session.scalars(select(ResultLineRow.claim_id).where(
                ResultLineRow.claim_id.in_(chunk), ResultLineRow.current.is_(True)).group_by(ResultLineRow.claim_id)
                .having(func.sum(ResultLineRow.amount_fen) > limit)))
    return special


def _version(session: Session, claim_id: str) -> int | None:
    session.flush()
    _forget(session, [claim_id])  # decide reads it next: as the database has it, not as first loaded
    return session.scalar(select(ClaimRow.version).where(ClaimRow.claim_id == claim_id))


def _forget(session: Session, claim_ids: list[str]) -> None:
    """Claims the session had loaded are read again: set-based updates (a re-evaluation, a bulk approval)
    change rows under the session's copies."""
    if len(claim_ids) > len(session.identity_map):  # a bulk run: walk the few loaded objects, not 5,000 keys
        wanted = set(claim_ids)
        for key, loaded in list(session.identity_map.items()):
            if key[0] is ClaimRow and key[1][0] in wanted:
                session.expire(loaded)
        return
    for claim_id in claim_ids:
        loaded = session.identity_map.get(session.identity_key(ClaimRow, claim_id))
        if loaded is not None:
            session.expire(loaded)


def _approve_many(session: Session, run: list[tuple[str, str, str, int]], user: str,
                  recalculated: list[str]) -> int:
    """Approve these claims (at most a few thousand) in a handful of statements; the checks of ``decide``
    for each claim in order, the first claim that fails refused with ``decide``'s own message."""
    from sqlalchemy import bindparam, update

    audit_log.reserve(session)  # the same lock order as decide: the audit head, then the ledger heads
    session.flush()
    ids = [claim_id for claim_id, *_ in run]
    claims = {row.claim_id: row for row in session.execute(
        select(ClaimRow.claim_id, ClaimRow.version, ClaimRow.state, ClaimRow.batch_id, ClaimRow.import_id)
        .where(ClaimRow.claim_id.in_(ids)))}
    importers = dict(session.execute(select(ImportRecord.id, ImportRecord.imported_by).where(
        ImportRecord.id.in_({c.import_id for c in claims.values()}))).all())
    creators = dict(session.execute(select(Batch.id, Batch.created_by).where(
        Batch.id.in_({c.batch_id for c in claims.values() if c.batch_id is not None}))).all())
    todo = []
    for claim_id, _, note, seen in run:
        claim = claims.get(claim_id)
        if claim is not None and claim.version != seen:
            recalculated.append(claim_id)  # re-evaluated by a return or refusal earlier in the sheet
            continue
        if claim is None:
            raise Refusal("CLAIM_UNKNOWN", f"申请 {claim_id} 不存在")
        if claim.state != "calculated":
            raise Refusal("CLAIM_STATE", f"申请 {claim_id} 的状态是“{STATE_NAMES[claim.state]}”，只有“已计算”的申请可以审核")
        if user in (importers.get(claim.import_id), creators.get(claim.batch_id)):
            raise Refusal("FOUR_EYES", f"{user} 导入了该申请或创建了批次 {claim.batch_id}，不能审核通过（须由另一人审核）")
        todo.append((claim, note))
    if not todo:
        return 0
    todo_ids = [claim.claim_id for claim, _ in todo]
    lock(session, keys_of_claims(session, todo_ids))
    stale = _stale_claims(session, todo_ids)
    for claim, _ in todo:
        if claim.claim_id in stale:
            raise Refusal("LEDGER_STALE", f"申请 {claim.claim_id} 计算时所依据的会员台账已经变动（有更早的申请被退回、不予补助或更正），"
                                          "本次通过未生效；请退回该申请并重新提交、重新计算后再审核")
    table = ClaimRow.__table__
    changed = session.execute(
        update(table).where(table.c.claim_id == bindparam("b_claim"), table.c.version == bindparam("b_version"),
                            table.c.state == "calculated")
        .values(state="approved", decided_by=user, decision_note=bindparam("b_note"), version=table.c.version + 1),
        [{"b_claim": claim.claim_id, "b_version": claim.version, "b_note": note} for claim, note in todo]).rowcount
    if changed != len(todo):
        raise Refusal("CLAIM_CHANGED", f"申请 {todo[0][0].claim_id} 等已被他人同时处理，本次决定未生效，请刷新后重试")
    lines: dict[str, list] = {claim_id: [] for claim_id in todo_ids}
    for row in session.execute(select(ResultLineRow.claim_id, ResultLineRow.item, ResultLineRow.benefit,
                                      ResultLineRow.amount_fen, ResultLineRow.reason)
                               .where(ResultLineRow.claim_id.in_(todo_ids), ResultLineRow.current.is_(True))
                               .order_by(ResultLineRow.claim_id, ResultLineRow.batch_id, ResultLineRow.position)):
        # digests.line_tuple's tuple, built from the row's columns (no dict per line: 250,000 at 100,000 claims)
        lines[row.claim_id].append((row.claim_id, row.item, row.benefit, int(row.amount_fen), row.reason or ""))
    audit_log.append_many(session, user, [
        ("claim.approve", "claim", claim.claim_id,
         {"state": "approved", "batch_id": claim.batch_id, "version": claim.version + 1,
          "amount_fen": sum(line[3] for line in lines[claim.claim_id]),
          "results_sha256": digests.results_sha(lines[claim.claim_id])}, note)
        for claim, note in todo])
    _forget(session, todo_ids)
    return len(todo)


def _stale_claims(session: Session, claim_ids: list[str]) -> set[str]:
    """Which of these claims have a live line computed against a ledger head that has moved on since."""
    from sqlalchemy import and_, or_

    from claims.store.models import LedgerHead

    heads = LedgerHead.__table__
    return set(session.scalars(select(ResultLineRow.claim_id).join(
        heads, and_(heads.c.member_id == ResultLineRow.member_id, heads.c.period == ResultLineRow.period)).where(
        ResultLineRow.claim_id.in_(claim_ids), ResultLineRow.live_from.is_not(None),
        ResultLineRow.live_until.is_(None),
        or_(ResultLineRow.generation.is_(None), ResultLineRow.generation != heads.c.generation)).distinct()))
