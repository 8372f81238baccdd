"""Read-only views for the command line: batch lists and summaries, a claim's explanation, adjustments."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from claims.engine.explain import stored_step_text
from claims.engine.reasons import Reason
from claims.money import from_fen
from claims.store.models import Adjustment, Batch, ClaimRow, MemberRow, ResultLineRow
from claims.workflow.access import record_access
from claims.workflow.batches import batch_lines, get_batch, policy_of
from claims.workflow.decisions import STATE_NAMES
from claims.workflow.errors import Refusal
from claims.workflow.users import require
from exports.words import beijing_text, cn_dates_in, table


def _yuan(fen: int) -> str:
    return f"{from_fen(fen):,.2f}"


def batch_table(session: Session, user: str, period: int | None) -> str:
    require(session, user, "read")
    query = select(Batch).order_by(Batch.id)
    if period is not None:
        query = query.where(Batch.period == period)
    rows = [[b.id, b.period, BATCH_KINDS.get(b.kind, b.kind), BATCH_STATES.get(b.state, b.state),
             b.claim_count, b.line_count, _yuan(b.total_fen), b.policy_version_id or "文件", b.name]
            for b in session.scalars(query)]
    if not rows:
        return "还没有批次。"
    return "\n".join(table(["批次", "互助期", "类型", "状态", "申请数", "结果行", "合计（元）", "策略版本", "名称"], rows,
                           ">><<>>><<"))


def _names(batch: Batch) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The Chinese names of the items and benefits of the policy a batch used."""
    return _policy_names(batch.policy_sha256, batch)


_NAMES: dict[str, tuple] = {}  # policy sha256 → names: a policy text never changes, parsing it costs a page


def _policy_names(sha256: str, batch: Batch) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    if sha256 not in _NAMES:
        policy = policy_of(batch).policy
        _NAMES[sha256] = ({i.code: i.name for i in policy.items},
                          {(i.code, b.code): b.name for i in policy.items for b in i.benefits})
    return _NAMES[sha256]


def batch_summary(session: Session, user: str, batch_id: int) -> str:
    require(session, user, "read")
    b = get_batch(session, batch_id)
    items, _ = _names(b)
    lines = batch_lines(session, batch_id)
    per_item: dict[str, int] = defaultdict(int)
    for line in lines:
        per_item[items.get(line.item, line.item) if line.item else "（整件不予补助）"] += line.amount_fen
    states = Counter(session.scalars(select(ClaimRow.state).where(ClaimRow.batch_id == batch_id)))
    out = [f"批次 {b.id}：{b.name}（{'更正批次' if b.kind == 'correction' else '常规批次'}，{b.period} 年度）",
           f"创建：{b.created_by}，{beijing_text(b.created_at)}；引擎版本 {b.engine_version}",
           f"策略：{b.policy_name}（sha256 {b.policy_sha256}）"
           + ("" if b.policy_version_id else "；不是已批准的策略版本（用 --policy 指定的文件）"),
           f"{b.claim_count} 件申请，{b.line_count} 行结果，合计 {_yuan(b.total_fen)} 元"]
    out += ["  " + row + " 元" for row in table(["", ""], [[name, _yuan(fen)] for name, fen in per_item.items()], "<>")[1:]]
    if states:
        out.append("申请状态：" + "，".join(f"{STATE_NAMES[s]} {n} 件" for s, n in sorted(states.items())))
    return "\n".join(out)


def claim_explanation(session: Session, user: str, claim_id: str, what: str = "explain") -> str:
    """A claim's explanation (it names the member and their diagnoses: the view is recorded)."""
    return claim_explained(session, user, claim_id, what)[0]


def claim_explained(session: Session, user: str, claim_id: str, what: str = "explain") -> tuple[str, list[dict]]:
    """The explanation's text and its lines as values (``explained_lines``); the view is recorded."""
    require(session, user, "read")
    claim = session.get(ClaimRow, claim_id)
    if claim is None:
        raise Refusal("CLAIM_UNKNOWN", f"申请 {claim_id} 不存在")
    record_access(session, user, [claim.member_id], what, f"申请 {claim_id}")
    member = session.get(MemberRow, claim.member_id)
    text, explained = explanation_parts(session, claim)
    return "\n".join([f"申请 {claim_id}（{member.name}，{member.unit}），状态：{STATE_NAMES[claim.state]}", *text]), explained


def explanation_parts(session: Session, claim: ClaimRow, for_member: bool = False) -> tuple[list[str], list[dict]]:
    """(the explanation's lines of text, its result lines as values): each benefit's amount, then how it was
    computed. No check, no record: the caller checks who may read it and records the view. ``for_member``:
    without the staff's batch references and notes."""
    claim_id = claim.claim_id
    lines = list(session.scalars(select(ResultLineRow).where(
        ResultLineRow.claim_id == claim_id, ResultLineRow.current.is_(True)).order_by(ResultLineRow.position)))
    out = []
    pending = session.scalar(select(Batch.id).where(Batch.kind == "correction", Batch.state == "pending",
                                                    Batch.id.in_(select(ResultLineRow.batch_id).where(
                                                        ResultLineRow.claim_id == claim_id))).limit(1))
    if pending:
        out.append(f"注意：有一项更正待复核（更正批次 {pending}），复核通过前以下金额不变。")
    if claim.state == "calculated" and claim.decision_note and not for_member:  # a reviewer's note is staff's
        out.append(claim.decision_note)
    if not lines:
        out.append("尚未计算。")
    explained = explained_lines(session, lines)
    for line in explained:
        reason = f"（{line['reason']}）" if line["reason"] else ""
        batch = "" if for_member else f"  [批次 {line['batch_id']}]"
        out.append(f"● {line['title']}：{line['amount']} 元{reason}{batch}")
        out.append("  " + line["text"])
    return out, explained


