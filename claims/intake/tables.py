"""Read a CSV or XLSX file into a header and raw rows, within bounds a hostile file cannot break.

CSV: UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030 as Excel saves "CSV" on a Chinese Windows.
XLSX: the first *visible* sheet; hidden sheets are skipped and other sheets that hold data are named in a
notice. Before anything is loaded the file's size, its inflated size (zip bombs), the sheet's used area
(a lone cell at XFD1048576) and its rows and columns are checked; formula cells are located so that the
row checks can refuse them (their cached value may disagree with the formula). See docs/intake.md.
"""

from __future__ import annotations

import codecs
import csv
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from claims.problems import Problem, ProblemsFound

MAX_FILE_BYTES = 256 * 1024 * 1024  # a file on disk (CSV, or XLSX compressed)
MAX_INFLATED_BYTES = 768 * 1024 * 1024  # every part of an XLSX, inflated
MAX_ROWS = 500_000  # data rows of one file: five times the largest service center's year
MAX_COLUMNS = 200
MAX_CELLS = 12_000_000  # rows × columns of the sheet's used area, as the XLSX reader allocates it
MAX_CELL_CHARS = 32_767  # what Excel itself allows in a cell


@dataclass
class Table:
    file: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (row number in the file, cells); header is row 1
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column index) → cell name
    notices: list[Problem] = field(default_factory=list)  # told to the user, not refusals


def _refuse(code: str, message: str, name: str, line: int | None = None) -> ProblemsFound:
    return ProblemsFound([Problem(code, message, name, line)])


def read_table(path: str | Path) -> Table:
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise _refuse("INPUT_NOT_FOUND", "找不到文件", name)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _refuse("INPUT_TOO_LARGE", f"文件有 {size / 2**20:,.0f} MB，超过上限 {MAX_FILE_BYTES // 2**20} MB；"
                                         "请按单位或月份拆分后分别导入", name)
    formulas: dict[tuple[int, int], str] = {}
    notices: list[Problem] = []
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        sheet, formulas, notices = _xlsx_layout(path, name)
        cells = _xlsx_rows(path, sheet)
    elif suffix in (".csv", ".txt"):
        cells = _csv_rows(path, name)
    elif suffix == ".xls":
        raise _refuse("INPUT_FORMAT", "不支持旧版 Excel（.xls）文件；请在 Excel 中另存为 .xlsx 或“CSV UTF-8”", name)
    else:
        raise _refuse("INPUT_FORMAT", "只支持 CSV 或 XLSX 文件", name)
    try:
        rows = _bounded(cells, name)
    except ProblemsFound:
        raise
    except csv.Error as exc:
        raise _refuse("INPUT_UNREADABLE", f"CSV 格式有误（{exc}）；请在 Excel 中重新另存为 CSV", name) from None
    except Exception as exc:  # a damaged workbook: say so, located at the file
        raise _refuse("INPUT_UNREADABLE", f"无法读取文件（{type(exc).__name__}）；请在 Excel 中打开后重新保存", name) from None
    if not rows:
        raise _refuse("INPUT_EMPTY", "文件为空，没有表头", name, 1)
    header = [str(cell if cell is not None else "").strip() for cell in rows[0]]
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(c not in (None, "") for c in row)]
    return Table(name, header, body, formulas, notices)


def _bounded(cells: Iterator[list[Any]], name: str) -> list[list[Any]]:
    rows = []
    for number, row in enumerate(cells, start=1):
        if number > MAX_ROWS + 1:
            raise _refuse("INPUT_TOO_MANY_ROWS", f"超过 {MAX_ROWS:,} 行数据；请拆分后分别导入", name, number)
        if len(row) > MAX_COLUMNS:
            while row and row[-1] in (None, ""):
                row.pop()
            if len(row) > MAX_COLUMNS:
                raise _refuse("INPUT_TOO_MANY_COLUMNS", f"第 {number} 行有 {len(row)} 列，超过上限 {MAX_COLUMNS} 列",
                              name, number)
        rows.append(row)
    return rows


# ── CSV ───────────────────────────────────────────────────────────────────────────────────────────────

def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, encoding name): UTF-8 with or without BOM, UTF-16 with BOM, else GB18030 (a superset of GBK
    and GB2312, what Excel writes as "CSV" on a Chinese Windows). Raises UnicodeDecodeError if none fits."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8"), "UTF-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "GBK/GB18030"


