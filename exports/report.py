"""The period report workbook (补助支出 ÷ 互助金收入 …) with openpyxl charts; every total reconciles to the fen."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from claims.workflow.decisions import STATE_NAMES
from claims.workflow.report import Figures, Report
from exports.safety import atomic_output, text_cell

MONEY, RATIO = "#,##0.00", "0.00%"
HEADER = ["", "参保人数", "份数", "互助金收入（元）", "申请件数", "补助人次", "补助支出（元）", "补助率", "人均补助（元）"]


def _row(label: str, f: Figures) -> list:
    return [label, len(f.members), f.shares, f.income, len(f.claims), len(f.paid_claims), f.paid,
            f.ratio if f.ratio is not None else "—", f.average if f.average is not None else "—"]


def write_report(report: Report, out: Path) -> Decimal:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    summary.append(_texts(summary, [f"{report.period} 年度职工医疗互助保障情况（{report.policy.policy.scheme.name}）"]))
    summary.append(_texts(summary, HEADER))
    summary.append(_texts(summary, _row("合计", report.total)))
    summary.append([])
    summary.append(_texts(summary, ["已通过未支付（元）", report.approved_unpaid]))
    summary.append(_texts(summary, ["待追回（元）", report.recoveries]))
    summary.append(_texts(summary, ["申请状态", "，".join(f"{STATE_NAMES.get(s, s)} {n} 件"
                                                            for s, n in sorted(report.states.items()))]))
    summary.append(_texts(summary, ["说明", "补助率 = 补助支出 ÷ 互助金收入；补助支出为已支付（到账）的补助；"
                                        "人均补助 = 补助支出 ÷ 补助人次"]))
    sheets = []
    for title, groups in (("按项目", report.items), ("按单位", report.units)):
        sheet = book.create_sheet(title)
        sheet.append(_texts(sheet, [title[1:]] + HEADER[1:]))
        for label, figures in groups.items():
            sheet.append(_texts(sheet, _row(label, figures)))
        rows = len(groups)
        chart = BarChart()
        chart.type, chart.title, chart.y_axis.title = "col", f"{title}：互助金收入与补助支出", "元"
        chart.add_data(Reference(sheet, min_col=4, min_row=1, max_row=rows + 1), titles_from_data=True)
        chart.add_data(Reference(sheet, min_col=7, min_row=1, max_row=rows + 1), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows + 1))
        chart.width, chart.height = 18, 9
        sheet.add_chart(chart, f"A{rows + 4}")
        sheets.append(sheet)
    check = book.create_sheet("批次核对")
    check.append(_texts(check, ["批次", "名称", "状态", "本期已支付补助（元）"]))
    for batch_id, name, state, paid in report.batches:
        check.append(_texts(check, [batch_id, name, state, paid]))
    by_batch = sum((b[3] for b in report.batches), Decimal("0.00"))
    check.append(_texts(check, ["合计", "", "", by_batch]))
    check.append(_texts(check, ["与汇总的补助支出核对", "", "", "一致" if by_batch == report.total.paid else "不一致"]))
    for sheet in (summary, *sheets, check):
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, Decimal):
                    cell.number_format = RATIO if cell.column == 8 and sheet is not check else MONEY
        sheet.column_dimensions["A"].width = 26
        for letter in "BCDEFGHI":
            sheet.column_dimensions[letter].width = 14
    for cell in summary[2] + check[1] + sheets[0][1] + sheets[1][1]:
        cell.font = Font(bold=True)
    summary["A1"].font = Font(bold=True, size=14)
    with atomic_output(out, suffix=".xlsx") as temporary:
        book.save(temporary)
    return by_batch


def _texts(sheet, values) -> list:
    """A row whose strings are stored as text, never as a formula (the shared exports.safety rule)."""
    return [text_cell(sheet, value) for value in values]
