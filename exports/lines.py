"""Result lines rendered (contract CSV cells, JSON records with explanations) and written as CSV, JSON or XLSX."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from typing import IO

from claims.engine.explain import explanation_json, line_summary
from claims.engine.model import ResultLine
from claims.money import fmt

CSV_COLUMNS = ("claim_id", "member_id", "period", "item", "benefit", "amount", "reason")
XLSX_HEADERS = ("申请编号", "会员编号", "互助期", "保障项目", "保障责任", "补助金额（元）", "原因代码", "原因", "计算说明")


def contract_row(line: ResultLine) -> list[str]:
    return [line.claim_id, line.member_id, str(line.period), line.item, line.benefit, fmt(line.amount),
            line.reason.value if line.reason else ""]


def json_record(line: ResultLine) -> dict:
    record = dict(zip(CSV_COLUMNS, contract_row(line), strict=True))
    record["period"] = line.period
    record["reason_text"] = line.reason.text if line.reason else ""
    record["explanation_text"] = line_summary(line)
    record["explanation"] = explanation_json(line.explanation)
    return record


def _dump_json(records: list[dict], out: IO[str]) -> None:
    json.dump({"lines": records}, out, ensure_ascii=False, indent=2)
    out.write("\n")


def _write_xlsx_records(records: list[dict], path: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "计算结果"
    sheet.append(XLSX_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in records:
        sheet.append([r["claim_id"], r["member_id"], r["period"], r["item"], r["benefit"], Decimal(r["amount"]),
                      r["reason"], r["reason_text"], r["explanation_text"]])
        sheet.cell(sheet.max_row, 6).number_format = "#,##0.00"
        sheet.cell(sheet.max_row, 9).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFGHI", (14, 12, 8, 12, 18, 14, 18, 30, 80), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    workbook.save(path)


def write_rows(rows: list, fmt: str, out: str, stdout: IO[str]) -> Decimal:
    """Write rendered rows (contract rows for CSV, records for JSON/XLSX); returns the total amount."""
    if fmt == "xlsx":
        _write_xlsx_records(rows, out)
    else:
        handle = stdout if out == "-" else open(out, "w", encoding="utf-8", newline="")
        try:
            if fmt == "csv":
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(CSV_COLUMNS)
                writer.writerows(rows)
            else:
                _dump_json(rows, handle)
        finally:
            if handle is not stdout:
                handle.close()
    return sum((Decimal(row[5] if fmt == "csv" else row["amount"]) for row in rows), Decimal("0.00"))
