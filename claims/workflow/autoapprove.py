"""Automatic approval for 免申即享: in the reviewer's name, under the rule stated in the settings file.

A claim qualifies when its total is above 0 and at most the rule's amount, none of its lines carries a
flagged reason, its settlement name matched the member, and (unless the rule allows it) it was never
corrected or resubmitted. Each approval goes through the ordinary decision (four-eyes rule, audit log);
the rest wait in the review queue."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.money import ZERO, from_fen
from claims.settings import AutoApproveRule, flag_name
from claims.store.models import ClaimRow, ClaimVersion, ImportRecord, ResultLineRow, SettlementRow
from claims.workflow import audit_log
from claims.workflow.batches import get_batch
from claims.workflow.decisions import decide
from claims.workflow.errors import Refusal
from claims.workflow.users import require


@dataclass
class AutoApproved:
    approved: list[str] = field(default_factory=list)
    total: Decimal = ZERO
    waiting: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # why → claims


def auto_approve(session: Session, batch_id: int, user: str, rule: AutoApproveRule) -> AutoApproved:
    require(session, user, "decide")
    batch = get_batch(session, batch_id)
    claims = list(session.scalars(select(ClaimRow).where(ClaimRow.batch_id == batch_id, ClaimRow.state == "calculated")
                                  .order_by(ClaimRow.claim_id)))
    if not claims:
        raise Refusal("NOTHING_TO_DECIDE", f"批次 {batch_id} 没有待审核（已计算）的申请")
    importers = {c.claim_id: i for c, i in session.execute(
        select(ClaimRow, ImportRecord.imported_by).join(ImportRecord, ImportRecord.id == ClaimRow.import_id)
        .where(ClaimRow.batch_id == batch_id))}
    if user == batch.created_by or user in {i for i in importers.values()}:
        raise Refusal("FOUR_EYES", f"{user} 导入了本批次的申请或创建了批次 {batch_id}，不能自动审核（须由另一人审核）")
    totals: dict[str, int] = defaultdict(int)
    flagged: dict[str, set[str]] = defaultdict(set)
    for line in session.execute(select(ResultLineRow.claim_id, ResultLineRow.amount_fen, ResultLineRow.reason)
                                .where(ResultLineRow.batch_id == batch_id, ResultLineRow.current.is_(True))):
        totals[line.claim_id] += line.amount_fen
        if line.reason in rule.flags:
            flagged[line.claim_id].add(line.reason)
    versioned = set(session.scalars(select(ClaimVersion.claim_id).where(
        ClaimVersion.claim_id.in_([c.claim_id for c in claims]))))
    mismatched = set(session.scalars(select(SettlementRow.claim_id).where(SettlementRow.name_mismatch.is_(True))))
    done = AutoApproved()
    note = f"自动审核通过（规则：{rule.describe()}；设置文件 {rule.file}）"
    for claim in claims:
        amount = from_fen(totals.get(claim.claim_id, 0))
        if amount <= 0:
            done.waiting["补助为 0，须人工决定"].append(claim.claim_id)
        elif amount > rule.max_amount:
            done.waiting[f"超过 {rule.max_amount:,.2f} 元"].append(claim.claim_id)
        elif flagged.get(claim.claim_id):
            done.waiting["有提示（" + "、".join(flag_name(f) for f in sorted(flagged[claim.claim_id])) + "）"].append(claim.claim_id)
        elif claim.claim_id in mismatched:
            done.waiting["结算清单姓名与会员不符"].append(claim.claim_id)
        elif claim.claim_id in versioned and not rule.allow_corrected:
            done.waiting["更正过或退回后重报"].append(claim.claim_id)
        else:
            decide(session, claim.claim_id, "approve", user, note)
            done.approved.append(claim.claim_id)
            done.total += amount
    audit_log.append(session, user, "batch.auto_approve", "batch", batch_id,
                     {"rule": {"max_amount": str(rule.max_amount), "flags": list(rule.flags),
                               "allow_corrected": rule.allow_corrected, "file": rule.file},
                      "approved": done.approved, "total": str(done.total),
                      "waiting": {k: v for k, v in done.waiting.items()}}, note)
    return done
