"""The review workbook: one row per claim of a batch with its computed amounts (locked) and a decision
column with a drop-down. Importing it back applies the decisions — and refuses a sheet whose computed
cells were altered (money compared exactly, to the fen), that belongs to another batch, or whose claims
have moved or changed since, naming the cells.

Sizes: the sheet is written in openpyxl's write-only mode with one data validation for the whole
decision column, and read back with calamine (review_sheet.py, in any form Excel, WPS or LibreOffice saves
it), so both grow linearly with the batch. What identifies
the sheet (batch id, a fingerprint of every computed cell, and each claim's version, one row per claim)
is on a very hidden, protected sheet in a workbook whose structure is locked; the fingerprint covers the
versions, and the import checks every claim's version and batch against the database anyway."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.engine.reasons import Reason
from claims.money import from_fen
from claims.policy.schema import EVENT_TYPE_NAMES
from claims.store.models import ClaimRow, MemberRow, ResultLineRow
from claims.workflow.access import record_access
from claims.workflow.batches import batch_lines, get_batch, policy_of
from claims.workflow.decisions import apply_decisions
from claims.workflow.errors import Refusal
from claims.workflow.review_sheet import SheetMissing, SheetTooLarge, read_sheets
from claims.workflow.users import require
from exports.progress import Progress
from exports.safety import atomic_output, page_setup, text_cell
from exports.sheetxml import Tall, expand_rows, height_for, lines_for

CHOICES = {"通过": "approve", "退回": "return", "不予补助": "refuse"}
SHEET, META = "审核表", "批次信息"
FIRST_ROW = 4  # rows 1–2: title and notes; row 3: header
META_FIRST_CLAIM = 4  # hidden sheet: rows 1–3 batch id, fingerprint, format; then one row per claim
FORMAT = "claims-review/2"
NO_AMOUNT = Decimal("0.00")


@dataclass
class ReviewRow:
    claim_id: str
    version: int
    cells: list  # the computed cells, in column order


def _rows(session: Session, batch_id: int) -> tuple[list[str], list[ReviewRow]]:
    batch = get_batch(session, batch_id)
    policy = policy_of(batch).policy
    items = [item.code for item in policy.items]
    benefit_names = {b.code: b.name for item in policy.items for b in item.benefits}
    item_names = {item.code: item.name for item in policy.items}
    lines_by_claim = defaultdict(list)
    # columns as plain tuples, not ORM objects nor rows read by name: a 100,000-claim batch loads in a fraction of
    # the time
    claims = {c[0]: c for c in session.execute(select(
        ClaimRow.claim_id, ClaimRow.member_id, ClaimRow.state, ClaimRow.batch_id, ClaimRow.event_type,
        ClaimRow.admission_date, ClaimRow.discharge_date, ClaimRow.diagnoses, ClaimRow.version,
        ClaimRow.decision_note).where(ClaimRow.batch_id == batch_id))}
    # each claim's current lines: a claim recalculated after an earlier claim was returned shows its new figures
    for claim_id, *line in session.execute(select(ResultLineRow.claim_id, ResultLineRow.item, ResultLineRow.benefit,
                                                  ResultLineRow.amount_fen, ResultLineRow.reason).where(
            ResultLineRow.claim_id.in_(select(ClaimRow.claim_id).where(ClaimRow.batch_id == batch_id)),
            ResultLineRow.current.is_(True)).order_by(ResultLineRow.batch_id, ResultLineRow.position)):
        lines_by_claim[claim_id].append(line)
    if not claims and batch_lines(session, batch_id):
        raise Refusal("REVIEW_NOT_REGULAR", f"批次 {batch_id} 是更正或重算批次，请用 claims correction approve/reject 复核")
    member_ids = sorted({c[1] for c in claims.values()})
    members = {}
    for start in range(0, len(member_ids), 5000):  # bounded IN lists (PostgreSQL and SQLite limits)
        chunk = member_ids[start:start + 5000]
        members.update({m[0]: m for m in session.execute(
            select(MemberRow.member_id, MemberRow.name, MemberRow.unit).where(MemberRow.member_id.in_(chunk)))})
    header = ["申请编号", "会员编号", "姓名", "单位", "类别", "入院日期", "出院日期", "诊断编码"] + \
             [f"{item.name}（元）" for item in policy.items] + ["合计（元）", "原因"]
    rows = []
    said: dict[tuple[str, str, str], str] = {}  # (benefit, item, reason) → its words: a batch repeats a few
    for claim_id in sorted(lines_by_claim):
        claim, lines = claims[claim_id], lines_by_claim[claim_id]
        (_, member_id, state, claim_batch, event_type, admission, discharge, diagnoses, version, note) = claim
        if state != "calculated" or claim_batch != batch_id:
            continue  # already decided one at a time, or moved to another batch: nothing left to review here
        _, name, unit = members[member_id]
        per_item = dict.fromkeys(items, NO_AMOUNT)
        reasons = []
        for item, benefit, amount_fen, reason in lines:
            if item:
                per_item[item] += from_fen(amount_fen)
            if reason:
                words = said.get((benefit, item, reason))
                if words is None:
                    words = said[(benefit, item, reason)] = \
                        f"{benefit_names.get(benefit) or item_names.get(item) or '整件'}：{Reason(reason).text}"
                reasons.append(words)
        reasons = "；".join(reasons)
        if note:
            reasons = "；".join(part for part in (note, reasons) if part)
        cells = [claim_id, member_id, name, unit, EVENT_TYPE_NAMES[event_type],
                 admission.isoformat(), discharge.isoformat(), diagnoses,
                 *(per_item[code] for code in items), sum(per_item.values(), NO_AMOUNT), reasons]
        rows.append(ReviewRow(claim_id, version, cells))
    return header, rows


def _fingerprint(batch_id: int, header: list[str], rows: list[ReviewRow]) -> str:
    digest = hashlib.sha256(json.dumps([batch_id, header], ensure_ascii=False).encode())
    for row in rows:  # streamed: no one string of the whole batch
        digest.update(json.dumps([row.version, [str(c) for c in row.cells]], ensure_ascii=False).encode())
    return digest.hexdigest()


def export_review(session: Session, batch_id: int, out: str | Path, user: str, progress: bool = True) -> int:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    require(session, user, "read")
    batch = get_batch(session, batch_id)
    header, rows = _rows(session, batch_id)
    if not rows:
        raise Refusal("NOTHING_TO_REVIEW", f"批次 {batch_id} 没有待审核（已计算）的申请，无需导出审核表")
    book = Workbook(write_only=True)
    money = NamedStyle("money", number_format="#,##0.00")
    wrap = NamedStyle("wrap", alignment=Alignment(wrap_text=True, vertical="top"))
    head = NamedStyle("head", font=Font(bold=True), fill=PatternFill("solid", fgColor="DDEBF7"),
                      alignment=Alignment(wrap_text=True, vertical="center"))
    title = NamedStyle("title14", font=Font(bold=True, size=14))
    editable = NamedStyle("editable", fill=PatternFill("solid", fgColor="FFF2CC"), protection=Protection(locked=False))
    for style in (money, wrap, head, title, editable):
        book.add_named_style(style)
    sheet = book.create_sheet(SHEET)
    full_header = header + ["审核结论", "备注"]
    last_row = FIRST_ROW - 1 + len(rows)
    widths = [14, 12, 8, 22, 12, 12, 12, 16] + [16] * (len(header) - 10) + [14, REASON_WIDTH, 12, 30]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = f"C{FIRST_ROW}"
    page_setup(sheet, 3)
    sheet.protection.sheet = True
    sheet.protection.autoFilter = False
    sheet.protection.sort = True
    decision_letter = get_column_letter(len(header) + 1)
    choices = DataValidation(type="list", formula1='"通过,退回,不予补助"', allow_blank=False, showDropDown=False,
                             sqref=f"{decision_letter}{FIRST_ROW}:{decision_letter}{max(FIRST_ROW, last_row)}")
    choices.error, choices.errorTitle = "请从下拉列表中选择：通过、退回、不予补助", "审核结论无效"
    sheet.data_validations.append(choices)  # one validation for the whole column: linear in the batch
    sheet.auto_filter.ref = f"A3:{get_column_letter(len(full_header))}{max(3, last_row)}"
    sheet.append([text_cell(sheet, f"审核表 — 批次 {batch.id}（{batch.name}），共 {len(rows)} 件申请", title)])
    sheet.append([text_cell(sheet, "请在“审核结论”列选择 通过 / 退回 / 不予补助，可在“备注”列填写说明；"
                                  "其他单元格已锁定，请勿修改。")])
    sheet.append([text_cell(sheet, h, head) for h in full_header])
    money_columns = set(range(8, len(header) - 1))
    # openpyxl writes the first claim's row as a sample (its styles); exports/sheetxml.py writes every row
    sample = [text_cell(sheet, value, money if index in money_columns else None)
              for index, value in enumerate(rows[0].cells)]
    sample[-1].style = "wrap"
    sheet.append(sample + [text_cell(sheet, None, editable), text_cell(sheet, None, editable)])
    meta = book.create_sheet(META)
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True
    meta.append(["batch_id", batch.id])
    meta.append(["fingerprint", _fingerprint(batch.id, header, rows)])
    meta.append(["format", FORMAT])
    # one row per claim: no cell grows with the batch (Excel keeps 32,767 characters a cell)
    meta.append([text_cell(meta, rows[0].claim_id), rows[0].version])
    from openpyxl.workbook.protection import WorkbookProtection

    book.security = WorkbookProtection(lockStructure=True)  # no sheet can be unhidden, deleted or added
    bar = Progress(len(rows), "写入审核表") if progress else None
    with atomic_output(out) as temporary:
        book.save(temporary)
        expand_rows(temporary, {
            "xl/worksheets/sheet1.xml": (FIRST_ROW, (_printed(row.cells) for row in rows)),
            "xl/worksheets/sheet2.xml": (META_FIRST_CLAIM, ([row.claim_id, row.version] for row in rows))},
            step=(lambda name, count: bar.step(count) if name.endswith("sheet1.xml") else None) if bar else None,
            heights={"xl/worksheets/sheet1.xml": {FIRST_ROW - 1: height_for(zip(full_header, widths, strict=True))}})
    if bar:
        bar.close()
    record_access(session, user, (row.cells[1] for row in rows), "review.export", f"批次 {batch_id}")
    return len(rows)


REASON_WIDTH = 50


def _printed(cells: list) -> list:
    """A claim's row with its two empty decision cells; as tall as its wrapped reasons need, so that
    printed (or opened) they do not run over the next claim."""
    values = [*cells, None, None]
    lines = lines_for(cells[-1], REASON_WIDTH)
    return Tall(values, height_for([(cells[-1], REASON_WIDTH)])) if lines > 1 else values


@dataclass
class ReviewImport:
    batch_id: int
    decided: dict[str, int]
    recalculated: list[str] = field(default_factory=list)  # re-evaluated by a return/refusal of this sheet


def import_review(session: Session, path: str | Path, user: str) -> ReviewImport:
    """Apply every decision of the sheet, or none: the sheet is refused whole on any problem."""
    require(session, user, "decide")
    try:
        return _import_review(session, path, user)
    except Refusal:
        raise
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, IndexError, AttributeError) as error:
        raise Refusal("REVIEW_UNREADABLE", f"{path}：无法读取审核表（{type(error).__name__}），"
                                           "文件可能已损坏或不是本系统导出的 XLSX；请重新导出") from None


def _import_review(session: Session, path: str | Path, user: str) -> ReviewImport:
    from openpyxl.utils import get_column_letter

    try:
        sheets = read_sheets(path, [SHEET, META])
    except SheetMissing:
        raise Refusal("REVIEW_NOT_A_SHEET", f"{path} 不是本系统导出的审核表（缺少“{SHEET}”或“{META}”工作表）") from None
    except SheetTooLarge as error:
        name, used_rows, used_columns = error.args
        raise Refusal("REVIEW_TOO_LARGE", f"{path}：工作表“{name}”用到了 {used_rows:,} 行 × {used_columns:,} 列，远超审核表的"
                                          "范围；如在表格下方或右侧误填了单元格，请删除后保存，再重新导入") from None
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, ElementTree.ParseError) as error:
        raise Refusal("REVIEW_UNREADABLE", f"{path}：不是可读取的 XLSX 文件（{type(error).__name__}），"
                                           "请用本系统导出的审核表") from None
    meta_rows = sheets[META]
    meta = {row[0]: row[1] for row in meta_rows[:META_FIRST_CLAIM - 1] if len(row) > 1 and row[0] != ""}
    try:
        batch_id = _whole(meta.get("batch_id"))
    except (TypeError, ValueError, ArithmeticError):
        raise Refusal("REVIEW_NO_BATCH", f"{path}：“{META}”表 B1 的批次号缺失或无效") from None
    versions: dict[str, int] = {}
    for number, row in enumerate(meta_rows[META_FIRST_CLAIM - 1:], start=META_FIRST_CLAIM):
        if not row or _blank(row[0]):
            continue
        try:
            versions[str(row[0])] = _whole(row[1])
        except (TypeError, ValueError, ArithmeticError, IndexError):
            raise Refusal("REVIEW_NO_VERSIONS", f"{path}：“{META}”表第 {number} 行的申请版本无效，"
                                                "请重新导出审核表") from None
    header, rows = _rows(session, batch_id)
    if meta.get("format") != FORMAT:
        raise Refusal("REVIEW_OLD_FORMAT", f"{path}：审核表格式不是本版本导出的（{meta.get('format') or '旧版'}），"
                                           f"请重新导出批次 {batch_id} 的审核表")
    if meta.get("fingerprint") != _fingerprint(batch_id, header, rows):
        raise Refusal("REVIEW_OTHER_BATCH", f"{path}：审核表与批次 {batch_id} 当前的计算结果不符（不是该批次导出的表，"
                                            "或批次已被更正），请重新导出")
    missing = [row.claim_id for row in rows if row.claim_id not in versions]
    if missing or len(versions) != len(rows):
        raise Refusal("REVIEW_NO_VERSIONS", f"{path}：“{META}”表缺少 {len(missing) or abs(len(versions) - len(rows))} "
                                            f"件申请的版本（如 {(missing or ['?'])[0]}），请重新导出审核表")
    problems, decisions = [], []
    width = len(header) + 2
    sheet_rows = [(r[:width] + [""] * (width - len(r))) if len(r) != width else r for r in sheets[SHEET][FIRST_ROW - 1:]]
    del sheets
    while sheet_rows and all(_blank(v) for v in sheet_rows[-1]):
        sheet_rows.pop()
    if len(sheet_rows) != len(rows):
        problems.append(f"表中有 {len(sheet_rows)} 行申请，批次 {batch_id} 有 {len(rows)} 件（行被增删）")
    letters = [get_column_letter(i) for i in range(1, width + 1)]
    for number, (expected, cells) in enumerate(zip(rows, sheet_rows, strict=False), start=FIRST_ROW):
        for column, value in enumerate(expected.cells):
            found = cells[column]
            # equal text, or an equal number (int or Decimal) for an amount: what _same accepts, without its
            # conversions for the 1.6 million cells of a 100,000-claim sheet; a bool never (True == 1)
            if found == value and type(found) is not bool:
                continue
            if not _same(found, value):
                problems.append(f"{letters[column]}{number}（{header[column]}）被改动：表中为“{found}”，系统中为“{value}”")
        choice, note = cells[len(header)], cells[len(header) + 1]
        where = f"{letters[len(header)]}{number}（申请 {expected.claim_id}）"
        if _blank(choice):
            problems.append(f"{where}：审核结论为空")
        elif str(choice).strip() not in CHOICES:
            problems.append(f"{where}：审核结论“{choice}”无效，应为 通过、退回 或 不予补助")
        else:
            decisions.append((expected, CHOICES[str(choice).strip()], str(note or "").strip()))
        if len(problems) > 200:
            problems.append("……问题过多，其余未列出")
            break
    if problems:
        raise Refusal("REVIEW_REFUSED", f"{path} 未导入，共 {len(problems)} 处问题：\n  " + "\n  ".join(problems))
    moved = _moved_claims(session, batch_id, versions)
    if moved:
        raise Refusal("REVIEW_STALE", f"{path} 未导入：{len(moved)} 件申请在审核表导出后已变动（" + "；".join(moved[:20])
                      + "），请重新导出批次的审核表")
    counts, recalculated = apply_decisions(
        session, [(row.claim_id, decision, note, versions[row.claim_id]) for row, decision, note in decisions], user)
    return ReviewImport(batch_id, counts, recalculated)


def _moved_claims(session: Session, batch_id: int, versions: dict[str, int]) -> list[str]:
    """Claims no longer in this batch, or of another version than the sheet's."""
    moved, ids = [], list(versions)
    for start in range(0, len(ids), 5000):
        # three columns, not ORM objects: 100,000 claims would fill the session with objects never used
        for claim in session.execute(select(ClaimRow.claim_id, ClaimRow.batch_id, ClaimRow.version)
                                     .where(ClaimRow.claim_id.in_(ids[start:start + 5000]))):
            if claim.batch_id != batch_id:
                moved.append(f"申请 {claim.claim_id} 现属批次 {claim.batch_id}")
            elif claim.version != versions[claim.claim_id]:
                moved.append(f"申请 {claim.claim_id} 版本 {versions[claim.claim_id]} → {claim.version}")
    return moved


def _whole(value) -> int:
    """A batch id or claim version as the sheet holds it: a whole number, or the text of one; 2.5 is refused
    (ValueError), not cut to 2."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return int(value.strip())
    raise ValueError(value)


def _blank(value) -> bool:
    return value is None or str(value).strip() == ""


def _same(found, expected) -> bool:
    if isinstance(expected, Decimal):  # exactly, to the fen: 1234.504 is not 1234.50
        if isinstance(found, bool) or found is None:
            return False
        try:
            return Decimal(str(found).strip()) == expected
        except ArithmeticError:
            return False
    return str(found if found is not None else "") == str(expected)
