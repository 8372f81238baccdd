"""The scheme's rules as versions in the database: a clerk publishes a policy text (待批准), a second person
with the reviewer role approves (已批准) or rejects (已驳回) it, and every stateful command without
``--policy`` calculates with the approved version in force for the period.

Which version is in force for period P: of the approved versions whose first period (``from_period``,
empty = from the earliest) is at most P, the one with the latest first period; of several with the same
first period, the one approved last. A batch records the version it used, and a correction or a re-run
of that batch uses that version again, never a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.policy import LoadedPolicy, parse_policy, read_policy
from claims.policy.summary import text_table
from claims.store.models import PolicyVersion
from claims.workflow import audit_log
from claims.workflow.errors import Refusal
from claims.workflow.users import require

STATE_NAMES = {"pending": "待批准", "approved": "已批准", "rejected": "已驳回"}


def loaded_of(version: PolicyVersion) -> LoadedPolicy:
    """The version's policy, exactly as published (its text is checked again, so nothing unchecked runs)."""
    return parse_policy(version.text, f"策略版本 {version.id}（{version.file_name}）")


def get_version(session: Session, version_id: int) -> PolicyVersion:
    version = session.get(PolicyVersion, version_id)
    if version is None:
        raise Refusal("POLICY_VERSION_UNKNOWN", f"策略版本 {version_id} 不存在（claims policy list 列出全部版本）")
    return version


def publish(session: Session, path: str | Path, user: str, note: str = "",
            from_period: int | None = None) -> PolicyVersion:
    """Store a policy file's text and hash as a new version, 待批准. A file that fails ``policy check``
    raises ``ProblemsFound`` (every problem, located) and nothing is stored."""
    require(session, user, "publish_policy")
    loaded = read_policy(path)
    if from_period is not None and not 1900 <= from_period <= 2999:
        raise Refusal("POLICY_BAD_PERIOD", f"起始互助期 {from_period} 无效，应为年份，如 2026")
    scheme = loaded.policy.scheme
    others = sorted({v.scheme_code for v in session.scalars(
        select(PolicyVersion).where(PolicyVersion.state != "rejected")) if v.scheme_code != scheme.code})
    if others:
        raise Refusal("POLICY_OTHER_SCHEME",
                      f"{path}：方案代码“{scheme.code}”与本数据库已有的方案“{'、'.join(others)}”不同；"
                      "一个数据库只管理一个互助保障方案（参保记录的项目代码属于该方案）")
    same = next((v for v in session.scalars(select(PolicyVersion).where(
        PolicyVersion.sha256 == loaded.sha256, PolicyVersion.state != "rejected")) if v.from_period == from_period), None)
    if same is not None:
        raise Refusal("POLICY_ALREADY_PUBLISHED",
                      f"{path} 的内容与策略版本 {same.id}（{STATE_NAMES[same.state]}）完全相同，无需重复发布")
    version = PolicyVersion(scheme_code=scheme.code, scheme_name=scheme.name, file_name=Path(path).name,
                            text=loaded.text, sha256=loaded.sha256, from_period=from_period, state="pending",
                            note=note.strip(), published_by=user, published_at=audit_log.now(), decision_note="")
    session.add(version)
    session.flush()
    audit_log.append(session, user, "policy.publish", "policy_version", str(version.id),
                     {"file": version.file_name, "sha256": version.sha256, "scheme": scheme.code,
                      "from_period": from_period}, note.strip())
    return version


def approve(session: Session, version_id: int, user: str, note: str = "") -> PolicyVersion:
    return _decide(session, version_id, user, "approved", note)


def reject(session: Session, version_id: int, user: str, note: str) -> PolicyVersion:
    if not note.strip():
        raise Refusal("REASON_REQUIRED", "驳回策略版本须用 --note 写明原因")
    return _decide(session, version_id, user, "rejected", note)


def _decide(session: Session, version_id: int, user: str, state: str, note: str) -> PolicyVersion:
    """Maker-checker: a reviewer who did not publish the version decides it, once."""
    require(session, user, "approve_policy")
    version = get_version(session, version_id)
    if version.published_by == user:
        raise Refusal("FOUR_EYES", f"策略版本 {version_id} 由“{user}”发布，发布人不能自己批准或驳回，须由另一位审核员决定")
    if version.state != "pending":
        raise Refusal("POLICY_VERSION_STATE", f"策略版本 {version_id} 已是“{STATE_NAMES[version.state]}”"
                                              f"（{version.decided_by}，{version.decided_at}），不能再决定")
    loaded_of(version)  # the stored text must still pass the checks of today's policy language
    version.state, version.decided_by, version.decided_at = state, user, audit_log.now()
    version.decision_note = note.strip()
    session.flush()
    audit_log.append(session, user, f"policy.{'approve' if state == 'approved' else 'reject'}", "policy_version",
                     str(version.id), {"sha256": version.sha256, "scheme": version.scheme_code,
                                       "from_period": version.from_period}, note.strip())
    return version


