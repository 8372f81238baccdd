"""The payout workbook for finance (SPEC §7): a summary of control totals per unit and item, a detail
sheet with one row per approved claim, claims lacking a bank account on a sheet of their own, and
optionally one sheet per unit. openpyxl (write-only) writes the summary and every sheet's set-up and styles;
the rows of the claim sheets are written straight as sheet XML (``exports/sheetxml.py``): 100,000 claims
are over a million cells, and openpyxl costs microseconds a cell."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from copy import copy
from datetime import date
from decimal import Decimal
from pathlib import Path
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill
from openpyxl.utils import get_column_letter

from claims.money import ZERO
from claims.workflow.payouts import PayoutClaim, PayoutData, mask_id
from exports.safety import atomic_output, sheet_title, text_cell
from exports.sheetxml import Rows, Styled, expand_rows, height_for
from exports.words import beijing_today, cn_date

MONEY_FORMAT = "#,##0.00"
NO_ACCOUNT = "（无银行账号）"
SIGNATURES = ("制表", "复核", "审批")


class _Styles:
    def __init__(self, book: Workbook):
        self.money = NamedStyle("money", number_format=MONEY_FORMAT)
        self.header = NamedStyle("header", font=Font(bold=True), fill=PatternFill("solid", fgColor="DDEBF7"),
                                 alignment=Alignment(horizontal="center", vertical="center", wrap_text=True))
        self.total = NamedStyle("total_money", number_format=MONEY_FORMAT, font=Font(bold=True))
        self.title = NamedStyle("title", font=Font(bold=True, size=14))
        self.warn = NamedStyle("warn", fill=PatternFill("solid", fgColor="FCE4D6"))
        self.label = NamedStyle("label", alignment=Alignment(wrap_text=True, vertical="center"))
        self.sign = NamedStyle("sign", font=Font(size=12), alignment=Alignment(vertical="bottom"))
        for style in (self.money, self.header, self.total, self.title, self.warn, self.label, self.sign):
            book.add_named_style(style)


_STYLE_ARRAYS: WeakKeyDictionary = WeakKeyDictionary()  # workbook → named style → its cells' style array


def _cell(sheet, value, style=None):
    """A cell of a write-only sheet; a string is text, never a formula. Per cell this is most of the export's
    time at 100,000 claims, so: a plain value that openpyxl writes as it is (a number, or a string that cannot
    be taken for a formula or an error) is passed through, and a styled cell gets a copy of the style array a
    first cell of that style got (setting a named style on every cell looks it up in the workbook each time)."""
    if style is None:
        if not isinstance(value, str) or value[:1] not in ("=", "#"):
            return value
        return text_cell(sheet, value)
    arrays = _STYLE_ARRAYS.setdefault(sheet.parent, {})
    array = arrays.get(style.name)
    if array is None:
        array = arrays[style.name] = text_cell(sheet, None, style)._style
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    cell._style = copy(array)
    return cell


def _prepare(sheet, widths: list[int], header_row: int) -> None:
    """Freeze the header, set widths, print landscape fitted to the page width with the header repeated."""
    sheet.freeze_panes = f"A{header_row + 1}"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{header_row}"


def detail_header(data: PayoutData) -> list[str]:
    return ["申请编号", "会员编号", "姓名", "身份证号", "单位", *(f"{name}（元）" for _, name in data.items),
            "合计（元）", "开户行", "银行账号"]


class _Tally:
    """Claims, members and amounts of a group of claims."""

    __slots__ = ("count", "members", "per_item", "total")

    def __init__(self, codes: list[str]):
        self.count, self.members, self.per_item, self.total = 0, set(), dict.fromkeys(codes, ZERO), ZERO

    def add(self, claim: PayoutClaim, member_id: str, codes: list[str] = ()) -> None:
        self.count += 1
        self.members.add(member_id)
        for code in codes:
            self.per_item[code] += claim.per_item[code]
        self.total += claim.total

    @classmethod
    def of(cls, parts, codes: list[str]) -> _Tally:
        """The tally of several groups' claims together."""
        whole = cls(codes)
        for part in parts:
            whole.count += part.count
            whole.members |= part.members
            for code in codes:
                whole.per_item[code] += part.per_item[code]
            whole.total += part.total
        return whole


