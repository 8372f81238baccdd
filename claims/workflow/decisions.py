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
DECISION_NAMES = {"approve": "通过", "return": "退回", "refuse": "不予补助"}
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