def _csv_rows(path: Path, name: str) -> Iterator[list[Any]]:
    try:
        text, _ = decode_csv(path.read_bytes())
    except UnicodeDecodeError:
        raise _refuse("INPUT_ENCODING", "无法识别文件编码（支持 UTF-8 与 GBK/GB18030）；请在 Excel 中另存为“CSV UTF-8”",
                      name) from None
    csv.field_size_limit(MAX_CELL_CHARS * 4)
    yield from csv.reader(io.StringIO(text, newline=""))


# ── XLSX ──────────────────────────────────────────────────────────────────────────────────────────────

_CELL_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,7})"')  # a literal to search for: fast
_ANY_CELL = re.compile(rb"<(?:\w+:)?c[\s/>]")
_FORMULA = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]{1,3})([0-9]{1,7})"[^>]*>\s*<(?:\w+:)?f\b')
_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)>")
_CHUNK = 8 * 1024 * 1024


@dataclass
class _Sheet:
    name: str
    part: str
    hidden: bool


def _column_index(letters: bytes) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


def _sheets(archive: zipfile.ZipFile, name: str) -> list[_Sheet]:
    try:
        book = ElementTree.fromstring(_small(archive, "xl/workbook.xml", name))
        rels = ElementTree.fromstring(_small(archive, "xl/_rels/workbook.xml.rels", name))
    except (KeyError, ElementTree.ParseError):
        raise _refuse("INPUT_UNREADABLE", "不是有效的 XLSX 工作簿（缺少工作表目录）；请在 Excel 中打开后另存为 .xlsx",
                      name) from None
    # by local names: transitional (Excel) and strict OOXML use different namespaces
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels if _local(rel.tag) == "Relationship"}
    sheets = []
    for sheet in book.iter():
        if _local(sheet.tag) != "sheet":
            continue
        relation = next((value for key, value in sheet.attrib.items() if _local(key) == "id"), "")
        target = targets.get(relation, "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        sheets.append(_Sheet(sheet.get("name", ""), part, sheet.get("state", "visible") != "visible"))
    return sheets


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _small(archive: zipfile.ZipFile, part: str, name: str) -> bytes:
    if archive.getinfo(part).file_size > 16 * 1024 * 1024:
        raise _refuse("INPUT_TOO_LARGE", f"工作簿的 {part} 异常庞大，拒绝读取", name)
    return archive.read(part)


def _chunks(archive: zipfile.ZipFile, part: str, name: str) -> Iterator[bytes]:
    """The part inflated piece by piece, cut at cell ends, never more than MAX_INFLATED_BYTES in all."""
    total, pending = 0, b""
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_INFLATED_BYTES:
                raise _refuse("INPUT_TOO_LARGE", f"工作表解压后超过 {MAX_INFLATED_BYTES // 2**20} MB，拒绝读取", name)
            pending += chunk
            cut = pending.rfind(b"</")
            if cut <= 0:
                continue
            yield pending[:cut]
            pending = pending[cut:]
    if pending:
        yield pending


def _xlsx_layout(path: Path, name: str) -> tuple[str, dict[tuple[int, int], str], list[Problem]]:
    """The sheet to read (first visible), its formula cells, and notices about the other sheets; refuses a
    zip bomb, an oversized used area and too many rows or columns before the sheet is loaded."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise _refuse("INPUT_UNREADABLE", "不是有效的 XLSX 文件（可能已损坏或只是改了扩展名）；请在 Excel 中另存为 .xlsx",
                      name) from None
    with archive:
        inflated = sum(info.file_size for info in archive.infolist())
        if inflated > MAX_INFLATED_BYTES:
            raise _refuse("INPUT_TOO_LARGE", f"工作簿解压后有 {inflated / 2**20:,.0f} MB，超过上限 "
                                             f"{MAX_INFLATED_BYTES // 2**20} MB，拒绝读取（可能是压缩炸弹）", name)
        sheets = _sheets(archive, name)
        visible = [sheet for sheet in sheets if not sheet.hidden]
        if not visible:
            raise _refuse("INPUT_NO_VISIBLE_SHEET", "工作簿中没有可见的工作表", name)
        chosen = visible[0]
        try:
            formulas = _scan(archive, chosen, name)
        except KeyError:
            raise _refuse("INPUT_UNREADABLE", f"工作表“{chosen.name}”缺失；请在 Excel 中打开后另存为 .xlsx", name) from None
        except (zipfile.BadZipFile, EOFError, OSError, ValueError):  # a bad CRC, a truncated or lying entry
            raise _refuse("INPUT_UNREADABLE", "XLSX 文件已损坏；请在 Excel 中打开后重新保存", name) from None
        notices = _other_sheets(archive, sheets, chosen, name)
    return chosen.name, formulas, notices


def _other_sheets(archive: zipfile.ZipFile, sheets: list[_Sheet], chosen: _Sheet, name: str) -> list[Problem]:
    skipped = [sheet.name for sheet in sheets[:sheets.index(chosen)] if sheet.hidden]
    with_data = [sheet.name for sheet in sheets if sheet is not chosen and _has_data(archive, sheet, name)]
    if not (skipped or with_data):
        return []
    told = f"只读取了第一个可见的工作表“{chosen.name}”"
    if skipped:
        told += f"；跳过了隐藏的工作表“{'”“'.join(skipped)}”"
    if with_data:
        told += f"；工作表“{'”“'.join(with_data)}”也有数据，但未读取，如需导入请另存为单独的文件"
    return [Problem("INPUT_OTHER_SHEETS", told, name)]


def sheet_notices(path: str | Path) -> list[Problem]:
    """What a reader should be told about a workbook's other sheets (nothing for CSV or unreadable files,
    whose problems read_table reports)."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        return []
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_INFLATED_BYTES:
                return []
            sheets = _sheets(archive, str(path))
            visible = [sheet for sheet in sheets if not sheet.hidden]
            return _other_sheets(archive, sheets, visible[0], str(path)) if visible else []
    except (ProblemsFound, zipfile.BadZipFile, OSError, KeyError, ValueError):
        return []