def _tallies(claims: list[PayoutClaim], codes: list[str]) -> tuple[dict[str, _Tally], tuple[_Tally, _Tally, _Tally]]:
    """In one pass: each unit's tally, and the three control figures — paid by the bank file, waiting for an
    account (with the items: its sheet's total row), nothing to pay."""
    units: dict[str, _Tally] = {}
    by_bank, without, zero = _Tally([]), _Tally(codes), _Tally([])
    for claim in claims:
        member = claim.member
        unit = units.get(member.unit)
        if unit is None:
            unit = units[member.unit] = _Tally(codes)
        unit.add(claim, member.member_id, codes)
        if claim.total > 0:
            if member.bank_account:
                by_bank.add(claim, member.member_id)
            else:
                without.add(claim, member.member_id, codes)
        elif claim.total == 0:
            zero.add(claim, member.member_id)
    return units, (by_bank, without, zero)


DETAIL_WIDTHS = [14, 12, 10, 22, 28]  # then 18 for each item, and 14, 24, 24


def _detail_widths(data: PayoutData) -> list[int]:
    return DETAIL_WIDTHS + [18] * len(data.items) + [14, 24, 24]


def _detail_sheet(book: Workbook, styles: _Styles, title: str, data: PayoutData, claims: list[PayoutClaim],
                  tally: _Tally) -> Rows:
    """A sheet of one row per claim and a total row (the claims' ``tally``): openpyxl writes its set-up, header
    and two sample rows (a claim's, and one holding the styles of the warning and total cells); the rows
    returned are written as XML (``exports/sheetxml.py``)."""
    sheet = book.create_sheet(title)
    header = detail_header(data)
    _prepare(sheet, _detail_widths(data), 1)
    sheet.append([_cell(sheet, h, styles.header) for h in header])
    plain, money = len(DETAIL_WIDTHS), len(data.items) + 1
    sheet.append([*("样例" for _ in range(plain)), *(_cell(sheet, ZERO, styles.money) for _ in range(money)), "样例", "样例"])
    sheet.append([_cell(sheet, "合计", styles.header), _cell(sheet, ZERO, styles.total), _cell(sheet, "样例", styles.warn)])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(claims) + 1}"
    return Rows(2, _detail_rows([code for code, _ in data.items], claims, tally),
                {"header": "A3", "total": "B3", "warn": "C3"})


def _detail_rows(codes: list[str], claims: list[PayoutClaim], tally: _Tally) -> Iterator[list]:
    warned = [Styled(NO_ACCOUNT, "warn")]
    for claim in claims:
        member, per_item = claim.member, claim.per_item
        account = member.bank_account  # PayoutClaim.has_account
        yield [claim.claim.claim_id, member.member_id, member.name, mask_id(member.id_number), member.unit,
               *[per_item[code] for code in codes], claim.total,
               *([member.bank_name, account] if account else [Styled(member.bank_name, "warn"), *warned])]
    yield [Styled("合计", "header"), None, None, None, None, *(Styled(tally.per_item[code], "total") for code in codes),
           Styled(tally.total, "total")]


