"""Re-running a batch from its snapshot (policy text, inputs, ledger before) with the current engine and
comparing line by line with the stored results — from the database or from a replay bundle."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from claims import ENGINE_VERSION
from claims.engine import Ledger, calculate
from claims.money import ZERO, fmt, from_fen
from claims.policy import parse_policy
from claims.store.snapshot import inputs_from
from claims.workflow.batches import batch_lines, get_batch
from claims.workflow.users import require

Key = tuple[str, str, str]  # claim, item, benefit


@dataclass(frozen=True)
class StoredLine:
    claim_id: str
    item: str
    benefit: str
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class Snapshot:
    """Everything a re-run needs, nothing else."""

    batch_id: int
    policy_name: str
    policy_text: str
    policy_sha256: str
    engine_version: str
    inputs: dict
    ledger_before: dict
    lines: list[StoredLine]
    # how the stored ledger-before differs from the lines live when the batch was calculated (database only)
    ledger_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Difference:
    claim_id: str
    item: str
    benefit: str
    stored: str
    recomputed: str
    why: str


@dataclass
class RerunReport:
    batch_id: int
    recorded_engine: str
    claims: int = 0
    lines: int = 0
    stored_total: Decimal = ZERO
    recomputed_total: Decimal = ZERO
    policy_intact: bool = True
    differences: list[Difference] = field(default_factory=list)
    ledger_problems: tuple[str, ...] = ()

    @property
    def identical(self) -> bool:
        return self.policy_intact and not self.differences and not self.ledger_problems


def snapshot_of_batch(session: Session, batch_id: int, user: str) -> Snapshot:
    require(session, user, "audit")
    batch = get_batch(session, batch_id)
    lines = [StoredLine(r.claim_id, r.item, r.benefit, from_fen(r.amount_fen), r.reason)
             for r in batch_lines(session, batch_id)]
    from claims.workflow.ledger import ledger_before_problems

    return Snapshot(batch.id, batch.policy_name, batch.policy_text, batch.policy_sha256, batch.engine_version,
                    json.loads(batch.inputs_json), json.loads(batch.ledger_before_json), lines,
                    tuple(ledger_before_problems(session, batch)))


def rerun(snapshot: Snapshot) -> RerunReport:
    report = RerunReport(snapshot.batch_id, snapshot.engine_version, ledger_problems=snapshot.ledger_problems)
    actual_sha = hashlib.sha256(snapshot.policy_text.encode("utf-8")).hexdigest()
    report.policy_intact = actual_sha == snapshot.policy_sha256
    policy = parse_policy(snapshot.policy_text, snapshot.policy_name).policy
    members, enrollments, claims = inputs_from(snapshot.inputs)
    result = calculate(policy, members, enrollments, claims, Ledger.from_json(snapshot.ledger_before))
    stored = {(line.claim_id, line.item, line.benefit): line for line in snapshot.lines}
    recomputed = {(line.claim_id, line.item, line.benefit): line for line in result.lines}
    report.claims = len({line.claim_id for line in snapshot.lines})
    report.lines = len(snapshot.lines)
    report.stored_total = sum((line.amount for line in snapshot.lines), ZERO)
    report.recomputed_total = sum((line.amount for line in result.lines), ZERO)
    for key in sorted(set(stored) | set(recomputed)):
        old, new = stored.get(key), recomputed.get(key)
        new_reason = new.reason.value if new is not None and new.reason else ""
        if old is None:
            report.differences.append(Difference(*key, "（无）", f"{fmt(new.amount)} {new_reason}".strip(), "重算多出此行"))
        elif new is None:
            report.differences.append(Difference(*key, f"{fmt(old.amount)} {old.reason}".strip(), "（无）", "重算没有此行"))
        elif old.amount != new.amount or old.reason != new_reason:
            why = "金额不同" if old.amount != new.amount else "原因不同"
            if old.amount != new.amount and old.reason != new_reason:
                why = "金额和原因都不同"
            report.differences.append(Difference(*key, f"{fmt(old.amount)} {old.reason}".strip(),
                                                 f"{fmt(new.amount)} {new_reason}".strip(), why))
    return report


def describe(report: RerunReport) -> list[str]:
    """The report as lines for the terminal."""
    out = []
    if not report.policy_intact:
        out.append("策略文本与记录的哈希不符：批次保存的策略文本已被改动 [POLICY_HASH_MISMATCH]")
    if report.recorded_engine != ENGINE_VERSION:
        out.append(f"注意：批次由引擎 {report.recorded_engine} 计算，本次用引擎 {ENGINE_VERSION} 重算")
    for problem in report.ledger_problems:
        out.append(f"计算时的台账不完整：{problem} [LEDGER_BEFORE_MISMATCH]")
    if report.identical:
        out.append(f"批次 {report.batch_id} 重算结果一致（identical）：{report.claims} 件申请，{report.lines} 行，"
                   f"合计 {report.stored_total:,.2f} 元")
        return out
    if not report.differences:
        return out
    out.append(f"批次 {report.batch_id} 重算发现 {len(report.differences)} 处不同：")
    out.append("申请编号      保障项目    保障责任            保存的结果            重算结果              说明")
    for d in report.differences:
        out.append(f"{d.claim_id:<13} {d.item or '（整件）':<11} {d.benefit or '—':<18} {d.stored:<21} {d.recomputed:<21} {d.why}")
    out.append(f"保存合计 {report.stored_total:,.2f} 元，重算合计 {report.recomputed_total:,.2f} 元")
    return out
