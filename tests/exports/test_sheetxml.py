"""Rows written as sheet XML (exports/sheetxml.py) read back with openpyxl as the values written: text
with markup characters, spaces at either end and control characters, numbers exact, blanks, styles."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.styles import PatternFill

from exports.sheetxml import Styled, expand_rows


def test_rows_read_back_as_written(tmp_path):
    path = tmp_path / "rows.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet("表")
    sheet.append(["标题"])
    from openpyxl.cell import WriteOnlyCell

    red = WriteOnlyCell(sheet, value="x")
    red.fill = PatternFill("solid", fgColor="FFE0E0")
    sheet.append([red, "y"])
    book.save(path)
    rows = [["<a & b>", " 前后有空格 ", 1234.5, None],
            [Styled("=SUM(A1)", "red"), "控制\x01字符", Decimal("0.10"), date(2025, 6, 1)],
            ["'引号\"", "", 7, True]]
    expand_rows(path, {"xl/worksheets/sheet1.xml": (2, iter(rows), {"red": "A"})})
    read = load_workbook(path)["表"]
    assert read["A1"].value == "标题"
    assert [c.value for c in read[2]] == ["<a & b>", " 前后有空格 ", 1234.5, None]
    assert [c.value for c in read[3]] == ["=SUM(A1)", "控制字符", 0.1, "2025-06-01"]
    assert read["A3"].data_type == "s" and read["A3"].fill.fgColor.rgb.endswith("FFE0E0")  # text, never a formula
    assert read["B2"].fill.fgColor.rgb in (None, "00000000")  # unstyled values take no style
    assert [c.value for c in read[4]][:1] == ["'引号\""] and read["D4"].value is True
    assert read.max_row == 4
