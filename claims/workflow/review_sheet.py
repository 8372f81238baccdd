"""Reading a review workbook back, as Excel, WPS, LibreOffice or openpyxl saved it: the cell values of named
sheets, row by row, fast enough for a 100,000-claim sheet (1.5 million cells).

Why calamine (Rust, already what intake reads XLSX with) and not openpyxl: openpyxl's read-only parse made
a cell object per cell, ≈ 10 µs of CPU a cell — about half of a 100,000-claim import; calamine parses the
same sheet ~12× faster (1.3 s against ~15 s) and understands every form these programs save — shared
strings (LibreOffice, Excel, WPS) and inline strings (ours, openpyxl), rich-text runs in either, numbers,
booleans, cells omitted or written without a reference. Two things calamine gives differently from what the
import must compare, and this module settles them:

- **Numbers come back as floats.** A number cell of an XLSX holds a binary double, written as its decimal
  text; ``repr`` gives back the shortest text that reads as the same double — for an amount of up to 15
  significant digits, exactly the decimal that was written (``5268.45``, also when Excel saved it as
  ``5268.4499999999998``). Whole numbers become ``int`` (a claim id or version read as ``12.0`` is ``12``),
  others a ``Decimal`` of that text: no float leaves this module, and money is compared as ``Decimal``.
- **Formulas and error values come back as their cached result** (or nothing). A formula or an error is not
  what the system wrote, so the sheet's XML is scanned (streamed, bounded) for them, and such a cell reads as
  its formula (``=SUM(I4:K4)``) or its error text (``#N/A``), as openpyxl gave them: the import's checks then
  name the cell as altered (a computed cell) or refuse it as a decision, as before."""

from __future__ import annotations

import math
import posixpath
import re
import zipfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import unescape

MAX_INFLATED_BYTES = 768 * 1024 * 1024  # every part of the workbook, inflated (a zip bomb is refused unread)
# rows × columns of a sheet's used area: calamine allocates the whole rectangle at once, and a stray cell at
# XFD1048576 (17 billion cells) would end the process. A 100,000-claim sheet is 1.5 million.
MAX_CELLS = 20_000_000
_CHUNK = 8 * 1024 * 1024
# a cell's start tag followed by a formula, or a cell typed as an error, with its value; by local names (<x:c>)
_FORMULA = re.compile(rb'<(?:\w+:)?c\b([^>]*?)>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*))')
_ERROR = re.compile(rb'<(?:\w+:)?c\b([^>]*?\st=["\']e["\'][^>]*?)>\s*<(?:\w+:)?v>([^<]*)')
_REF = re.compile(rb'\sr=["\']([A-Z]{1,3})([0-9]{1,7})["\']')
_CELL_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,7})"')  # a literal to search for: fast (rows have no letters)
_ANY_CELL = re.compile(rb"<(?:\w+:)?c")
_ENTITIES = {"&quot;": '"', "&apos;": "'"}


class SheetMissing(LookupError):
    """The workbook has no sheet of this name."""


class SheetTooLarge(ValueError):
    """A sheet's used area is beyond MAX_CELLS: ``(sheet name, rows, columns)``."""


def read_sheets(path: str | Path, names: list[str]) -> dict[str, list[list]]:
    """Each named sheet as rows of cell values from A1 (row n is index n − 1; a missing cell is ``""``): ``str``,
    ``int``, ``Decimal``, ``bool``, dates and times as calamine reads date-formatted cells, a formula's text,
    an error's text. Raises ``SheetMissing`` for a missing sheet, ``zipfile.BadZipFile``, ``OSError``,
    ``ValueError`` or ``KeyError`` for a file that is not a readable workbook."""
    from python_calamine import CalamineError, CalamineWorkbook

    with zipfile.ZipFile(path) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_INFLATED_BYTES:
            raise ValueError("inflated size")
        parts = _sheet_parts(archive)
        missing = [name for name in names if name not in parts]
        if missing:
            raise SheetMissing(missing[0])
        overlays = {}
        for name in names:
            overlays[name], rows, columns, unplaced = _scan(archive, parts[name])
            if (rows + unplaced) * (columns + unplaced) > MAX_CELLS:
                raise SheetTooLarge(name, rows, columns)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        try:
            grids = {name: workbook.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in names}
        finally:
            workbook.close()
    except CalamineError as error:
        raise ValueError(type(error).__name__) from None
    sheets = {}
    for name, grid in grids.items():
        rows = [[cell if type(cell) is str else _value(cell) for cell in row] for row in grid]
        for (row, column), value in overlays[name].items():
            while len(rows) <= row:
                rows.append([])
            rows[row].extend([""] * (column + 1 - len(rows[row])))
            rows[row][column] = value
        sheets[name] = rows
    return sheets


