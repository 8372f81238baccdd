"""Importing the medical-insurance settlement list (免申即享) and applying the bureau's reversals.

The rows become claims through the mapping (``claims.intake.settlements``) and are imported like a claims
file: all or nothing, the same list twice changes nothing (the claim id is the ``setl_id``). A reversal
withdraws the claim while its money has not gone out (state ``withdrawn``); once paid, the claim becomes
``reversed`` and its amounts a recovery (追回) in a correction batch of its own, like a correction's.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.intake.settlements import (
    NOT_COVERED,
    NOT_MEMBER,
    UNKNOWN_REVERSAL,
    Skipped,
    Translated,
    load_mapping,
    members_by_id_number,
    parse_claims,
    translate,
)
from claims.intake.tables import read_table
from claims.problems import ProblemsFound
from claims.store.models import Adjustment, Batch, ClaimRow, MemberRow, ResultLineRow, SettlementRow
from claims.workflow import audit_log
from claims.workflow.batches import _store, get_batch, policy_of
from claims.workflow.imports import ImportResult, import_parsed
from claims.workflow.ledger import bump, end_lines, keys_of_claims, lock, new_event
from claims.workflow.units import agent_unit, owns_claim
from claims.workflow.users import require

BEFORE_PAYOUT = ("received", "calculated", "approved", "returned", "refused")


@dataclass
class SettlementImport:
    result: ImportResult
    translated: Translated | None = None
    withdrawn: list[str] = field(default_factory=list)
    recovered: list[tuple[str, int]] = field(default_factory=list)  # (claim id, fen to recover)
    unchanged_reversals: int = 0
    name_mismatches: list[tuple[str, str, str]] = field(default_factory=list)  # (setl_id, list name, member name)

    @property
    def problems(self):
        return self.result.problems


def import_settlements(session: Session, path: str | Path, user: str, mapping_file: str | Path | None = None,
                       today: date | None = None) -> SettlementImport:
    require(session, user, "import")
    try:
        mapping = load_mapping(mapping_file)
        table = read_table(path)
    except ProblemsFound as found:
        return SettlementImport(ImportResult("settlements", str(path), problems=found.problems))
    unit = agent_unit(session, user)
    members = select(MemberRow.id_number, MemberRow.member_id)
    if unit is not None:  # an agent: another unit's members are not members here (skipped, never named)
        members = members.where(MemberRow.unit == unit)
    by_certno = members_by_id_number(session.execute(members))
    done = translate(table, mapping, by_certno)
    if done.problems:
        return SettlementImport(ImportResult("settlements", str(path), problems=done.problems), done)
    parsed = parse_claims(done, today or date.today())
    result = import_parsed(session, "claims", path, parsed, user, record_kind="settlements")
    out = SettlementImport(result, done)
    if result.problems:
        return out
    _record_settlements(session, done, parsed, result, out)
    _apply_reversals(session, done, result, user, out, unit)
    return out


def _record_settlements(session: Session, done: Translated, parsed, result: ImportResult, out: SettlementImport) -> None:
    known = set(session.scalars(select(SettlementRow.claim_id)))
    names = {m.member_id: m.name for m in session.execute(select(MemberRow.member_id, MemberRow.name).where(
        MemberRow.member_id.in_({p.record.member_id for p in parsed.rows})))}
    for p in parsed.rows:
        claim_id = p.record.claim_id
        listed = done.names.get(claim_id, "")
        mismatch = bool(listed) and listed != names.get(p.record.member_id, listed)
        if mismatch:
            out.name_mismatches.append((claim_id, listed, names[p.record.member_id]))
        if claim_id in known or result.import_id is None:
            continue
        session.add(SettlementRow(claim_id=claim_id, psn_name=listed, name_mismatch=mismatch,
                                  import_id=result.import_id, reversal=""))
    session.flush()


def _apply_reversals(session: Session, done: Translated, result: ImportResult, user: str, out: SettlementImport,
                     unit: str | None = None) -> None:
    seen: set[str] = set()
    for reversal in done.reversals:
        setl_id = reversal.setl_id
        if setl_id in seen:
            continue
        seen.add(setl_id)
        claim = session.get(ClaimRow, setl_id)
        if claim is not None and unit is not None and not owns_claim(session, unit, claim):
            claim = None  # an agent reverses only their unit's claims; another's is as unknown as none
        if claim is None and setl_id in done.reversed_in_file:
            continue  # reversed in the file that brought it: never imported
        if claim is None:
            done.skipped.append(Skipped(reversal.row, UNKNOWN_REVERSAL, setl_id, "", []))
            continue
        if claim.state in ("withdrawn", "reversed"):
            out.unchanged_reversals += 1
            continue
        if claim.state == "paid":
            out.recovered.append((setl_id, recover_paid(session, claim, user, reversal.row, done.file)))
        else:
            withdraw(session, claim, user, reversal.row, done.file)
            out.withdrawn.append(setl_id)
        settlement = session.get(SettlementRow, setl_id)
        if settlement is not None:
            settlement.reversal = "recovery" if claim.state == "reversed" else "withdrawn"
            settlement.reversed_import_id = result.import_id
    session.flush()


def withdraw(session: Session, claim: ClaimRow, user: str, row: int, file: str) -> None:
    """Before payout: the claim is withdrawn; its lines stop counting and no export pays it."""
    keys = keys_of_claims(session, [claim.claim_id])
    lock(session, keys)
    before = claim.state
    claim.state = "withdrawn"
    claim.decision_note = f"医保结算已冲销（{Path(file).name} 第 {row} 行）"
    session.flush()
    audit_log.append(session, user, "settlement.withdraw", "claim", claim.claim_id,
                     {"state_before": before, "batch_id": claim.batch_id, "file": Path(file).name, "row": row},
                     "医保部门冲销了该结算")
    _lines_ended(session, claim, keys, user, "claim.withdraw", superseded=False)


def _lines_ended(session: Session, claim: ClaimRow, keys: set, user: str, event: str, superseded: bool) -> None:
    """The claim's lines stop being live, and the later claims of the member's period are re-evaluated, as
    after a return (docs/workflow.md, 台账的一生)."""
    from claims.workflow.reevaluate import after_lines_ended

    end_lines(session, [claim.claim_id], new_event(session, event, claim.claim_id, user), superseded=superseded)
    bump(session, keys)
    after_lines_ended(session, claim, keys, user, "医保结算冲销")


def recover_paid(session: Session, claim: ClaimRow, user: str, row: int, file: str) -> int:
    """After payout: the paid lines are superseded and each paid amount becomes a recovery (追回), in a
    correction batch of its own (no new lines: the claim pays nothing now). Returns the fen to recover."""
    lines = list(session.scalars(select(ResultLineRow).where(ResultLineRow.claim_id == claim.claim_id,
                                                             ResultLineRow.current.is_(True))))
    source = get_batch(session, lines[0].batch_id if lines else claim.batch_id)
    loaded = policy_of(source)
    from claims.workflow.batches import Inputs, settled_ledger

    # nothing is calculated: the batch holds no claim and no line, so re-running it gives nothing again
    ledger = settled_ledger(session, exclude=[claim.claim_id])
    batch: Batch = _store(session, "correction", loaded, source.period, user, f"冲销 {claim.claim_id}（医保结算已冲销）",
                          Inputs({}, [], []), ledger, [], 0, note=f"医保部门冲销了已支付的结算 {claim.claim_id}")
    from claims.workflow.batches import record_of

    audit_log.append(session, user, "batch.create", "batch", batch.id,
                     {"kind": "correction", "claims": 0, "lines": 0, "total_fen": 0, "policy_sha256": batch.policy_sha256,
                      "reversal_of": claim.claim_id, "record": record_of(batch, [])}, "医保部门冲销了已支付的结算")
    per_key: dict[tuple, int] = defaultdict(int)
    for line in lines:
        per_key[(line.member_id, line.period, line.item, line.benefit)] += line.amount_fen
    total = 0
    for (member_id, period, item, benefit), fen in sorted(per_key.items()):
        if fen:
            session.add(Adjustment(batch_id=batch.id, claim_id=claim.claim_id, member_id=member_id, period=period,
                                   item=item, benefit=benefit, before_fen=fen, after_fen=0, kind="recovery"))
            total += fen
    keys = keys_of_claims(session, [claim.claim_id])
    lock(session, keys)
    claim.state = "reversed"
    claim.decision_note = f"医保结算已冲销（{Path(file).name} 第 {row} 行），已支付款项待追回"
    session.flush()
    audit_log.append(session, user, "settlement.recover", "claim", claim.claim_id,
                     {"correction_batch": batch.id, "recovery_fen": total, "file": Path(file).name, "row": row},
                     "医保部门冲销了已支付的结算")
    _lines_ended(session, claim, keys, user, "claim.reverse", superseded=True)
    return total


SKIP_REASONS = (NOT_MEMBER, NOT_COVERED, UNKNOWN_REVERSAL)


def write_unmatched(done: Translated, out: str | Path) -> int:
    """The skipped rows as submitted, with the reason, for the union to check (UTF-8 CSV with BOM)."""
    from exports.safety import atomic_output, csv_text

    with atomic_output(out) as temporary, temporary.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(["行号", "跳过原因", "setl_id", "certno", *done.header])
        for s in sorted(done.skipped, key=lambda s: s.row):
            writer.writerow([s.row, s.reason, csv_text(s.setl_id), csv_text(s.certno),
                             *(csv_text("" if c is None else str(c)) for c in s.cells)])
    return len(done.skipped)


def write_errors(done: SettlementImport, out: str | Path) -> bool:
    """The errors workbook of a refused list: the settlement rows as the bureau sent them, each with its
    messages (False when the file could not be read at all: nothing to write)."""
    from types import SimpleNamespace

    from claims.workflow.imports import write_errors_workbook

    if done.translated is None:
        return False
    done.result.table = SimpleNamespace(header=done.translated.header, raw_rows=done.translated.source_rows)
    write_errors_workbook(done.result, out)
    return True


def summary(done: SettlementImport) -> str:
    t = done.translated
    r = done.result
    parts = [f"{r.file}：{t.rows if t else r.rows} 行结算记录，新增申请 {r.added}，未变 {r.unchanged}"]
    if t:
        for reason in SKIP_REASONS:
            n = t.skipped_count(reason)
            if n:
                parts.append(f"跳过（{reason}）{n}")
        if t.reversed_in_file:
            parts.append(f"本文件内已冲销未导入 {len(t.reversed_in_file)}")
    if done.withdrawn:
        parts.append(f"冲销撤回 {len(done.withdrawn)}（{'、'.join(done.withdrawn)}）")
    if done.recovered:
        total = sum(fen for _, fen in done.recovered) / 100
        parts.append(f"冲销已支付、转为追回 {len(done.recovered)} 件 {total:,.2f} 元（{'、'.join(c for c, _ in done.recovered)}）")
    if done.unchanged_reversals:
        parts.append(f"冲销已处理过 {done.unchanged_reversals}")
    return "，".join(parts)


def details(done: SettlementImport) -> list[str]:
    return [f"提示：结算 {setl_id} 的姓名“{listed}”与会员名单“{member}”不一致，已按身份证号匹配 [SETTLEMENT_NAME_MISMATCH]"
            for setl_id, listed, member in done.name_mismatches]

