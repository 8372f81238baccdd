"""Re-running a batch from its snapshot (policy text, inputs, ledger before) with the current engine and
comparing line by line with the stored results — from the database or from a replay bundle."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims import ENGINE_VERSION
from claims.engine import Ledger, calculate
from claims.money import ZERO, fmt, from_fen, to_fen
from claims.policy import parse_policy
from claims.store.models import AuditEntry, ClaimRow
from claims.store.records import claim_of
from claims.store.snapshot import claim_json, inputs_from
from claims.workflow import audit_log, digests
from claims.workflow.batches import get_batch, line_figures
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
    # what the audit log (or a signed bundle's manifest) recorded when the batch was created; None: nothing
    record: dict | None = None
    stored_total_fen: int | None = None  # the batch row's (or manifest's) total
    stored_claims: int | None = None
    stored_lines: int | None = None
    findings: tuple[tuple[str, str], ...] = ()  # found while reading: (code, located Chinese message)
    source: str = "批次"  # where stored_total_fen / stored_claims / stored_lines come from


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
    findings: list[tuple[str, str]] = field(default_factory=list)
    compared_with_record: bool = False

    @property
    def identical(self) -> bool:
        return self.policy_intact and not self.differences and not self.findings


def snapshot_of_batch(session: Session, batch_id: int, user: str) -> Snapshot:
    require(session, user, "audit")
    batch = get_batch(session, batch_id)
    rows = line_figures(session, batch_id)
    lines = [StoredLine(r.claim_id, r.item, r.benefit, from_fen(r.amount_fen), r.reason) for r in rows]
    inputs = json.loads(batch.inputs_json)
    entry, findings = recorded_entry(session, batch_id)
    findings += changed_input_rows(session, batch, inputs, rows)
    findings += changed_decisions(session, batch_id, rows)
    from claims.workflow.ledger import ledger_before_problems

    # the ledger before against the lines live when the batch was calculated (issue 10, case 1)
    findings += [("LEDGER_BEFORE_MISMATCH", f"计算时的台账不完整：{p}") for p in ledger_before_problems(session, batch, inputs)]
    return Snapshot(batch.id, batch.policy_name, batch.policy_text, batch.policy_sha256, batch.engine_version,
                    inputs, json.loads(batch.ledger_before_json), lines,
                    record=_record_in(entry), stored_total_fen=batch.total_fen, stored_claims=batch.claim_count,
                    stored_lines=batch.line_count, findings=tuple(findings))


def _record_in(entry: AuditEntry | None) -> dict | None:
    if entry is None:
        return None
    details = json.loads(entry.details_json)
    record = details.get("record")
    if isinstance(record, dict):
        return record
    # logged before content hashes were recorded: the totals it did record
    return {name: details[name] for name in ("total_fen", "lines", "claims", "policy_sha256") if name in details}


def recorded_entry(session: Session, batch_id: int) -> tuple[AuditEntry | None, list[tuple[str, str]]]:
    """The audit-log entry that recorded the batch's creation (batch.create, or the claim.correct that made a
    correction batch), and whether its own HMAC still holds."""
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "batch.create", AuditEntry.entity == "batch",
                                                     AuditEntry.entity_id == str(batch_id))).first()
    if entry is None:
        for candidate in session.scalars(select(AuditEntry).where(AuditEntry.action == "claim.correct")):
            if json.loads(candidate.details_json).get("correction_batch") == batch_id:
                entry = candidate
                break
    if entry is None:
        return None, [("AUDIT_RECORD_MISSING", f"审计日志中没有批次 {batch_id} 的创建记录（记录被删除，或批次是绕过系统写入的）")]
    if not audit_log.entry_intact(entry):
        return entry, [("AUDIT_RECORD_TAMPERED", f"审计日志第 {entry.seq} 条（批次 {batch_id} 的创建记录）校验值不符，已被改动")]
    return entry, []


def changed_input_rows(session: Session, batch, inputs: dict, rows: list) -> list[tuple[str, str]]:
    """Claims whose stored row no longer says what the batch calculated with, although no later correction,
    resubmission or batch re-calculated them: edited in the database."""
    batch_id = batch.id
    current_here = {r.claim_id for r in rows if r.current}
    snapshot = {c["claim_id"]: c for c in inputs.get("claims", [])}
    found = []
    ids = sorted(current_here & set(snapshot))
    for start in range(0, len(ids), 5000):
        for row in session.execute(select(*ClaimRow.__table__.c).where(ClaimRow.claim_id.in_(ids[start:start + 5000]))):
            if batch.kind == "regular" and row.batch_id != batch_id:
                continue  # returned and resubmitted since: a later batch calculates its new version
            now_json = claim_json(claim_of(row))
            for name, then in snapshot[row.claim_id].items():
                if now_json.get(name) != then:
                    found.append(("INPUT_ROW_CHANGED",
                                  f"申请 {row.claim_id} 的 {name}：库中现为 {now_json.get(name)}，批次 {batch_id} 计算时为 "
                                  f"{then}，而没有更正记录（数据库中的申请被改动过）"))
    return found


def changed_decisions(session: Session, batch_id: int, rows: list) -> list[tuple[str, str]]:
    """Approvals recorded with an amount the claim's stored lines of this batch no longer add up to."""
    amounts: dict[str, int] = {}
    for r in rows:
        if r.current:
            amounts[r.claim_id] = amounts.get(r.claim_id, 0) + r.amount_fen
    found = []
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.action == "claim.approve")
                                 .order_by(AuditEntry.seq)):
        details = json.loads(entry.details_json)
        claim_id = entry.entity_id
        if details.get("batch_id") != batch_id or "amount_fen" not in details or claim_id not in amounts:
            continue
        if details["amount_fen"] != amounts[claim_id]:
            found.append(("DECISION_AMOUNT_CHANGED",
                          f"申请 {claim_id} 审核通过时（审计日志第 {entry.seq} 条）金额为 {fmt(from_fen(details['amount_fen']))} 元，"
                          f"现存结果为 {fmt(from_fen(amounts[claim_id]))} 元"))
    return found