def _value(cell):
    if type(cell) is float:
        if cell.is_integer():
            return int(cell)
        if not math.isfinite(cell):
            raise ValueError("not a number")
        return Decimal(repr(cell))  # the double's shortest decimal text, exactly (see the module's docstring)
    if isinstance(cell, bool | int | datetime | date | time | timedelta):
        return cell
    return str(cell)


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the part holding its XML (``xl/worksheets/sheet1.xml``), by local names: transitional
    (Excel, LibreOffice, WPS) and strict OOXML use different namespaces."""
    book = ElementTree.fromstring(_small(archive, "xl/workbook.xml"))
    rels = ElementTree.fromstring(_small(archive, "xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels if _local(rel.tag) == "Relationship"}
    parts = {}
    for sheet in book.iter():
        if _local(sheet.tag) == "sheet":
            relation = next((value for key, value in sheet.attrib.items() if _local(key) == "id"), "")
            target = targets.get(relation, "")
            parts[sheet.get("name", "")] = (target.lstrip("/") if target.startswith("/")
                                            else posixpath.normpath(posixpath.join("xl", target)))
    return parts


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _small(archive: zipfile.ZipFile, part: str) -> bytes:
    if archive.getinfo(part).file_size > 16 * 1024 * 1024:
        raise ValueError(f"{part} too large")
    return archive.read(part)


def _scan(archive: zipfile.ZipFile, part: str) -> tuple[dict[tuple[int, int], str], int, int, int]:
    """(formula and error cells: (row index, column index) → the text the cell is read as; the last row and
    column a cell names; how many cells may be written without a reference). Streamed in pieces cut just before a closing tag, so that a start tag
    and the text after it are never split; a piece without ``f`` or ``t="e"`` tags (every piece of a sheet as
    the system writes it) is only searched for them. Cells written without a reference (placed after the
    previous one) may widen the area by as many rows and columns as there are of them: a bound, never an
    underestimate."""
    found: dict[tuple[int, int], str] = {}
    total, pending = 0, b""
    max_row = max_column = unplaced = 0
    with archive.open(part) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            total += len(chunk)
            if total > MAX_INFLATED_BYTES:
                raise ValueError("inflated size")
            pending += chunk
            cut = pending.rfind(b"</") if chunk else len(pending)
            if cut <= 0 and chunk:
                continue
            piece, pending = pending[:cut], pending[cut:]
            references = _CELL_REF.findall(piece) if b"r='" not in piece else _REF.findall(piece)
            if references:
                max_row = max(max_row, max(map(int, {row for _, row in references})))
                max_column = max(max_column, max(_column(letters) for letters in {c for c, _ in references}) + 1)
            # every tag starting "<c" (so also <col>, <cfRule>…): an overcount, which only loosens the bound
            cells = len(_ANY_CELL.findall(piece)) if b":c" in piece else piece.count(b"<c")
            unplaced += max(0, cells - len(references))
            if b"<f" in piece or b":f" in piece:
                for attributes, text in _FORMULA.findall(piece):
                    found[_where(attributes)] = "=" + _text(text or b"")
            if b't="e"' in piece or b"t='e'" in piece:
                for attributes, text in _ERROR.findall(piece):
                    found[_where(attributes)] = _text(text)
            if not chunk:
                return found, max_row, max_column, unplaced


def _column(letters: bytes) -> int:
    column = 0
    for letter in letters:
        column = column * 26 + letter - 64
    return column - 1


def _where(attributes: bytes) -> tuple[int, int]:
    reference = _REF.search(b" " + attributes)
    if not reference:  # a formula or error cell without a reference: cannot be placed, so not trusted either
        raise ValueError("cell without a reference")
    letters, row = reference.groups()
    return int(row) - 1, _column(letters)


def _text(raw: bytes) -> str:
    return unescape(raw.decode("utf-8"), _ENTITIES)
