"""The review workbook: one row per claim of a batch with its computed amounts (locked) and a decision
column with a drop-down. Importing it back applies the decisions — and refuses a sheet whose computed
cells were altered or that belongs to another batch, naming the cells."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.engine.reasons import Reason
from claims.money import from_fen
from claims.policy.schema import EVENT_TYPE_NAMES
from claims.store.models import ClaimRow, MemberRow
from claims.workflow.access import record_access
from claims.workflow.batches import batch_lines, get_batch, policy_of
from claims.workflow.decisions import decide
from claims.workflow.errors import Refusal
from claims.workflow.users import require

CHOICES = {"通过": "approve", "退回": "return", "不予补助": "refuse"}
SHEET, META = "审核表", "批次信息"
FIRST_ROW = 4  # rows 1–2: title and notes; row 3: header


@dataclass
class ReviewRow:
    claim_id: str
    version: int
    cells: list  # the computed cells, in column order


def _rows(session: Session, batch_id: int) -> tuple[list[str], list[ReviewRow]]:
    batch = get_batch(session, batch_id)
    policy = policy_of(batch).policy
    items = [item.code for item in policy.items]
    lines_by_claim = defaultdict(list)
    for line in batch_lines(session, batch_id):
        lines_by_claim[line.claim_id].append(line)
    claims = {c.claim_id: c for c in session.scalars(select(ClaimRow).where(ClaimRow.claim_id.in_(list(lines_by_claim))))}
    members = {m.member_id: m for m in session.scalars(
        select(MemberRow).where(MemberRow.member_id.in_({c.member_id for c in claims.values()})))}
    header = ["申请编号", "会员编号", "姓名", "单位", "类别", "入院日期", "出院日期", "诊断编码"] + \
             [f"{item.name}（元）" for item in policy.items] + ["合计（元）", "原因"]
    rows = []
    for claim_id in sorted(lines_by_claim):
        claim, lines = claims[claim_id], lines_by_claim[claim_id]
        member = members[claim.member_id]
        per_item = {code: Decimal("0.00") for code in items}
        for line in lines:
            if line.item:
                per_item[line.item] += from_fen(line.amount_fen)
        reasons = "；".join(f"{line.benefit or '整件'}：{Reason(line.reason).text}" for line in lines if line.reason)
        cells = [claim_id, claim.member_id, member.name, member.unit, EVENT_TYPE_NAMES[claim.event_type],
                 claim.admission_date.isoformat(), claim.discharge_date.isoformat(), claim.diagnoses,
                 *(per_item[code] for code in items), sum(per_item.values(), Decimal("0.00")), reasons]
        rows.append(ReviewRow(claim_id, claim.version, cells))
    return header, rows


def _fingerprint(batch_id: int, header: list[str], rows: list[ReviewRow]) -> str:
    data = [batch_id, header, [[str(c) for c in row.cells] for row in rows]]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def export_review(session: Session, batch_id: int, out: str | Path, user: str) -> int:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    require(session, user, "read")
    batch = get_batch(session, batch_id)
    header, rows = _rows(session, batch_id)
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet["A1"] = f"审核表 — 批次 {batch.id}（{batch.name}），共 {len(rows)} 件申请"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = "请在“审核结论”列选择 通过 / 退回 / 不予补助，可在“备注”列填写说明；其他单元格已锁定，请勿修改。"
    full_header = header + ["审核结论", "备注"]
    sheet.append(full_header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    money_columns = range(9, 9 + len(header) - 10 + 1)
    decision_col, note_col = len(header) + 1, len(header) + 2
    choices = DataValidation(type="list", formula1='"通过,退回,不予补助"', allow_blank=False, showDropDown=False)
    choices.error, choices.errorTitle = "请从下拉列表中选择：通过、退回、不予补助", "审核结论无效"
    sheet.add_data_validation(choices)
    for row in rows:
        sheet.append(row.cells + [None, None])
        r = sheet.max_row
        for column in money_columns:
            sheet.cell(r, column).number_format = "#,##0.00"
        sheet.cell(r, len(header)).alignment = Alignment(wrap_text=True, vertical="top")
        for column in (decision_col, note_col):
            sheet.cell(r, column).protection = Protection(locked=False)
            sheet.cell(r, column).fill = PatternFill("solid", fgColor="FFF2CC")
        choices.add(sheet.cell(r, decision_col))
    widths = [14, 12, 8, 22, 12, 12, 12, 16] + [16] * (len(header) - 10) + [14, 50, 12, 30]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(3, index).column_letter].width = width
    sheet.freeze_panes = sheet.cell(FIRST_ROW, 3)
    sheet.protection.sheet = True
    sheet.protection.autoFilter = False
    sheet.auto_filter.ref = f"A3:{sheet.cell(3, len(full_header)).column_letter}{max(3, sheet.max_row)}"
    meta = book.create_sheet(META)
    meta.append(["batch_id", batch.id])
    meta.append(["fingerprint", _fingerprint(batch.id, header, rows)])
    meta.append(["versions", json.dumps({row.claim_id: row.version for row in rows})])
    meta.sheet_state = "hidden"
    meta.protection.sheet = True
    book.save(out)
    record_access(session, user, (row.cells[1] for row in rows), "review.export", f"批次 {batch_id}")
    return len(rows)


@dataclass
class ReviewImport:
    batch_id: int
    decided: dict[str, int]


def import_review(session: Session, path: str | Path, user: str) -> ReviewImport:
    """Apply every decision of the sheet, or none: the sheet is refused whole on any problem."""
    from openpyxl import load_workbook

    require(session, user, "decide")
    book = load_workbook(path)
    if SHEET not in book.sheetnames or META not in book.sheetnames:
        raise Refusal("REVIEW_NOT_A_SHEET", f"{path} 不是本系统导出的审核表（缺少“{SHEET}”或“{META}”工作表）")
    meta = {row[0]: row[1] for row in book[META].iter_rows(values_only=True)}
    try:
        batch_id = int(meta.get("batch_id"))
    except (TypeError, ValueError):
        raise Refusal("REVIEW_NO_BATCH", f"{path}：审核表的批次信息缺失") from None
    header, rows = _rows(session, batch_id)
    if meta.get("fingerprint") != _fingerprint(batch_id, header, rows):
        raise Refusal("REVIEW_OTHER_BATCH", f"{path}：审核表与批次 {batch_id} 当前的计算结果不符（不是该批次导出的表，"
                                            "或批次已被更正），请重新导出")
    sheet = book[SHEET]
    problems, decisions = [], []
    sheet_rows = list(sheet.iter_rows(min_row=FIRST_ROW, values_only=False))
    if len(sheet_rows) != len(rows):
        problems.append(f"表中有 {len(sheet_rows)} 行申请，批次 {batch_id} 有 {len(rows)} 件（行被增删）")
    for expected, cells in zip(rows, sheet_rows, strict=False):
        for column, value in enumerate(expected.cells):
            cell = cells[column]
            if not _same(cell.value, value):
                problems.append(f"{cell.coordinate}（{header[column]}）被改动：表中为“{cell.value}”，系统中为“{value}”")
        choice, note = cells[len(header)].value, cells[len(header) + 1].value
        where = f"{cells[len(header)].coordinate}（申请 {expected.claim_id}）"
        if choice is None or str(choice).strip() == "":
            problems.append(f"{where}：审核结论为空")
        elif str(choice).strip() not in CHOICES:
            problems.append(f"{where}：审核结论“{choice}”无效，应为 通过、退回 或 不予补助")
        else:
            decisions.append((expected, CHOICES[str(choice).strip()], str(note or "").strip()))
    if problems:
        raise Refusal("REVIEW_REFUSED", f"{path} 未导入，共 {len(problems)} 处问题：\n  " + "\n  ".join(problems))
    versions = json.loads(meta.get("versions") or "{}")
    counts: dict[str, int] = defaultdict(int)
    for row, decision, note in decisions:
        decide(session, row.claim_id, decision, user, note, expected_version=versions.get(row.claim_id))
        counts[decision] += 1
    return ReviewImport(batch_id, dict(counts))


def _same(found, expected) -> bool:
    if isinstance(expected, Decimal):
        try:
            return found is not None and Decimal(str(found)).quantize(Decimal("0.01")) == expected
        except ArithmeticError:
            return False
    return str(found if found is not None else "") == str(expected)
