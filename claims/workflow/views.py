"""Read-only views for the command line: batch lists and summaries, a claim's explanation, adjustments."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.engine.reasons import Reason
from claims.money import from_fen
from claims.store.models import Adjustment, Batch, ClaimRow, MemberRow, ResultLineRow
from claims.workflow.access import record_access
from claims.workflow.batches import batch_lines, get_batch
from claims.workflow.decisions import STATE_NAMES
from claims.workflow.errors import Refusal
from claims.workflow.users import require


def _yuan(fen: int) -> str:
    return f"{from_fen(fen):,.2f}"


def batch_table(session: Session, user: str, period: int | None) -> str:
    require(session, user, "read")
    query = select(Batch).order_by(Batch.id)
    if period is not None:
        query = query.where(Batch.period == period)
    rows = ["批次  互助期  类型    状态    申请数  结果行  合计（元）      策略版本  名称"]
    for b in session.scalars(query):
        rows.append(f"{b.id:<5} {b.period:<7} {'更正' if b.kind == 'correction' else '常规':<6} "
                    f"{'已支付' if b.state == 'paid' else '已计算':<6} {b.claim_count:>6} {b.line_count:>7} "
                    f"{_yuan(b.total_fen):>15}  {b.policy_version_id or '文件':<8}  {b.name}")
    return "\n".join(rows) if len(rows) > 1 else "还没有批次。"


def batch_summary(session: Session, user: str, batch_id: int) -> str:
    require(session, user, "read")
    b = get_batch(session, batch_id)
    lines = batch_lines(session, batch_id)
    per_item: dict[str, int] = defaultdict(int)
    for line in lines:
        per_item[line.item or "（整件不予补助）"] += line.amount_fen
    states = Counter(session.scalars(select(ClaimRow.state).where(ClaimRow.batch_id == batch_id)))
    out = [f"批次 {b.id}：{b.name}（{'更正批次' if b.kind == 'correction' else '常规批次'}，{b.period} 年度）",
           f"创建：{b.created_by}，{b.created_at:%Y-%m-%d %H:%M} UTC；引擎版本 {b.engine_version}",
           f"策略：{b.policy_name}（sha256 {b.policy_sha256}）"
           + ("" if b.policy_version_id else "；不是已批准的策略版本（用 --policy 指定的文件）"),
           f"{b.claim_count} 件申请，{b.line_count} 行结果，合计 {_yuan(b.total_fen)} 元"]
    out += [f"  {item:<12} {_yuan(fen):>15} 元" for item, fen in per_item.items()]
    if states:
        out.append("申请状态：" + "，".join(f"{STATE_NAMES[s]} {n} 件" for s, n in sorted(states.items())))
    return "\n".join(out)


def claim_explanation(session: Session, user: str, claim_id: str, what: str = "explain") -> str:
    """A claim's explanation (it names the member and their diagnoses: the view is recorded)."""
    require(session, user, "read")
    claim = session.get(ClaimRow, claim_id)
    if claim is None:
        raise Refusal("CLAIM_UNKNOWN", f"申请 {claim_id} 不存在")
    record_access(session, user, [claim.member_id], what, f"申请 {claim_id}")
    member = session.get(MemberRow, claim.member_id)
    lines = list(session.scalars(select(ResultLineRow).where(
        ResultLineRow.claim_id == claim_id, ResultLineRow.current.is_(True)).order_by(ResultLineRow.position)))
    out = [f"申请 {claim_id}（{member.name}，{member.unit}），状态：{STATE_NAMES[claim.state]}"]
    if not lines:
        out.append("尚未计算。")
    for line in lines:
        explanation = json.loads(line.explanation_json)
        title = f"{line.item}/{line.benefit}" if line.item else "整件"
        reason = f"（{Reason(line.reason).text}）" if line.reason else ""
        out.append(f"● {title}：{_yuan(line.amount_fen)} 元{reason}  [批次 {line.batch_id}]")
        out.append("  " + "".join(step["text"] for step in explanation["steps"]))
    return "\n".join(out)


def adjustment_table(adjustments: list[Adjustment]) -> str:
    if not adjustments:
        return "重新计算后金额没有变化，无需补发或追回。"
    out = ["申请编号      保障项目    保障责任            原金额        新金额        差额   处理"]
    top_up = recovery = 0
    for a in adjustments:
        diff = a.after_fen - a.before_fen
        top_up += max(diff, 0)
        recovery += max(-diff, 0)
        out.append(f"{a.claim_id:<13} {a.item:<11} {a.benefit:<18} {_yuan(a.before_fen):>12} {_yuan(a.after_fen):>12} "
                   f"{_yuan(diff):>12}  {'补发' if a.kind == 'top_up' else '追回'}")
    out.append(f"合计：补发 {_yuan(top_up)} 元，追回 {_yuan(recovery)} 元")
    return "\n".join(out)


def batch_rows(session: Session, user: str) -> list[dict]:
    """Every batch as plain values, newest first, for pages that lay them out themselves."""
    require(session, user, "read")
    return [{"id": b.id, "period": b.period, "kind": "更正" if b.kind == "correction" else "常规",
             "state": "已支付" if b.state == "paid" else "已计算", "claims": b.claim_count, "lines": b.line_count,
             "total": _yuan(b.total_fen), "name": b.name}
            for b in session.scalars(select(Batch).order_by(Batch.id.desc()))]
