"""The payout workbook whose claim sheets are written as XML is, opened back with openpyxl, the workbook that
openpyxl alone wrote before (tests/exports/payouts_openpyxl.py), cell by cell on every sheet: values and their
types, styles, number formats, merged cells, widths, heights, filters, freeze panes and print set-up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from claims.store.models import Batch, ClaimRow, MemberRow
from claims.workflow.payouts import PayoutClaim, PayoutData
from exports.payouts import write_payouts
from tests.exports import payouts_openpyxl
from tests.store.helpers import policy

POLICY = policy().policy
CODES = [item.code for item in POLICY.items]
# text as members' files carry it: markup characters, spaces at either end, what a spreadsheet could take for a
# formula or an error, digits that must stay text, Chinese
TEXT = st.sampled_from(["王丽", " 李 四 ", "<张&三>", "=1+1", "#N/A", "007", "'引号\"", "", "a" * 40, "杭州·西湖"])
UNITS = st.sampled_from(["杭州市第一人民医院工会", "单位[甲]/乙:丙?", "西湖区教育局工会" * 5, "#单位", " 空格单位"])
AMOUNT = st.integers(min_value=0, max_value=5_000_000).map(lambda fen: Decimal(fen).scaleb(-2))


@st.composite
def payout_data(draw) -> PayoutData:
    batch = Batch(id=draw(st.integers(1, 999)), name=draw(TEXT), period=2025)
    claims = []
    for number in range(draw(st.integers(0, 12))):
        per_item = {code: draw(AMOUNT) for code in CODES}
        member = MemberRow(member_id=f"M{draw(st.integers(1, 5)):03d}", name=draw(TEXT),
                           id_number=draw(st.sampled_from(["330102199001010142", "33010219900101014X", "12345"])),
                           unit=draw(UNITS), bank_name=draw(TEXT),
                           bank_account=draw(st.sampled_from(["", "6222638439044354", "6217001234567890123"])))
        claims.append(PayoutClaim(ClaimRow(claim_id=f"C{number:04d}"), member, [], per_item, sum(per_item.values())))
    claims.sort(key=lambda c: (c.member.unit, c.member.member_id, c.claim.claim_id))
    return PayoutData(batch, POLICY, claims)


def cells(path: Path) -> dict:
    """Everything of a workbook that a reader or a printer sees, sheet by sheet."""
    book = load_workbook(path)
    seen: dict = {"sheets": book.sheetnames}
    for sheet in book.worksheets:
        rows = [[(c.value, type(c.value).__name__, c.data_type, c.number_format, repr(c.font), repr(c.fill),
                  repr(c.alignment), repr(c.border), repr(c.protection)) for c in row] for row in sheet.iter_rows()]
        setup = sheet.page_setup
        seen[sheet.title] = {
            "rows": rows, "max": (sheet.max_row, sheet.max_column), "merged": sorted(map(str, sheet.merged_cells.ranges)),
            "widths": {k: v.width for k, v in sheet.column_dimensions.items()},
            "heights": {k: (v.height, v.customHeight) for k, v in sheet.row_dimensions.items() if v.height},
            "filter": sheet.auto_filter.ref, "freeze": sheet.freeze_panes, "titles": sheet.print_title_rows,
            "setup": (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight,
                      sheet.sheet_properties.pageSetUpPr.fitToPage)}
    return seen


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=payout_data(), by_unit=st.booleans())
def test_the_xml_written_workbook_is_the_openpyxl_one(tmp_path, data, by_unit):
    new, old = tmp_path / "new.xlsx", tmp_path / "old.xlsx"
    figures = write_payouts(data, new, by_unit, issued=date(2025, 6, 1))
    assert figures == payouts_openpyxl.write_payouts(data, old, by_unit, issued=date(2025, 6, 1))
    assert cells(new) == cells(old)


def test_the_detail_sheet_totals_by_hand(tmp_path):
    """Two claims, one without an account: its bank cells warned, the total row summing both to the fen."""
    def claim(number: int, account: str, medical: str) -> PayoutClaim:
        member = MemberRow(member_id=f"M{number}", name="王丽", id_number="330102199001010142", unit="工会",
                           bank_name="工行", bank_account=account)
        per_item = {code: Decimal("0.00") for code in CODES} | {CODES[0]: Decimal(medical)}
        return PayoutClaim(ClaimRow(claim_id=f"C{number}"), member, [], per_item, Decimal(medical))

    out = tmp_path / "payouts.xlsx"
    write_payouts(PayoutData(Batch(id=1, name="六月", period=2025), POLICY,
                             [claim(1, "6222638439044354", "1234.56"), claim(2, "", "0.45")]), out)
    detail = load_workbook(out)["明细"]
    last = detail.max_column
    assert [detail.cell(2, c).value for c in (1, 6, last)] == ["C1", 1234.56, "6222638439044354"]
    assert detail.cell(3, last).value == "（无银行账号）" and detail.cell(3, last).fill.fgColor.rgb.endswith("FCE4D6")
    assert detail.cell(2, last).fill.fgColor.rgb in (None, "00000000")
    assert detail.cell(4, 1).value == "合计" and detail.cell(4, 1).font.bold
    assert Decimal(str(detail.cell(4, 6).value)) == Decimal("1235.01") and detail.cell(4, 6).number_format == "#,##0.00"
    assert detail.max_row == 4
