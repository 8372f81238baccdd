"""What every file we write shares: text from outside never becomes a formula, and a file is either
written whole or not at all.

- ``csv_text`` neutralises one CSV field by the OWASP CSV-injection rules: a field that starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (also after leading spaces, and their
  full-width forms ＝＋－＠) gets a leading single quote ``'``, so a spreadsheet shows it as text. Writers
  also quote every field (``csv.QUOTE_ALL``), which escapes embedded double quotes.
- ``text_cell`` / ``safe_cells`` make openpyxl cells whose strings are stored as text, never as a
  formula, whatever they start with (openpyxl otherwise turns any string starting with ``=`` into a
  formula). The text is kept exactly as typed: in a workbook nothing needs to be added.
- ``sheet_title`` turns a unit name into a valid, unique Excel sheet title.
- ``atomic_output`` writes to a temporary file in the destination's folder and renames it over the
  destination only when the writer finished: a killed export leaves the previous file (or none), never a
  truncated one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def csv_text(value):
    """One CSV field from outside, neutralised (OWASP): strings only; other values pass unchanged."""
    if value.__class__ is str and value[:1].isalnum():  # the common case: no formula can start here
        return value
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_START):
        return "'" + value
    return value


def text_cell(sheet, value, style=None):
    """An openpyxl cell (write-only or normal sheets) holding ``value``; a string is always text."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if style is not None:
        cell.style = style
    return cell


def safe_cells(sheet, values: Iterable) -> list:
    """A row for ``sheet.append``: every string written as text (cells already made pass through)."""
    from openpyxl.cell.cell import Cell

    return [value if isinstance(value, Cell) else text_cell(sheet, value) for value in values]


def set_text(cell, value) -> None:
    """Set a normal worksheet cell, a string as text."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


_INVALID_TITLE = set('[]:*?/\\')


def sheet_title(name: str, taken: set[str], fallback: str = "单位") -> str:
    """A valid Excel sheet title for ``name`` (≤ 31 characters, none of []:*?/\\, no leading or trailing
    apostrophe, not 'History'), unique among ``taken`` without regard to case; adds it to ``taken``."""
    cleaned = "".join("_" if ch in _INVALID_TITLE or ord(ch) < 32 else ch for ch in str(name or ""))
    cleaned = cleaned.strip().strip("'").strip() or fallback
    if cleaned.lower() == "history":
        cleaned = f"{cleaned}_"
    title, number = cleaned[:31], 1
    lowered = {t.lower() for t in taken}
    while title.lower() in lowered:
        number += 1
        suffix = f"({number})"
        title = cleaned[:31 - len(suffix)] + suffix
    taken.add(title)
    return title


@contextmanager
def atomic_output(out: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``out``; on success it is flushed to disk and renamed to ``out``
    (atomic on one file system), on failure removed. ``out`` is untouched until the rename."""
    out = Path(out)
    folder = out.parent if str(out.parent) else Path(".")
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix if suffix is not None else ".part",
                                    dir=folder)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        if out.exists():
            try:
                os.chmod(temporary, out.stat().st_mode & 0o777)
            except OSError:
                pass
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def page_setup(sheet, header_row: int | None) -> None:
    """Print set-up for a sheet a person prints: landscape A4 fitted to the page width (as many pages
    down as needed), the header row repeated on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if header_row:
        sheet.print_title_rows = f"{header_row}:{header_row}"
