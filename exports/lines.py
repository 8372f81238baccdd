"""Result lines rendered (contract CSV cells, JSON records with explanations) and written as CSV, JSON or XLSX."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from typing import IO

from claims.engine.explain import explanation_json, line_summary
from claims.engine.model import ResultLine
from claims.money import fmt
from exports.safety import atomic_output, csv_text, page_setup, safe_cells

CSV_COLUMNS = ("claim_id", "member_id", "period", "item", "benefit", "amount", "reason")
XLSX_HEADERS = ("申请编号", "会员编号", "互助期", "保障项目", "保障责任", "补助金额（元）", "原因", "计算说明")


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


def policy_names(policy) -> dict:
    """Chinese names of the policy's items (by code) and benefits (by (item, benefit) code), for what people read."""
    names: dict = {item.code: item.name for item in policy.items}
    names.update({(item.code, b.code): b.name for item in policy.items for b in item.benefits})
    return names


def _write_xlsx_records(records: list[dict], path: str, names: dict | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    names = names or {}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "计算结果"
    sheet.append(XLSX_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, r in enumerate(records, start=2):
        sheet.append(safe_cells(sheet, [r["claim_id"], r["member_id"], r["period"], names.get(r["item"], r["item"]) if r["item"] else "",
                                        names.get((r["item"], r["benefit"]), r["benefit"]) if r["benefit"] else "", Decimal(r["amount"]), r["reason_text"],
                                        r["explanation_text"]]))
        sheet.cell(number, 6).number_format = "#,##0.00"
        sheet.cell(number, 8).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDEFGH", (14, 12, 8, 16, 22, 14, 30, 80), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    page_setup(sheet, 1)
    with atomic_output(path) as temporary:
        workbook.save(temporary)


def _write_text(rows: list, fmt: str, handle: IO[str]) -> None:
    if fmt == "csv":
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        # the ids came from outside: never a formula; codes, amounts and reasons are our own and stay as they are
        writer.writerows([[csv_text(row[0]), csv_text(row[1]), *row[2:]] for row in rows])
    else:
        _dump_json(rows, handle)


def write_rows(rows: list, fmt: str, out: str, stdout: IO[str], names: dict | None = None) -> Decimal:
    """Write rendered rows (contract rows for CSV, records for JSON/XLSX); returns the total amount."""
    if fmt == "xlsx":
        _write_xlsx_records(rows, out, names)
    elif out == "-":
        _write_text(rows, fmt, stdout)
    else:
        with atomic_output(out) as temporary, open(temporary, "w", encoding="utf-8", newline="") as handle:
            _write_text(rows, fmt, handle)
    return sum((Decimal(row[5] if fmt == "csv" else row["amount"]) for row in rows), Decimal("0.00"))
