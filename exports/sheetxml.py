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
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CELL = re.compile(r'<c r="([A-Z]+)\d+"((?: s="\d+")?)')


def _text(value: str) -> str:
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


def lines_for(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` characters wide (a Chinese character takes two)."""
    import unicodedata

    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text or ""))
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


def expand_rows(path: Path, sheets: dict[str, tuple[int, Iterable[list]] | tuple[int, Iterable[list], dict[str, str]]],
                step: Callable[[str, int], None] | None = None, heights: dict[str, dict[int, float]] | None = None) -> None:
    """Rewrite the workbook at ``path`` in place: in each sheet file named (``xl/worksheets/sheet1.xml``…),
    the sample row numbered ``first`` (its last row) becomes one row per list of values, numbered from
    ``first``. Each value takes the style of the sample's cell in its column — or, when the sheet's tuple
    names styles (``{"red": "A"}``: the style of the sample's cell in column A), no style, and a
    ``Styled(value, "red")`` that one; a ``Tall`` row has its height. ``heights``: rows openpyxl wrote
    (the header) given a height, by sheet file; a sheet named there need not have rows to expand
    (``first`` None). ``step(sheet file, n)``: called as rows are written (a progress bar)."""
    expanded = path.with_name(path.name + ".rows")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(expanded, "w", zipfile.ZIP_DEFLATED) as target:
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
            first, rows, *named = sheets[item.filename]
            start = text.index(f'<row r="{first}"')
            end = text.index("</sheetData>", start)
            styles = dict(_CELL.findall(text[start:end]))  # the sample's style of each column
            names = {name: styles.get(letter, "") for name, letter in named[0].items()} if named else {}
            if named:
                styles = {}
            with target.open(item.filename, "w", force_zip64=True) as out:
                out.write(text[:start].encode("utf-8"))
                chunk, number = [], first
                columns: list[tuple[str, str]] = []
                for values in rows:
                    while len(columns) < len(values):
                        letter = get_column_letter(len(columns) + 1)
                        columns.append((letter, styles.get(letter, "")))
                    chunk.append(_row(number, columns, values, names))
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