def _summary_sheet(book: Workbook, styles: _Styles, data: PayoutData, issued: date, units: dict[str, _Tally],
                   controls: tuple[_Tally, _Tally, _Tally]) -> dict[int, float]:
    """The summary; returns the heights its wrapped rows need to print whole (row number → points)."""
    sheet = book.create_sheet("汇总")
    items = data.items
    header = ["单位", "申请数", "人数", *(f"{name}（元）" for _, name in items), "合计（元）"]
    widths = [32, 10, 10] + [20] * len(items) + [16]
    _prepare(sheet, widths, 4)
    heights = {4: height_for(zip(header, widths, strict=True))}
    batch = data.batch
    sheet.append([_cell(sheet, f"{data.policy.scheme.name} 补助发放汇总表", styles.title)])
    sheet.append([_cell(sheet, f"批次 {batch.id}（{batch.name}），{batch.period} 年度；导出日期 {cn_date(issued)}；金额单位：元")])
    sheet.append([_cell(sheet, f"签发机构：{data.policy.scheme.issuer}")])
    sheet.append([_cell(sheet, h, styles.header) for h in header])
    codes = [code for code, _ in items]
    for number, (unit, tally) in enumerate(units.items(), start=5):
        heights[number] = height_for([(unit, widths[0])])
        sheet.append([_cell(sheet, unit, styles.label), tally.count, len(tally.members),
                      *(_cell(sheet, tally.per_item[code], styles.money) for code in codes),
                      _cell(sheet, tally.total, styles.money)])
    grand = _Tally.of(units.values(), codes)
    sheet.append([_cell(sheet, "总计", styles.header), grand.count, len(grand.members),
                  *(_cell(sheet, grand.per_item[code], styles.total) for code in codes),
                  _cell(sheet, grand.total, styles.total)])
    sheet.append([])
    sheet.append([_cell(sheet, h, styles.header) for h in ("控制数", "件数", "人数", "金额（元）")])
    first_control = 4 + len(units) + 4
    for number, (label, tally) in enumerate(zip(
            ("银行转账（见银行文件）", "缺银行账号，待补后另行发放（见“待补银行账号”表）", "补助为零（仅通知，不发放）"),
            controls, strict=True), start=first_control):
        heights[number] = height_for([(label, widths[0])])
        sheet.append([_cell(sheet, label, styles.label), tally.count, len(tally.members),
                      _cell(sheet, tally.total, styles.money)])
    sheet.append([])
    for role in SIGNATURES:  # signed on paper: who made, checked and approved the list
        sheet.append([_cell(sheet, f"{role}（签字）：", styles.sign), None, None,
                      _cell(sheet, "日期：　　　　年　　月　　日", styles.sign)])
        sheet.append([])
    sheet.auto_filter.ref = f"A4:{get_column_letter(len(header))}{4 + len(units)}"
    return heights


def write_payouts(data: PayoutData, out: str | Path, by_unit: bool = False, issued: date | None = None,
                  step: Callable[[int], None] = lambda count: None) -> dict[str, Decimal | int]:
    """Write the workbook; returns the control figures it shows. ``step(n)``: n more rows of the detail sheet
    written (a progress bar)."""
    book = Workbook(write_only=True)
    styles = _Styles(book)
    codes = [code for code, _ in data.items]
    units, controls = _tallies(data.claims, codes)
    summary_heights = _summary_sheet(book, styles, data, issued or beijing_today(), units, controls)
    without = [c for c in data.claims if not c.has_account and c.total > 0]
    sheets = [_detail_sheet(book, styles, "明细", data, data.claims, _Tally.of(units.values(), codes)),
              _detail_sheet(book, styles, "待补银行账号", data, without, controls[1])]
    if by_unit:
        taken = set(book.sheetnames)
        sheets += [_detail_sheet(book, styles, sheet_title(unit, taken), data, claims, units[unit])
                   for unit, claims in data.by_unit().items()]
    header_height = height_for(zip(detail_header(data), _detail_widths(data), strict=True))
    # the sheets' files, in the book's order: the summary is sheet1.xml
    files = {f"xl/worksheets/sheet{n}.xml": rows for n, rows in enumerate(sheets, start=2)}
    with atomic_output(out) as temporary:
        book.save(temporary)
        # rows whose text wraps get the height it needs: openpyxl's write-only sheets write no row heights
        heights = {name: {1: header_height} for name in files}
        expand_rows(temporary, files, heights={"xl/worksheets/sheet1.xml": summary_heights, **heights},
                    step=lambda name, count: step(count) if name == "xl/worksheets/sheet2.xml" else None)
    waiting = controls[1]
    return {"claims": len(data.claims), "members": len({c.member.member_id for c in data.claims}),
            "total": data.total, "without_account": waiting.count, "without_account_total": waiting.total}