def compare_with_stated(snapshot: Snapshot, report: RerunReport) -> list[tuple[str, str]]:
    """The totals the batch row (or a bundle's manifest) states against its lines and the re-run."""
    found = []
    where = snapshot.source
    if snapshot.stored_total_fen is not None:
        for total, what in ((report.stored_total, "结果行合计"), (report.recomputed_total, "重算合计")):
            if to_fen(total) != snapshot.stored_total_fen:
                found.append(("STATED_TOTAL_MISMATCH", f"{where}记载的合计 {fmt(from_fen(snapshot.stored_total_fen))} 元，"
                                                       f"{what} {fmt(total)} 元"))
    if snapshot.stored_lines is not None and snapshot.stored_lines != report.lines:
        found.append(("STATED_COUNT_MISMATCH", f"{where}记载 {snapshot.stored_lines} 行结果，实有 {report.lines} 行"))
    if snapshot.stored_claims is not None and snapshot.stored_claims != report.claims:
        found.append(("STATED_COUNT_MISMATCH", f"{where}记载 {snapshot.stored_claims} 件申请，结果中有 {report.claims} 件"))
    return found


def compare_with_record(snapshot: Snapshot, recomputed_total: Decimal, where: str) -> list[tuple[str, str]]:
    """The snapshot, its stored results and the re-run against what was recorded at the time."""
    record, found = snapshot.record, []
    if record is None:
        return found
    stored_fen = sum(to_fen(line.amount) for line in snapshot.lines)

    def money(name: str, value: int, what: str) -> None:
        if name in record and record[name] != value:
            found.append(("RECORD_TOTAL_MISMATCH", f"{where}记录的合计 {fmt(from_fen(record[name]))} 元，{what} "
                                                   f"{fmt(from_fen(value))} 元"))

    money("total_fen", stored_fen, "现存结果行合计")
    if snapshot.stored_total_fen is not None and snapshot.stored_total_fen != stored_fen:
        money("total_fen", snapshot.stored_total_fen, "批次记载的合计")
    if to_fen(recomputed_total) != stored_fen:
        money("total_fen", to_fen(recomputed_total), "重算合计")
    if "lines" in record and record["lines"] != len(snapshot.lines):
        found.append(("RECORD_COUNT_MISMATCH", f"{where}记录 {record['lines']} 行结果，现存 {len(snapshot.lines)} 行"))
    checks = (("inputs_sha256", digests.json_sha(snapshot.inputs), "输入快照（会员、参保、申请）"),
              ("ledger_before_sha256", digests.json_sha(snapshot.ledger_before), "计算前累计额快照"),
              ("results_sha256", digests.results_sha((line.claim_id, line.item, line.benefit, to_fen(line.amount),
                                                      line.reason) for line in snapshot.lines), "保存的计算结果"),
              ("policy_sha256", snapshot.policy_sha256, "策略文本哈希"))
    for name, actual, what in checks:
        if name in record and record[name] != actual:
            found.append(("RECORD_HASH_MISMATCH", f"{what}与{where}记录的哈希不符：被改动过"))
    return found