def _scan(archive: zipfile.ZipFile, sheet: _Sheet, name: str) -> dict[tuple[int, int], str]:
    max_row = max_column = positioned = cells = 0
    formulas: dict[tuple[int, int], str] = {}
    for chunk in _chunks(archive, sheet.part, name):
        refs = _CELL_REF.findall(chunk)
        positioned += len(refs)
        if b":c " in chunk or b":c>" in chunk:  # cells with a namespace prefix (<x:c>): the slower pattern
            cells += len(_ANY_CELL.findall(chunk))
        else:
            cells += chunk.count(b"<c ") + chunk.count(b"<c>") + chunk.count(b"<c/>")
        if refs:
            max_row = max(max_row, max(map(int, {row for _, row in refs})))
            max_column = max(max_column, max(_column_index(col) + 1 for col in {col for col, _ in refs}))
        for col, row in (_FORMULA.findall(chunk) if b"<f" in chunk or b":f" in chunk else ()):
            formulas[(int(row), _column_index(col))] = (col + row).decode()
    if cells > positioned:
        raise _refuse("INPUT_UNREADABLE", f"工作表“{sheet.name}”有未标明位置的单元格；请在 Excel 中打开后另存为 .xlsx", name)
    if max_row > MAX_ROWS + 1:
        raise _refuse("INPUT_TOO_MANY_ROWS", f"工作表“{sheet.name}”用到第 {max_row:,} 行，超过上限 {MAX_ROWS + 1:,} 行"
                      "（含表头）；如末尾有误填的单元格请删除，否则请拆分后分别导入", name)
    if max_column > MAX_COLUMNS:
        raise _refuse("INPUT_TOO_MANY_COLUMNS", f"工作表“{sheet.name}”用到第 {max_column:,} 列，超过上限 {MAX_COLUMNS} 列；"
                      "请删除右侧误填的单元格", name)
    if max_row * max_column > MAX_CELLS:
        raise _refuse("INPUT_TOO_LARGE", f"工作表“{sheet.name}”的区域为 {max_row:,} 行 × {max_column} 列，超过上限 "
                      f"{MAX_CELLS:,} 个单元格；请拆分后分别导入", name)
    return formulas


def _has_data(archive: zipfile.ZipFile, sheet: _Sheet, name: str) -> bool:
    try:
        return any(_VALUE.search(chunk) for chunk in _chunks(archive, sheet.part, name))
    except (KeyError, zipfile.BadZipFile, EOFError, OSError, ValueError):
        return False


def _xlsx_rows(path: Path, sheet_name: str) -> Iterator[list[Any]]:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    sheet = workbook.get_sheet_by_name(sheet_name)
    for row in sheet.to_python(skip_empty_area=False):
        yield [_xlsx_cell(cell) for cell in row]


def _xlsx_cell(cell: Any) -> Any:
    """Text stays text; a number cell stays a number (int when whole, so identifiers typed as numbers can be
    refused); a decimal number becomes the shortest text of its double (123.45), never a float."""
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