def _approved(session: Session) -> list[PolicyVersion]:
    return list(session.scalars(select(PolicyVersion).where(PolicyVersion.state == "approved")))


def _order(version: PolicyVersion) -> tuple:
    return (version.decided_at, version.id)


def version_in_force(session: Session, period: int) -> PolicyVersion | None:
    candidates = [v for v in _approved(session) if v.from_period is None or v.from_period <= period]
    if not candidates:
        return None
    return max(candidates, key=lambda v: (-1 if v.from_period is None else v.from_period, *_order(v)))


def in_force(session: Session, period: int) -> tuple[PolicyVersion, LoadedPolicy]:
    """The approved version in force for ``period``, or a refusal that says what to do."""
    version = version_in_force(session, period)
    if version is None:
        raise Refusal("POLICY_NOT_APPROVED",
                      f"{period} 年度没有已批准的策略版本：请经办员用 claims policy publish 发布策略文件，"
                      "再由另一位审核员用 claims policy approve 批准")
    return version, loaded_of(version)


def check_named_file(session: Session, loaded: LoadedPolicy) -> PolicyVersion | None:
    """A file named with ``--policy`` on a stateful command: the approved version with the same text, or
    None when the database holds no approved version at all (a database used before versions existed).
    Once rules are approved, an unapproved file cannot be slipped in beside them."""
    approved = _approved(session)
    same = [v for v in approved if v.sha256 == loaded.sha256]
    if same:
        return max(same, key=_order)
    if approved:
        raise Refusal("POLICY_FILE_NOT_APPROVED",
                      f"{loaded.name} 不是已批准的策略版本（其内容与任何已批准版本都不同）。请不写 --policy，"
                      "使用该互助期已批准的版本；或先发布（claims policy publish）并经审核员批准该文件")
    return None


@dataclass(frozen=True)
class VersionRow:
    version: PolicyVersion
    covers: str  # the periods it is in force for, in words


def version_rows(session: Session, user: str) -> list[VersionRow]:
    """Every version, newest first, with the periods it is in force for."""
    require(session, user, "read")
    versions = list(session.scalars(select(PolicyVersion).order_by(PolicyVersion.id.desc())))
    approved = [v for v in versions if v.state == "approved"]
    starts = sorted({-1 if v.from_period is None else v.from_period for v in approved})
    winners = {start: max((v for v in approved if (-1 if v.from_period is None else v.from_period) == start),
                          key=_order) for start in starts}
    rows = []
    for version in versions:
        if version.state != "approved":
            covers = "—" if version.state == "rejected" else _span(version.from_period, None) + "（批准后）"
        else:
            start = -1 if version.from_period is None else version.from_period
            winner = winners[start]
            if winner is not version:
                covers = f"已被版本 {winner.id} 取代"
            else:
                later = [s for s in starts if s > start]
                covers = _span(version.from_period, later[0] - 1 if later else None)
        rows.append(VersionRow(version, covers))
    return rows


def _span(first: int | None, last: int | None) -> str:
    if first is None and last is None:
        return "全部互助期"
    if first is None:
        return f"{last} 年度及以前"
    if last is None:
        return f"{first} 年度起"
    return f"{first} 年度" if first == last else f"{first}–{last} 年度"


def version_table(session: Session, user: str) -> str:
    rows = version_rows(session, user)
    if not rows:
        return "还没有发布过策略版本（claims policy publish FILE）"
    table = [["版本", "状态", "适用互助期", "方案", "文件", "发布人（时间）", "批准/驳回人（时间）"]]
    notes: dict[int, list[str]] = {}
    for row in rows:
        v = row.version
        decided = f"{v.decided_by}（{v.decided_at}）" if v.decided_by else "—"
        table.append([str(v.id), STATE_NAMES[v.state], row.covers, v.scheme_name, v.file_name,
                      f"{v.published_by}（{v.published_at}）", decided])
        notes[len(table) - 1] = [f"      {label}：{text}" for label, text in (("发布说明", v.note), ("审核意见", v.decision_note))
                                 if text]
    out = []
    for index, line in enumerate(text_table(table)):
        out += [line, *notes.get(index, [])]
    return "\n".join(out)


def diff_versions(session: Session, first: int, second: int, user: str) -> list[str]:
    from claims.policy.diff import diff

    require(session, user, "read")
    a, b = get_version(session, first), get_version(session, second)
    if a.sha256 == b.sha256 and a.from_period == b.from_period:
        return [f"版本 {a.id} 与版本 {b.id} 的文本完全相同（sha256 {a.sha256}）"]
    lines = diff(loaded_of(a).policy, loaded_of(b).policy, f"版本 {a.id}（{STATE_NAMES[a.state]}）",
                 f"版本 {b.id}（{STATE_NAMES[b.state]}）")
    if a.from_period != b.from_period:
        lines.append(f"  起始互助期：{_span(a.from_period, None)} → {_span(b.from_period, None)}")
    return lines