def explained_lines(session: Session, lines: list[ResultLineRow]) -> list[dict]:
    """Each result line as read: item／benefit, amount in yuan, reason in words, the plain explanation (with
    the caps remaining after it), and the batch that calculated it."""
    names: dict[int, tuple] = {}
    out = []
    for line in lines:
        if line.batch_id not in names:
            names[line.batch_id] = _names(get_batch(session, line.batch_id))
        items, benefits = names[line.batch_id]
        explanation = json.loads(line.explanation_json)
        title = (f"{items.get(line.item, line.item)}／{benefits.get((line.item, line.benefit), line.benefit)}"
                 if line.item else "整件申请")
        out.append({"title": title, "amount": _yuan(line.amount_fen), "amount_fen": line.amount_fen,
                    "reason": Reason(line.reason).text if line.reason else "", "batch_id": line.batch_id,
                    "text": cn_dates_in("".join(stored_step_text(step) for step in explanation["steps"]))})
    return out


KINDS = {"top_up": "补发", "recovery": "追回", "revise": "按新金额发放"}
BATCH_KINDS = {"regular": "常规", "correction": "更正", "recalc": "重算"}
BATCH_STATES = {"calculated": "已计算", "paid": "已支付", "pending": "待复核", "approved": "已复核", "rejected": "已驳回"}


def correction_table(session: Session, user: str) -> str:
    require(session, user, "read")
    rows = ["批次  类型  状态    补发（元）    追回（元）  提出人      复核人      名称"]
    for b in session.scalars(select(Batch).where(Batch.kind != "regular").order_by(Batch.id)):
        found = list(session.scalars(select(Adjustment).where(Adjustment.batch_id == b.id)))
        up = sum(a.after_fen - a.before_fen for a in found if a.kind == "top_up")
        down = sum(a.before_fen - a.after_fen for a in found if a.kind == "recovery")
        rows.append(f"{b.id:<5} {BATCH_KINDS[b.kind]:<4} {BATCH_STATES.get(b.state, b.state):<6} {_yuan(up):>12} "
                    f"{_yuan(down):>12}  {b.created_by:<10} {b.reviewed_by or '—':<10} {b.name}")
    return "\n".join(rows) if len(rows) > 1 else "还没有更正或重算批次。"


def adjustment_table(adjustments: list[Adjustment]) -> str:
    if not adjustments:
        return "重新计算后金额没有变化，无需补发或追回。"
    top_up = recovery = 0
    rows = []
    session = object_session(adjustments[0])
    names: dict[int, tuple] = {}
    for a in adjustments:
        if a.batch_id not in names:
            names[a.batch_id] = _names(get_batch(session, a.batch_id)) if session is not None else ({}, {})
        items, benefits = names[a.batch_id]
        diff = a.after_fen - a.before_fen
        if a.kind == "top_up":
            top_up += diff
        elif a.kind == "recovery":
            recovery -= diff
        rows.append([a.claim_id, items.get(a.item, a.item), benefits.get((a.item, a.benefit), a.benefit),
                     _yuan(a.before_fen), _yuan(a.after_fen), _yuan(diff), KINDS[a.kind]])
    out = table(["申请编号", "保障项目", "保障责任", "原金额", "新金额", "差额", "处理"], rows, "<<<>>><")
    out.append(f"合计：补发 {_yuan(top_up)} 元，追回 {_yuan(recovery)} 元")
    return "\n".join(out)


def batch_rows(session: Session, user: str) -> list[dict]:
    """Every batch as plain values, newest first, for pages that lay them out themselves."""
    require(session, user, "read")
    return [{"id": b.id, "period": b.period, "kind": "更正" if b.kind == "correction" else "常规",
             "state": "已支付" if b.state == "paid" else "已计算", "claims": b.claim_count, "lines": b.line_count,
             "total": _yuan(b.total_fen), "name": b.name}
            for b in session.scalars(select(Batch).order_by(Batch.id.desc()))]


EXPORT_KINDS = {"payouts": "发放表", "bank": "银行文件", "recoveries": "追回清单"}


def export_table(session: Session, user: str, batch_id: int | None) -> str:
    from claims.store.models import ExportRecord

    require(session, user, "read")
    query = select(ExportRecord).order_by(ExportRecord.id)
    if batch_id is not None:
        query = query.where(ExportRecord.batch_id == batch_id)
    rows = ["记录  类型      批次  笔数      金额（元）  重新导出  操作人      时间（UTC）        文件 / sha256"]
    for e in session.scalars(query):
        rows.append(f"{e.id:<5} {EXPORT_KINDS.get(e.kind, e.kind):<8} {e.batch_id:<5} {e.count:>4} {_yuan(e.total_fen):>15}  "
                    f"{'是' if e.reexport else '否':<8} {e.created_by:<10} {e.created_at:%Y-%m-%d %H:%M:%S}  "
                    f"{e.file_name} {e.file_sha256}")
    return "\n".join(rows) if len(rows) > 1 else "还没有导出记录。"
