"""Issue 11, "Files as grassroots unions really send them": dates, money, full-width codes, GBK CSV, header
aliases and one message for a header not understood, items by Chinese name, every problem in one pass."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from claims.intake import read_inputs
from claims.intake.lenient import CellError, clean_code, clean_text, parse_date, parse_money
from claims.problems import ProblemsFound
from claims.store.models import ClaimRow, EnrollmentRow
from claims.workflow.imports import import_file
from tests.intake.test_inputs import CHINESE, CLAIM_HEADER, ENROLLMENTS, GOOD_CLAIM, MEMBERS, files, write_csv
from tests.store.helpers import CLERK, add_users, count, policy

TODAY = date(2026, 1, 1)


@pytest.mark.parametrize("text", ["2025/6/1", "2025-6-1", "2025.6.1", "2025年6月1日", "20250601", "2025-06-01",
                                  "2025-06-01 10:30:00", "2025/6/1 10:30", "２０２５－０６－０１", " 2025 年 6 月 1 日 ",
                                  date(2025, 6, 1), datetime(2025, 6, 1, 10, 30), 20250601])
def test_every_way_a_union_writes_the_first_of_june(text):
    assert parse_date(text) == date(2025, 6, 1)


@pytest.mark.parametrize(("text", "code"), [
    ("6/1/2025", "INPUT_AMBIGUOUS_DATE"), ("01/06/2025", "INPUT_AMBIGUOUS_DATE"), ("25-6-1", "INPUT_AMBIGUOUS_DATE"),
    ("2025-02-30", "INPUT_BAD_DATE"), ("2025-13-01", "INPUT_BAD_DATE"), ("20251301", "INPUT_BAD_DATE"),
    ("1740787200", "INPUT_BAD_DATE"), (45809, "INPUT_BAD_DATE"), ("明天", "INPUT_BAD_DATE"), ("1899-12-31", "INPUT_BAD_DATE"),
])
def test_only_the_ambiguous_or_impossible_date_is_refused(text, code):
    with pytest.raises(CellError) as refused:
        parse_date(text)
    assert refused.value.code == code


def test_a_day_after_today_is_refused_when_today_is_given():
    assert parse_date("2025-12-31", today=TODAY) == date(2025, 12, 31)
    with pytest.raises(CellError) as refused:
        parse_date("2030-01-01", today=TODAY)
    assert refused.value.code == "INPUT_FUTURE_DATE"


@pytest.mark.parametrize(("text", "amount"), [
    ("1234.5", "1234.50"), ("1,234.50", "1234.50"), ("¥1,234.50", "1234.50"), ("￥1234.50", "1234.50"),
    ("１，２３４．５０", "1234.50"), ("１２３４.５", "1234.50"), ("1234.50元", "1234.50"), ("12,345,678", "12345678.00"),
    (1234, "1234.00"), ("0", "0.00"), ("  88 ", "88.00"), ("999999999.99", "999999999.99"),
])
def test_money_as_unions_write_it(text, amount):
    value = parse_money(text)
    assert value == Decimal(amount) and str(value) == amount


@pytest.mark.parametrize(("text", "code"), [
    ("2.4E+3", "INPUT_BAD_MONEY"), ("1e3", "INPUT_BAD_MONEY"), ("1,23.4", "INPUT_BAD_MONEY"), ("12,34", "INPUT_BAD_MONEY"),
    ("abc", "INPUT_BAD_MONEY"), ("NaN", "INPUT_BAD_MONEY"), ("Infinity", "INPUT_BAD_MONEY"),
    ("100.005", "INPUT_MONEY_PRECISION"), ("-1", "INPUT_NEGATIVE_MONEY"),
    ("99999999999999999999.00", "INPUT_MONEY_TOO_LARGE"), ("1000000000", "INPUT_MONEY_TOO_LARGE"),
])
def test_money_that_is_refused(text, code):
    with pytest.raises(CellError) as refused:
        parse_money(text)
    assert refused.value.code == code


def test_full_width_codes_are_normalised_and_hidden_characters_refused():
    assert clean_code("ＨＺ００１") == "HZ001" and clean_code("３３０１０２１９８００５１２０１４ｘ") == "33010219800512014x"
    assert clean_text("\u3000王丽\u00a0") == "王丽"
    for hidden in ("王\u202e丽", "王\u200b丽", "王\x00丽", "王\n丽"):
        with pytest.raises(CellError) as refused:
            clean_text(hidden)
        assert refused.value.code == "INPUT_HIDDEN_CHARACTER" and "第 2 个字符" in refused.value.message


def test_a_gbk_csv_from_a_chinese_windows_reads_like_utf8(hangzhou, tmp_path):
    utf8 = read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM]), today=TODAY)
    other = tmp_path / "gbk"
    other.mkdir()
    paths = []
    for kind, rows in (("members", MEMBERS), ("enrollments", ENROLLMENTS), ("claims", [CLAIM_HEADER, GOOD_CLAIM])):
        path = other / f"{kind}.csv"
        text = "\r\n".join(",".join(CHINESE.get(c, c) if n == 0 else c for c in row) for n, row in enumerate(rows))
        path.write_bytes(text.encode("gbk"))
        paths.append(path)
    assert read_inputs(hangzhou, *paths, today=TODAY) == utf8


def test_full_width_ids_dates_and_money_in_a_file_read_the_same(hangzhou, tmp_path):
    plain = read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM]), today=TODAY)
    other = tmp_path / "wide"
    other.mkdir()
    members = [MEMBERS[0], ["ＨＺ００１", "王丽", "３３０１０２１９８００５１２０１４２", "一院工会", "工商银行", "６２２２６３８４３９０４４３５４",
                            "１３８００００００００"], MEMBERS[2]]
    claim = ["A1", "ＨＺ００１", "住院", "2025年2月1日", "2025/2/11", "", "三级", "ｉ１０", "", "¥32,088.00",
             "２４，０００．００", "8,000", "88", "INV-A1", "20250303"]
    assert read_inputs(hangzhou, *files(other, [CLAIM_HEADER, claim], members), today=TODAY) == plain


def test_the_header_aliases_unions_use(hangzhou, tmp_path):
    plain = read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM]), today=TODAY)
    other = tmp_path / "alias"
    other.mkdir()
    aliases = {"member_id": "工号", "id_number": "身份证号码", "bank_account": "银行卡号", "phone": "手机号码"}
    members = [[aliases.get(h, h) for h in MEMBERS[0]]] + MEMBERS[1:]
    enrollments = [["会员号", "保障项目", "年度", "份数", "生效日期"]] + ENROLLMENTS[1:]
    claims = [[{"member_id": "会员号", "total_cost": "医疗费用总额（元）", "invoice_no": "发票号码"}.get(h, h)
               for h in CLAIM_HEADER], GOOD_CLAIM]
    assert read_inputs(hangzhou, *files(other, claims, members, enrollments), today=TODAY) == plain
    members[0][members[0].index("身份证号码")] = "证件号码"
    assert read_inputs(hangzhou, *files(other, claims, members, enrollments), today=TODAY) == plain


def test_a_missing_header_is_one_message_naming_what_was_found_and_the_nearest(hangzhou, tmp_path):
    header = ["身份证号吗" if h == "id_number" else CHINESE[h] for h in MEMBERS[0]]
    rows = [header] + [MEMBERS[1]] * 300  # hundreds of rows: still one message, not one per row
    with pytest.raises(ProblemsFound) as refused:
        read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM], rows), today=TODAY)
    [problem] = [p for p in refused.value.problems if p.file.endswith("members.csv")]
    assert (problem.line, problem.code) == (1, "INPUT_MISSING_COLUMN")
    assert "“身份证号（id_number）”" in problem.message and "最接近的是“身份证号吗”" in problem.message
    assert "文件中的列：“会员编号”、“姓名”、“身份证号吗”" in problem.message


def test_a_misspelt_optional_column_is_not_dropped_silently(hangzhou, tmp_path):
    header = ["银行帐户" if h == "bank_account" else h for h in MEMBERS[0]]
    with pytest.raises(ProblemsFound) as refused:
        read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM], [header] + MEMBERS[1:]), today=TODAY)
    [problem] = refused.value.problems
    assert (problem.line, problem.column, problem.code) == (1, "银行帐户", "INPUT_UNKNOWN_COLUMN")
    assert "是否应为“银行账号”" in problem.message


def test_enrollments_may_name_the_item_by_its_chinese_name(hangzhou, tmp_path):
    names = {item.code: item.name for item in hangzhou.items}
    by_code = read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM]), today=TODAY)
    other = tmp_path / "names"
    other.mkdir()
    enrollments = [ENROLLMENTS[0]] + [[r[0], names[r[1]], *r[2:]] for r in ENROLLMENTS[1:]]
    assert read_inputs(hangzhou, *files(other, [CLAIM_HEADER, GOOD_CLAIM], enrollments=enrollments),
                       today=TODAY) == by_code


def test_the_same_item_by_code_and_by_name_is_a_duplicate(hangzhou, tmp_path):
    name = hangzhou.item("medical").name
    enrollments = ENROLLMENTS + [["HZ001", name, "2025", "1", "2025-01-01"]]
    with pytest.raises(ProblemsFound) as refused:
        read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM], enrollments=enrollments), today=TODAY)
    assert [(p.line, p.code) for p in refused.value.problems] == [(4, "INPUT_DUPLICATE_KEY")]


def test_one_pass_reports_a_cell_error_and_the_sum_error_of_the_same_or_another_row(hangzhou, tmp_path):
    bad_cell = ["A2", *GOOD_CLAIM[1:7], "not-a-code", *GOOD_CLAIM[8:]]
    bad_sum = ["A3", *GOOD_CLAIM[1:9], "100", "50", "40", "0", *GOOD_CLAIM[13:]]
    both = ["A4", *GOOD_CLAIM[1:3], "2025-13-01", *GOOD_CLAIM[4:9], "100", "50", "40", "0", *GOOD_CLAIM[13:]]
    with pytest.raises(ProblemsFound) as refused:
        read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM, bad_cell, bad_sum, both]), today=TODAY)
    assert [(p.line, p.column, p.code) for p in refused.value.problems] == [
        (3, "diagnoses", "INPUT_BAD_CODE"), (4, "total_cost", "INPUT_COST_SUM"),
        (5, "admission_date", "INPUT_BAD_DATE"), (5, "total_cost", "INPUT_COST_SUM")]


def test_one_import_reports_every_problem_on_both_databases(store, tmp_path):
    add_users(store)
    paths = files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM,
                             ["A2", *GOOD_CLAIM[1:3], "2025-02-30", *GOOD_CLAIM[4:]],
                             ["A3", *GOOD_CLAIM[1:9], "100", "50", "40", "0", *GOOD_CLAIM[13:]],
                             ["A1", "GHOST", *GOOD_CLAIM[2:]]])
    for kind, path in zip(("members", "enrollments"), paths[:2], strict=False):
        with store.session() as s:
            assert import_file(s, kind, path, CLERK, policy().policy, today=TODAY).problems == []
    assert count(store, EnrollmentRow) == 2
    with store.session() as s:
        result = import_file(s, "claims", paths[2], CLERK, today=TODAY)
    assert [(p.line, p.column, p.code) for p in result.problems] == [
        (3, "admission_date", "INPUT_BAD_DATE"), (4, "total_cost", "INPUT_COST_SUM"),
        (5, "claim_id", "INPUT_DUPLICATE_KEY"), (5, "member_id", "INPUT_UNKNOWN_MEMBER")]
    assert count(store, ClaimRow) == 0


def test_enrollments_by_chinese_name_are_stored_by_code_on_both_databases(store, tmp_path):
    add_users(store)
    loaded = policy()
    names = {item.code: item.name for item in loaded.policy.items}
    enrollments = [ENROLLMENTS[0]] + [[r[0], names[r[1]], *r[2:]] for r in ENROLLMENTS[1:]]
    paths = files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM], enrollments=enrollments)
    for kind, path in zip(("members", "enrollments"), paths[:2], strict=False):
        with store.session() as s:
            assert import_file(s, kind, path, CLERK, loaded.policy, today=TODAY).problems == []
    write_csv(tmp_path / "again.csv", ENROLLMENTS)  # the same enrollments by code: nothing changes
    with store.session() as s:
        again = import_file(s, "enrollments", tmp_path / "again.csv", CLERK, loaded.policy, today=TODAY)
    assert (again.problems, again.added, again.unchanged) == ([], 0, 2)


def test_an_xlsx_with_date_time_cells_and_text_dates(hangzhou, tmp_path):
    plain = read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM]), today=TODAY)
    book = Workbook()
    sheet = book.active
    sheet.append([CHINESE[h] for h in CLAIM_HEADER])
    sheet.append(["A1", "HZ001", "住院", datetime(2025, 2, 1, 10, 30), "2025.2.11", None, 3, "I10", None, "32,088.00",
                  24000, 8000, 88, "INV-A1", "2025年3月3日"])
    book.save(tmp_path / "claims.xlsx")
    got = read_inputs(hangzhou, tmp_path / "members.csv", tmp_path / "enrollments.csv", tmp_path / "claims.xlsx",
                      today=TODAY)
    assert got.claims == plain.claims


def test_messages_name_the_file_row_and_column(hangzhou, tmp_path):
    rows = [CLAIM_HEADER, ["A1", *GOOD_CLAIM[1:9], "2.4E+3", *GOOD_CLAIM[10:]]]
    with pytest.raises(ProblemsFound) as refused:
        read_inputs(hangzhou, *files(tmp_path, rows), today=TODAY)
    [problem] = refused.value.problems
    assert str(problem).startswith(f"{Path(tmp_path / 'claims.csv')}:2:total_cost: [INPUT_BAD_MONEY]")
    assert "科学计数法" in problem.message


def test_two_workers_read_lenient_files_as_one_process(hangzhou, tmp_path):
    """Workers split members by a hash of the member number: ＨＺ００１ and HZ001 must land in the same share,
    and invoices' first holders must be ordered by the dates as read (2025/2/11 is 2025-02-11)."""
    from claims.bulk import calculate_files
    from exports.lines import contract_row

    members = [MEMBERS[0], ["ＨＺ００１", *MEMBERS[1][1:]], MEMBERS[2]]
    claims = [CLAIM_HEADER, ["A1", "HZ001", *GOOD_CLAIM[2:4], "2025/2/11", *GOOD_CLAIM[5:13], "INV-1", "2025年3月3日"],
              ["A2", "ＨＺ００１", *GOOD_CLAIM[2:4], "2025-02-09", *GOOD_CLAIM[5:13], "ＩＮＶ-1", "20250303"],
              ["A3", "HZ002", "住院", "2025-03-01", "2025-03-05", "", "2", "I10", "", "5,000", "3,000", "1,500", "500",
               "INV-3", "2025-04-01"]]
    paths = [Path(p) for p in files(tmp_path, claims, members)]
    one = calculate_files(hangzhou, *paths, TODAY, 1, contract_row)[0]
    two = calculate_files(hangzhou, *paths, TODAY, 2, contract_row)[0]
    assert one == two and {row[0] for row in one} >= {"A2", "A3"}
