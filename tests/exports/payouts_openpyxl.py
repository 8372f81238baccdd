"""The payout workbook as written before its claim sheets were written as XML (exports/payouts.py up to
2026-12-01): every cell through openpyxl. Kept only as the reference that tests/exports/test_payout_writer.py
compares the workbook against, cell by cell."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from claims.money import ZERO
from claims.workflow.payouts import PayoutClaim, PayoutData, mask_id
from exports.payouts import NO_ACCOUNT, SIGNATURES, _cell, _prepare, _Styles, detail_header
from exports.safety import atomic_output, sheet_title
from exports.sheetxml import expand_rows, height_for
from exports.words import beijing_today, cn_date

# the styles, the cell helper, the sheet set-up and the header are the exporter's own (shared, not copied): what
# this reference keeps is writing every row through openpyxl, which the exporter no longer does


def _detail_sheet(book: Workbook, styles: _Styles, title: str, data: PayoutData, claims: list[PayoutClaim],
                  step: Callable[[], None]) -> None:
    sheet = book.create_sheet(title)
    header = detail_header(data)
    _prepare(sheet, [14, 12, 10, 22, 28] + [18] * len(data.items) + [14, 24, 24], 1)
    sheet.append([_cell(sheet, h, styles.header) for h in header])
    for claim in claims:
        row = [claim.claim.claim_id, claim.member.member_id, claim.member.name, mask_id(claim.member.id_number),
               claim.member.unit]
        cells = [_cell(sheet, v) for v in row]
        cells += [_cell(sheet, claim.per_item[code], styles.money) for code, _ in data.items]
        cells.append(_cell(sheet, claim.total, styles.money))
        if claim.has_account:
            cells += [_cell(sheet, claim.member.bank_name), _cell(sheet, claim.member.bank_account)]
        else:
            cells += [_cell(sheet, claim.member.bank_name, styles.warn), _cell(sheet, NO_ACCOUNT, styles.warn)]
        sheet.append(cells)
        step()
    total_cells = [_cell(sheet, "合计", styles.header)] + [_cell(sheet, None) for _ in range(4)]
    total_cells += [_cell(sheet, sum((c.per_item[code] for c in claims), ZERO), styles.total) for code, _ in data.items]
    total_cells.append(_cell(sheet, sum((c.total for c in claims), ZERO), styles.total))
    sheet.append(total_cells)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(claims) + 1}"


def _summary_sheet(book: Workbook, styles: _Styles, data: PayoutData, issued: date) -> dict[int, float]:
    """The summary; returns the heights its wrapped rows need to print whole (row number → points)."""
    sheet = book.create_sheet("汇总")
    items = data.items
    header = ["单位", "申请数", "人数", *(f"{name}（元）" for _, name in items), "合计（元）"]
    widths = [32, 10, 10] + [20] * len(items) + [16]
    _prepare(sheet, widths, 4)
    heights = {4: height_for(zip(header, widths, strict=True))}
    batch = data.batch
    sheet.append([_cell(sheet, f"{data.policy.scheme.name} 补助发放汇总表", styles.title)])
    sheet.append([_cell(sheet, f"批次 {batch.id}（{batch.name}），{batch.period} 年度；导出日期 {cn_date(issued)}；金额单位：元")])
    sheet.append([_cell(sheet, f"签发机构：{data.policy.scheme.issuer}")])
    sheet.append([_cell(sheet, h, styles.header) for h in header])
    units = data.by_unit()
    for number, (unit, claims) in enumerate(units.items(), start=5):
        heights[number] = height_for([(unit, widths[0])])
        sheet.append([_cell(sheet, unit, styles.label), len(claims), len({c.member.member_id for c in claims}),
                      *(_cell(sheet, sum((c.per_item[code] for c in claims), ZERO), styles.money) for code, _ in items),
                      _cell(sheet, sum((c.total for c in claims), ZERO), styles.money)])
    sheet.append([_cell(sheet, "总计", styles.header), len(data.claims), len({c.member.member_id for c in data.claims}),
                  *(_cell(sheet, sum((c.per_item[code] for c in data.claims), ZERO), styles.total) for code, _ in items),
                  _cell(sheet, data.total, styles.total)])
    without = [c for c in data.claims if not c.has_account and c.total > 0]
    sheet.append([])
    sheet.append([_cell(sheet, h, styles.header) for h in ("控制数", "件数", "人数", "金额（元）")])
    paid_by_bank = [c for c in data.claims if c.has_account and c.total > 0]
    first_control = 4 + len(units) + 4
    for number, (label, claims) in enumerate((
            ("银行转账（见银行文件）", paid_by_bank), ("缺银行账号，待补后另行发放（见“待补银行账号”表）", without),
            ("补助为零（仅通知，不发放）", [c for c in data.claims if c.total == 0])), start=first_control):
        heights[number] = height_for([(label, widths[0])])
        sheet.append([_cell(sheet, label, styles.label), len(claims), len({c.member.member_id for c in claims}),
                      _cell(sheet, sum((c.total for c in claims), ZERO), styles.money)])
    sheet.append([])
    for role in SIGNATURES:  # signed on paper: who made, checked and approved the list
        sheet.append([_cell(sheet, f"{role}（签字）：", styles.sign), None, None,
                      _cell(sheet, "日期：　　　　年　　月　　日", styles.sign)])
        sheet.append([])
    sheet.auto_filter.ref = f"A4:{get_column_letter(len(header))}{4 + len(units)}"
    return heights


def write_payouts(data: PayoutData, out: str | Path, by_unit: bool = False, issued: date | None = None,
                  step: Callable[[], None] = lambda: None) -> dict[str, Decimal | int]:
    """Write the workbook; returns the control figures it shows."""
    book = Workbook(write_only=True)
    styles = _Styles(book)
    summary_heights = _summary_sheet(book, styles, data, issued or beijing_today())
    _detail_sheet(book, styles, "明细", data, data.claims, step)
    without = [c for c in data.claims if not c.has_account and c.total > 0]
    _detail_sheet(book, styles, "待补银行账号", data, without, lambda: None)
    if by_unit:
        taken = set(book.sheetnames)
        for unit, claims in data.by_unit().items():
            _detail_sheet(book, styles, sheet_title(unit, taken), data, claims, lambda: None)
    header = detail_header(data)
    header_height = height_for(zip(header, [14, 12, 10, 22, 28] + [18] * len(data.items) + [14, 24, 24], strict=True))
    with atomic_output(out) as temporary:
        book.save(temporary)
        # rows whose text wraps get the height it needs: openpyxl's write-only sheets write no row heights
        heights = {f"xl/worksheets/sheet{n}.xml": {1: header_height} for n in range(2, len(book.sheetnames) + 1)}
        expand_rows(temporary, {}, heights={"xl/worksheets/sheet1.xml": summary_heights, **heights})
    return {"claims": len(data.claims), "members": len({c.member.member_id for c in data.claims}),
            "total": data.total, "without_account": len(without),
            "without_account_total": sum((c.total for c in without), ZERO)}

