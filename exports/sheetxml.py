"""Rows of a large sheet written straight into the workbook's XML.

Why: openpyxl, even in write-only mode with lxml, spends about 60 µs on each cell (a ``WriteOnlyCell``,
its style looked up against the workbook's style lists, the value bound and type-checked, an lxml
element); a 100,000-claim review sheet has 1.6 million cells — over a minute on a quiet machine, against
a target of 10 s (issue 14). So openpyxl still writes everything that is hard to get right — styles,
protection, the data validation, print set-up, the hidden sheet — with the sheet's *first* data row as a
sample; ``expand_rows`` then replaces that row by every row, each cell formatted as the sample's cell of
its column (the same style index) with a string template: about 1 µs a cell. Strings are inline strings,
escaped, characters XML cannot hold dropped; numbers are written as numbers — what openpyxl writes."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MARKUP = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f]")  # what escaping changes or drops
_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"((?: s="\d+")?)')


def _text(value: str) -> str:
    if _MARKUP.search(value):  # most text has nothing to escape or drop
        value = escape(_ILLEGAL.sub("", value))
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f'<is><t{space}>{value}</t></is>'


@dataclass(frozen=True)
class Styled:
    """A value written with one of the sample row's styles, named (see ``expand_rows``)."""

    value: Any
    style: str


class Tall(list):
    """A row of values printed at ``height`` points (wrapped text: Excel and LibreOffice do not grow a row
    written without a height when they open the file, so wrapped text would print over the next row)."""

    def __init__(self, values: Iterable, height: float):
        super().__init__(values)
        self.height = height


@dataclass(frozen=True)
class Rows:
    """The rows of one sheet for ``expand_rows``: the sample rows start at row ``first`` (the sheet's last rows)
    and are replaced by ``rows``, numbered from ``first``. A value takes the style of the cell of its column in
    row ``first``; a ``Styled(value, name)`` takes the style of the sample cell ``styles[name]`` (``"C3"``: any
    sample row can hold styles that only named values use, such as a total row's). Numbers, empty text and
    blanks are written exactly as openpyxl writes them (see ``_row``), so that a sheet moved from openpyxl to
    this writer reads back the same, cell by cell."""

    first: int
    rows: Iterable[list]
    styles: dict[str, str] = field(default_factory=dict)


class _Widths(dict):
    """A character's display width (a Chinese character takes two), looked up once per character."""

    def __missing__(self, character: str) -> int:
        import unicodedata

        width = self[character] = 2 if unicodedata.east_asian_width(character) in "WF" else 1
        return width


_WIDTHS = _Widths()


