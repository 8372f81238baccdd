"""Result lines as the contract CSV (SPEC §5), JSON with explanations, or a readable XLSX sheet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import IO

from claims.engine.explain import explanation_json, line_summary
from claims.engine.model import ResultLine
from claims.money import fmt

CSV_COLUMNS = ("claim_id", "member_id", "period", "item", "benefit", "amount", "reason")
XLSX_HEADERS = ("申请编号", "会员编号", "互助期", "保障项目", "保障责任", "补助金额（元）", "原因代码", "原因", "计算说明")


def contract_row(line: ResultLine) -> list[str]:
    return [line.claim_id, line.member_id, str(line.period), line.item, line.benefit, fmt(line.amount),
            line.reason.value if line.reason else ""]


def write_csv(lines: Sequence[ResultLine], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(contract_row(line) for line in lines)


def csv_text(lines: Sequence[ResultLine]) -> str:
    buffer = io.StringIO()
    write_csv(lines, buffer)
    return buffer.getvalue()


def write_json(lines: Sequence[ResultLine], out: IO[str]) -> None:
    records = []
    for line in lines:
        record = dict(zip(CSV_COLUMNS, contract_row(line), strict=True))
        record["period"] = line.period
        record["reason_text"] = line.reason.text if line.reason else ""
        record["explanation_text"] = line_summary(line)
        record["explanation"] = explanation_json(line.explanation)
        records.append(record)
    json.dump({"lines": records}, out, ensure_ascii=False, indent=2)
    out.write("\n")


def write_xlsx(lines: Sequence[ResultLine], path: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = "计算结果"
    sheet.append(XLSX_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in lines:
        sheet.append([line.claim_id, line.member_id, line.period, line.item, line.benefit, line.amount,
                      line.reason.value if line.reason else "", line.reason.text if line.reason else "",
                      line_summary(line)])
        sheet.cell(sheet.max_row, 6).number_format = "#,##0.00"
        sheet.cell(sheet.max_row, 9).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFGHI", (14, 12, 8, 12, 18, 14, 18, 30, 80), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    workbook.save(path)
