"""Hostile input files: the small ones are kept in tests/hostile/files/ (re-made by
``python -m tests.hostile.generate``); the big ones (a zip bomb, a used area of XFD1048576) are made by the
functions below in a second, into a test's temporary folder.

Each file is one attack a hostile tester ran against the intake (issue 17 "Files that are hostile").
"""

from __future__ import annotations

import csv
import struct
import zlib
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"

MEMBER_HEADER = ["会员编号", "姓名", "身份证号", "单位", "开户行", "银行账号", "手机号"]
GOOD_MEMBER = ["HZ001", "王丽", "330102198005120142", "一院工会", "工商银行", "6222638439044354", "13800000000"]
CLAIM_HEADER = ["申请编号", "会员编号", "类别", "入院日期", "出院日期", "确诊日期", "医院等级", "诊断编码", "手术编码",
                "医疗总费用", "医保统筹支付", "个人自付", "个人自费", "发票号", "申请日期"]
GOOD_CLAIM = ["A1", "HZ001", "住院", "2025-02-01", "2025-02-11", "", "3", "I10", "", "32088.00", "24000.00",
              "8000.00", "88.00", "INV-A1", "2025-03-03"]

_SKELETON = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="申请" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}


def zip_bomb(path: Path, inflated_mib: int = 3 * 1024) -> Path:
    """A real XLSX whose sheet inflates to ``inflated_mib`` MiB of blank rows (a few MB on disk).

    Deflate with a full flush between identical blocks gives identical compressed blocks, so the file is
    written by repeating one block: a second, not the minutes zlib would take to compress 3 GB."""
    block = b"<row>" + b" " * (1024 * 1024 - 11) + b"</row>"
    head = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
            b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    tail = b"</sheetData></worksheet>"
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(tail) + compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    block_crc = zlib.crc32(block)
    # appending a block is linear in the CRC so far: the shift by len(block) bytes as 32 columns, once
    shift = [_crc_combine(1 << n, 0, len(block)) for n in range(32)]
    for _ in range(inflated_mib):
        crc = _apply(shift, crc) ^ block_crc
    crc = zlib.crc32(tail, crc)
    size = len(head) + inflated_mib * len(block) + len(tail)
    entries = [(name, text.encode()) for name, text in _SKELETON.items()]
    with path.open("wb") as out:
        directory = []
        for name, data in entries:
            directory.append(_entry(out, name, zlib.crc32(data), len(data), [data], 0))
        compressed = [first, *([repeated] * inflated_mib), last]
        directory.append(_entry(out, "xl/worksheets/sheet1.xml", crc, size, compressed, 8))
        start = out.tell()
        for record in directory:
            out.write(record)
        end = out.tell()
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory), end - start, start, 0))
    return path


def _entry(out, name: str, crc: int, size: int, chunks: list[bytes], method: int) -> bytes:
    offset = out.tell()
    encoded = name.encode()
    compressed = sum(len(c) for c in chunks)
    out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, method, 0, 0, crc, compressed, size,
                          len(encoded), 0) + encoded)
    for chunk in chunks:
        out.write(chunk)
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, method, 0, 0, crc, compressed, size,
                       len(encoded), 0, 0, 0, 0, 0, offset) + encoded


def _apply(columns: list[int], vector: int) -> int:
    total = 0
    for n in range(32):
        if vector >> n & 1:
            total ^= columns[n]
    return total


def _crc_combine(crc1: int, crc2: int, length2: int) -> int:
    """zlib's crc32_combine: the CRC of A+B from the CRCs of A and B and the length of B."""
    def times(matrix, vector):
        total, index = 0, 0
        while vector:
            if vector & 1:
                total ^= matrix[index]
            vector >>= 1
            index += 1
        return total

    def square(matrix):
        return [times(matrix, matrix[n]) for n in range(32)]

    operator = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit appended
    for _ in range(3):
        operator = square(operator)  # 2, 4, 8 zero bits: one zero byte
    while length2:
        if length2 & 1:
            crc1 = times(operator, crc1)
        operator = square(operator)
        length2 >>= 1
    return crc1 ^ crc2


def huge_dimension(path: Path) -> Path:
    """A 5 KB workbook: a good header and row, and one cell at XFD1048576 (the last cell Excel has)."""
    book = Workbook()
    sheet = book.active
    sheet.append(CLAIM_HEADER)
    sheet.append(GOOD_CLAIM)
    sheet["XFD1048576"] = "x"
    book.save(path)
    return path


def _xlsx(path: Path, rows: list[list], hidden_first: list[list] | None = None, second: list[list] | None = None,
          formulas: dict[str, str] | None = None) -> None:
    book = Workbook()
    sheet = book.active
    if hidden_first is not None:
        sheet.title = "旧表"
        for row in hidden_first:
            sheet.append(row)
        sheet.sheet_state = "hidden"
        sheet = book.create_sheet("申请")
    else:
        sheet.title = "申请"
    for row in rows:
        sheet.append(row)
    for cell, formula in (formulas or {}).items():
        sheet[cell] = formula
    if second is not None:
        other = book.create_sheet("补充")
        for row in second:
            other.append(row)
    book.save(path)


def _csv(path: Path, rows: list[list], encoding: str = "utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)


def make_small_files(folder: Path = FILES) -> None:
    """The small hostile files kept in the repository."""
    folder.mkdir(exist_ok=True)
    claim = GOOD_CLAIM
    _xlsx(folder / "hidden_first_sheet.xlsx", [CLAIM_HEADER, claim],
          hidden_first=[CLAIM_HEADER, ["H1", *claim[1:]]])
    _xlsx(folder / "second_sheet_with_rows.xlsx", [CLAIM_HEADER, claim], second=[CLAIM_HEADER, ["B1", *claim[1:]]])
    # the cached value openpyxl leaves is none; Excel would keep 32088 while the formula says 32089
    _xlsx(folder / "formula_cell.xlsx", [CLAIM_HEADER, claim], formulas={"J2": "=24000+8000+89"})
    numbers = [*GOOD_MEMBER]
    numbers[5] = 6217001234567890123  # stored by Excel as 6217001234567889920
    numbers[2] = 330102198005120142
    _xlsx(folder / "numbers_for_identifiers.xlsx", [MEMBER_HEADER, numbers])
    rows = [CLAIM_HEADER,
            [*claim[:9], "2.4E+3", "2400", "0", "0", *claim[13:]],  # scientific notation
            ["A2", *claim[1:9], "99999999999999999999.00", "0", "99999999999999999999.00", "0", *claim[13:]],
            ["A3", *claim[1:3], "2030-02-01", "2030-02-11", "", *claim[6:14], "2099-03-03"],  # future dates
            ["A4", *claim[1:13], "I" * 61, claim[14]],  # 61-character invoice number
            ["A5", *claim[1:7], ";".join(f"C{n:02d}.1" for n in range(80)), *claim[8:]]]  # 80 diagnosis codes
    _csv(folder / "claims_hostile_cells.csv", rows)
    members = [MEMBER_HEADER,
               ["HZ002", "王" * 101, "33010219750303025X", "一院工会", "", "", ""],  # 101-character name
               ["HZ003", "李\u202e强", "330102199007070374", "单" * 201, "", "", ""],  # RTL override, 201-char unit
               ["HZ004", "张\u200b军", "330102198001011176", "一院工会", "", "", ""],  # zero-width space
               ["HZ005", "赵\x00敏", "110101199003074514", "一院工会", "", "", ""]]  # NUL byte
    _csv(folder / "members_hostile_text.csv", members)


if __name__ == "__main__":
    make_small_files()
    print(f"written into {FILES}")