def rerun(snapshot: Snapshot) -> RerunReport:
    report = RerunReport(snapshot.batch_id, snapshot.engine_version)
    actual_sha = hashlib.sha256(snapshot.policy_text.encode("utf-8")).hexdigest()
    report.policy_intact = actual_sha == snapshot.policy_sha256
    policy = parse_policy(snapshot.policy_text, snapshot.policy_name).policy
    members, enrollments, claims = inputs_from(snapshot.inputs)
    # amounts and reasons are compared, not explanations: none is built (the same lines otherwise, a property test
    # in tests/engine/test_properties.py shows)
    result = calculate(policy, members, enrollments, claims, Ledger.from_json(snapshot.ledger_before), explain=False)
    stored = {(line.claim_id, line.item, line.benefit): line for line in snapshot.lines}
    recomputed = {(line.claim_id, line.item, line.benefit): line for line in result.lines}
    report.claims = len({line.claim_id for line in snapshot.lines})
    report.lines = len(snapshot.lines)
    report.stored_total = sum((line.amount for line in snapshot.lines), ZERO)
    report.recomputed_total = sum((line.amount for line in result.lines), ZERO)
    report.findings = list(snapshot.findings)
    report.compared_with_record = snapshot.record is not None
    report.findings += compare_with_record(snapshot, report.recomputed_total, "审计日志")
    report.findings += compare_with_stated(snapshot, report)
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
    for code, message in report.findings:
        out.append(f"{message} [{code}]")
    if report.compared_with_record and not report.findings:
        out.append("与审计日志当时记录的合计和内容哈希（输入、累计额、结果、策略）一致")
    if report.identical:
        out.append(f"批次 {report.batch_id} 重算结果一致（identical）：{report.claims} 件申请，{report.lines} 行，"
                   f"合计 {report.stored_total:,.2f} 元")
        return out
    if not report.differences:
        out.append(f"批次 {report.batch_id} 逐行重算一致，但有上述 {len(report.findings)} 处问题（not identical）")
        out.append(f"保存合计 {report.stored_total:,.2f} 元，重算合计 {report.recomputed_total:,.2f} 元")
        return out
    out.append(f"批次 {report.batch_id} 重算发现 {len(report.differences)} 处不同：")
    out.append("申请编号      保障项目    保障责任            保存的结果            重算结果              说明")
    for d in report.differences:
        out.append(f"{d.claim_id:<13} {d.item or '（整件）':<11} {d.benefit or '—':<18} {d.stored:<21} {d.recomputed:<21} {d.why}")
    out.append(f"保存合计 {report.stored_total:,.2f} 元，重算合计 {report.recomputed_total:,.2f} 元")
    return out