@lru_cache(maxsize=4096)  # a batch's reasons repeat: the same few sentences on thousands of rows
def lines_for(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` characters wide (a Chinese character takes two)."""
    shown = sum(map(_WIDTHS.__getitem__, str(text or "")))
    return max(1, -(-shown // max(1, int(width) - 1)))


def height_for(cells: Iterable[tuple[str, float]]) -> float:
    """Points a row needs so that each (text, column width) shows whole when wrapped."""
    return 15.0 * max((lines_for(text, width) for text, width in cells), default=1) + 2


def _open_row(number: int, values) -> str:
    height = getattr(values, "height", None)
    return f'<row r="{number}" ht="{height:g}" customHeight="1">' if height else f'<row r="{number}">'


def set_heights(text: str, heights: dict[int, float]) -> str:
    """Sheet XML with these rows (already written) given a height."""
    for number, height in heights.items():
        text = text.replace(f'<row r="{number}">', f'<row r="{number}" ht="{height:g}" customHeight="1">', 1)
    return text


def _row(number: int, columns: list[tuple[str, str]], values: Iterable, named: dict[str, str]) -> str:
    cells = []
    for (letter, style), value in zip(columns, values, strict=False):
        kind = value.__class__
        if kind is str:  # the common cases first, by class (``_text`` inlined); then the general ones below
            if _MARKUP.search(value):
                value = escape(_ILLEGAL.sub("", value))
            space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
            cells.append(f'<c r="{letter}{number}"{style} t="inlineStr"><is><t{space}>{value}</t></is></c>')
            continue
        if kind is Decimal or kind is int:
            cells.append(f'<c r="{letter}{number}"{style} t="n"><v>{value}</v></c>')
            continue
        if isinstance(value, Styled):
            value, style = value.value, named[value.style]
        if value is None:
            cells.append(f'<c r="{letter}{number}"{style}/>')
        elif isinstance(value, str):
            cells.append(f'<c r="{letter}{number}"{style} t="inlineStr">{_text(value)}</c>')
        elif isinstance(value, bool):
            cells.append(f'<c r="{letter}{number}"{style} t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, int | float | Decimal):
            cells.append(f'<c r="{letter}{number}"{style} t="n"><v>{value}</v></c>')
        elif isinstance(value, datetime | date):  # as ISO text: 2025-06-01, 2025-06-01 10:30:00
            cells.append(f'<c r="{letter}{number}"{style} t="inlineStr">{_text(str(value))}</c>')
        else:
            cells.append(f'<c r="{letter}{number}"{style} t="inlineStr">{_text(str(value))}</c>')
    return f'{_open_row(number, values)}{"".join(cells)}</row>'


def _cell_as_openpyxl(kind: type, value, style: str) -> str:
    """A cell's XML after its reference, as openpyxl writes it: a number as ``%.16g`` (4000.00 reads back as
    4000), empty text as a cell without a value, a blank without a style not at all (""), a string as an
    inline string (its markup escaped, characters XML cannot hold dropped, spaces at either end preserved)."""
    if kind is str:
        if not value:
            return f'"{style} t="inlineStr"/>'
        if _MARKUP.search(value):
            value = escape(_ILLEGAL.sub("", value))
        space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
        return f'"{style} t="inlineStr"><is><t{space}>{value}</t></is></c>'
    if kind is Decimal or kind is int or kind is float:
        # openpyxl's own form: through a float, 16 digits (a Decimal's format() would keep 4000.00)
        return f'"{style} t="n"><v>{"%.16g" % value}</v></c>'  # noqa: UP031
    if value is None:
        return f'"{style}/>' if style else ""
    raise TypeError(f"a cell of a Rows sheet holds text, a number or nothing, not {kind.__name__}")


def _row_as_openpyxl(number: int, columns: list[tuple[str, str]], values: Iterable, named: dict[str, str],
                     numbers: dict) -> str:
    """One row's XML as openpyxl writes it (``_cell_as_openpyxl``). The hot loop of a 100,000-claim workbook: text
    is written inline; a number's or blank's XML after its reference is kept in ``numbers`` (amounts repeat)."""
    cells = []
    for (letter, style), value in zip(columns, values, strict=False):
        kind = value.__class__
        if kind is Styled:
            value, style = value.value, named[value.style]
            kind = value.__class__
        if kind is str and value:
            if _MARKUP.search(value):
                value = escape(_ILLEGAL.sub("", value))
            space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
            cells.append(f'<c r="{letter}{number}"{style} t="inlineStr"><is><t{space}>{value}</t></is></c>')
            continue
        key = (kind, value, style)
        rest = numbers.get(key)
        if rest is None:
            rest = _cell_as_openpyxl(kind, value, style)
            if len(numbers) < 100_000:
                numbers[key] = rest
        if rest:
            cells.append(f'<c r="{letter}{number}{rest}')
    return f'{_open_row(number, values)}{"".join(cells)}</row>'


def _styles(spec, text: str) -> tuple[int, Iterable[list], dict[str, str], dict[str, str]]:
    """A sheet's first row, rows, the style of each column (from row ``first``) and of each named style."""
    first, rows, *named = (spec.first, spec.rows) if isinstance(spec, Rows) else spec
    start = text.index(f'<row r="{first}"')
    cells = _CELL.findall(text, start, text.index("</sheetData>", start))
    sample = {f"{letter}{number}": style for letter, number, style in cells}
    columns = {letter: style for letter, number, style in cells if number == str(first)}
    if isinstance(spec, Rows):
        return first, rows, columns, {name: sample.get(ref, "") for name, ref in spec.styles.items()}
    # the tuple form: (first, rows) or (first, rows, {name: column letter}); a named sheet's plain values take no style
    names = {name: columns.get(letter, "") for name, letter in named[0].items()} if named else {}
    return first, rows, ({} if named else columns), names


def expand_rows(path: Path, sheets: dict[str, Rows | tuple[int, Iterable[list]] | tuple[int, Iterable[list], dict[str, str]]],
                step: Callable[[str, int], None] | None = None, heights: dict[str, dict[int, float]] | None = None) -> None:
    """Rewrite the workbook at ``path`` in place: in each sheet file named (``xl/worksheets/sheet1.xml``…),
    the sample row numbered ``first`` (its last row) becomes one row per list of values, numbered from
    ``first``. Each value takes the style of the sample's cell in its column — or, when the sheet's tuple
    names styles (``{"red": "A"}``: the style of the sample's cell in column A), no style, and a
    ``Styled(value, "red")`` that one; a sheet given as ``Rows`` keeps both (see there). A ``Tall`` row has
    its height. ``heights``: rows openpyxl wrote
    (the header) given a height, by sheet file; a sheet named there need not have rows to expand
    (``first`` None). ``step(sheet file, n)``: called as rows are written (a progress bar)."""
    expanded = path.with_name(path.name + ".rows")
    # the fastest deflate: a quarter larger than the default level, a third of its time (a second at 100,000 claims)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(expanded, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for item in source.infolist():
            heights_here = (heights or {}).get(item.filename)
            if item.filename not in sheets and not heights_here:
                target.writestr(item, source.read(item.filename))
                continue
            text = source.read(item.filename).decode("utf-8")
            if heights_here:
                text = set_heights(text, heights_here)
            if item.filename not in sheets:
                target.writestr(item, text.encode("utf-8"))
                continue
            spec = sheets[item.filename]
            first, rows, column_styles, names = _styles(spec, text)
            row = partial(_row_as_openpyxl, numbers={}) if isinstance(spec, Rows) else _row
            start = text.index(f'<row r="{first}"')
            end = text.index("</sheetData>", start)
            with target.open(item.filename, "w", force_zip64=True) as out:
                out.write(text[:start].encode("utf-8"))
                chunk, number = [], first
                columns: list[tuple[str, str]] = []
                for values in rows:
                    while len(columns) < len(values):
                        letter = get_column_letter(len(columns) + 1)
                        columns.append((letter, column_styles.get(letter, "")))
                    chunk.append(row(number, columns, values, names))
                    number += 1
                    if len(chunk) == 2000:
                        out.write("".join(chunk).encode("utf-8"))
                        if step:
                            step(item.filename, len(chunk))
                        chunk = []
                out.write("".join(chunk).encode("utf-8"))
                if step and chunk:
                    step(item.filename, len(chunk))
                out.write(text[end:].encode("utf-8"))
    shutil.move(expanded, path)
