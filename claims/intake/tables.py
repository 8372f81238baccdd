"""Read a CSV (UTF-8, with or without BOM) or XLSX (first sheet) file into a header and raw rows."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from claims.problems import Problem, ProblemsFound


@dataclass
class Table:
    file: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number in the file, cells); header is row 1


def read_table(path: str | Path) -> Table:
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ProblemsFound([Problem("INPUT_NOT_FOUND", "找不到文件", name)])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        cells = _xlsx_rows(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        cells = _csv_rows(path)
    else:
        raise ProblemsFound([Problem("INPUT_FORMAT", "只支持 CSV（UTF-8）或 XLSX 文件", name)])
    try:
        rows = list(cells)
    except UnicodeDecodeError:
        raise ProblemsFound([Problem("INPUT_ENCODING", "CSV 文件须为 UTF-8 编码（可带 BOM）；请在 Excel 中另存为“CSV UTF-8”", name)]) from None
    except Exception as exc:  # a damaged workbook: say so, located at the file
        raise ProblemsFound([Problem("INPUT_UNREADABLE", f"无法读取文件：{exc}", name)]) from None
    if not rows:
        raise ProblemsFound([Problem("INPUT_EMPTY", "文件为空，没有表头", name, 1)])
    header = [str(cell if cell is not None else "").strip() for cell in rows[0]]
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(row)]
    return Table(name, header, body)


def _csv_rows(path: Path) -> Iterator[list[Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.reader(handle)


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    sheet = workbook.get_sheet_by_index(0)
    for row in sheet.to_python(skip_empty_area=False):
        yield [_xlsx_cell(cell) for cell in row]


def _xlsx_cell(cell: Any) -> Any:
    if isinstance(cell, str):
        return cell if cell.strip() else None
    if isinstance(cell, datetime):
        return cell.date() if cell.time() == datetime.min.time() else cell
    if isinstance(cell, date):
        return cell
    if isinstance(cell, float):
        # XLSX stores numbers as text of a double; repr gives back the shortest text, e.g. 123.45
        return int(cell) if cell.is_integer() else repr(cell)
    return cell
