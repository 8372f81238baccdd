"""Input files (SPEC §3): CSV with or without BOM, XLSX, English or Chinese headers in any order; every
problem of a file reported as file:row:column with a stable code."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from claims.intake import read_inputs
from claims.problems import ProblemsFound

MEMBERS = [["member_id", "name", "id_number", "unit", "bank_name", "bank_account", "phone"],
           ["HZ001", "王丽", "330102198005120142", "一院工会", "工商银行", "6222638439044354", "13800000000"],
           ["HZ002", "李强", "33010219750303025x", "一院工会", "", "", ""]]
ENROLLMENTS = [["member_id", "item", "period", "shares", "start_date"],
               ["HZ001", "medical", "2025", "1", "2025-01-01"],
               ["HZ002", "critical", "2025", "", "2025-03-01"]]
CLAIM_HEADER = ["claim_id", "member_id", "event_type", "admission_date", "discharge_date", "diagnosis_date",
                "hospital_level", "diagnoses", "procedures", "total_cost", "insurance_paid", "self_pay_in_scope",
                "self_pay_out_of_scope", "invoice_no", "submitted_date"]
GOOD_CLAIM = ["A1", "HZ001", "inpatient", "2025-02-01", "2025-02-11", "", "3", "I10", "", "32088.00", "24000.00",
              "8000.00", "88.00", "INV-A1", "2025-03-03"]
CHINESE = {"member_id": "会员编号", "name": "姓名", "id_number": "身份证号", "unit": "单位", "bank_name": "开户行",
           "bank_account": "银行账号", "phone": "手机号", "item": "保障项目", "period": "互助期", "shares": "份数",
           "start_date": "保障起始日", "claim_id": "申请编号", "event_type": "类别", "admission_date": "入院日期",
           "discharge_date": "出院日期", "diagnosis_date": "确诊日期", "hospital_level": "医院等级",
           "diagnoses": "诊断编码", "procedures": "手术编码", "total_cost": "医疗总费用",
           "insurance_paid": "医保统筹支付", "self_pay_in_scope": "个人自付", "self_pay_out_of_scope": "个人自费",
           "invoice_no": "发票号", "submitted_date": "申请日期"}


def write_csv(path: Path, rows, bom=False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def chinese_reversed(rows):
    """Chinese headers, columns in reverse order, plus an extra column that must be ignored."""
    header = [CHINESE[h] for h in rows[0]][::-1] + ["备注"]
    return [header] + [row[::-1] + ["随便写"] for row in rows[1:]]


def files(tmp_path, claims_rows, members=MEMBERS, enrollments=ENROLLMENTS, bom=False):
    return (write_csv(tmp_path / "members.csv", members, bom), write_csv(tmp_path / "enrollments.csv", enrollments, bom),
            write_csv(tmp_path / "claims.csv", claims_rows, bom))


def problems_of(hangzhou, paths) -> list[str]:
    with pytest.raises(ProblemsFound) as refused:
        read_inputs(hangzhou, *paths, today=date(2026, 1, 1))
    return [f"{Path(p.file).name}:{p.line}:{p.column}:{p.code}" for p in refused.value.problems]


def test_english_csv_reads_typed_records(hangzhou, tmp_path):
    inputs = read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM]), today=date(2026, 1, 1))
    wang, li = inputs.members["HZ001"], inputs.members["HZ002"]
    assert (wang.gender, wang.birth_date) == ("female", date(1980, 5, 12))
    assert (li.gender, li.birth_date, li.id_number) == ("male", date(1975, 3, 3), "33010219750303025X")
    assert inputs.enrollments[1].shares == 1  # blank shares default to one
    claim = inputs.claims[0]
    assert claim.self_pay_in_scope == Decimal("8000.00") and type(claim.total_cost) is Decimal
    assert claim.diagnosis_date == date(2025, 2, 1)  # defaults to the admission date


def test_chinese_headers_in_any_order_with_bom_read_the_same(hangzhou, tmp_path):
    english = read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM]), today=date(2026, 1, 1))
    other = tmp_path / "zh"
    other.mkdir()
    chinese = read_inputs(hangzhou, *files(other, chinese_reversed([CLAIM_HEADER, GOOD_CLAIM]),
                                           chinese_reversed(MEMBERS), chinese_reversed(ENROLLMENTS), bom=True),
                          today=date(2026, 1, 1))
    assert chinese == english


def test_xlsx_with_real_date_and_number_cells(hangzhou, tmp_path):
    english = read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM]), today=date(2026, 1, 1))
    book = Workbook()
    sheet = book.active
    sheet.append([CHINESE[h] for h in CLAIM_HEADER])
    sheet.append(["A1", "HZ001", "住院", date(2025, 2, 1), date(2025, 2, 11), None, 3, "I10", None, 32088,
                  24000, 8000, 88, "INV-A1", date(2025, 3, 3)])
    book.save(tmp_path / "claims.xlsx")
    from_xlsx = read_inputs(hangzhou, tmp_path / "members.csv", tmp_path / "enrollments.csv", tmp_path / "claims.xlsx",
                            today=date(2026, 1, 1))
    assert from_xlsx.claims == english.claims


def test_every_problem_of_every_file_is_reported_with_its_location(hangzhou, tmp_path):
    members = MEMBERS + [["HZ003", "赵敏", "330102199007070375", "一院工会", "", "", ""],  # wrong check digit
                         ["HZ001", "重复", "330102199007070374", "一院工会", "", "12ab", ""]]  # duplicate id, bad account
    enrollments = ENROLLMENTS + [["HZ001", "dental", "2025", "1", "2025-01-01"],  # unknown item
                                 ["HZ002", "medical", "2025", "2", "2025-01-01"],  # more shares than allowed
                                 ["HZ002", "women", "2025", "1", "2024-12-01"],  # start outside the period
                                 ["HZ001", "medical", "2025", "1", "2025-01-01"],  # duplicated enrollment
                                 ["NOPE", "medical", "2025", "1", "2025-01-01"]]  # unknown member
    bad = GOOD_CLAIM[:]
    rows = [CLAIM_HEADER, GOOD_CLAIM,
            ["A2"] + bad[1:9] + ["100.005", "0", "100.005", "0"] + bad[13:],  # three decimals
            ["A3"] + bad[1:9] + ["100", "-1", "101", "0"] + bad[13:],  # negative
            ["A4"] + bad[1:9] + ["100", "50", "40", "0"] + bad[13:],  # parts do not add up
            ["A5", "HZ001", "inpatient", "2025-02-11", "2025-02-01"] + bad[5:],  # discharge before admission
            ["A6", "HZ001", "inpatient", "2025-02-01", "2025-04-01"] + bad[5:],  # after submission
            ["A7", "HZ001", "hospital", "01/02/2025", "2025-02-11", "", "5", "cancer"] + bad[8:],  # 4 bad cells
            ["A1", "GHOST"] + bad[2:]]  # duplicated claim id, unknown member
    found = problems_of(hangzhou, files(tmp_path, rows, members, enrollments))
    assert found == [
        "claims.csv:3:total_cost:INPUT_MONEY_PRECISION", "claims.csv:3:self_pay_in_scope:INPUT_MONEY_PRECISION",
        "claims.csv:4:insurance_paid:INPUT_NEGATIVE_MONEY",
        "claims.csv:5:total_cost:INPUT_COST_SUM",
        "claims.csv:6:discharge_date:INPUT_DISCHARGE_BEFORE_ADMISSION",
        "claims.csv:7:discharge_date:INPUT_DATE_AFTER_SUBMISSION",
        "claims.csv:8:event_type:INPUT_BAD_EVENT_TYPE", "claims.csv:8:admission_date:INPUT_AMBIGUOUS_DATE",
        "claims.csv:8:hospital_level:INPUT_OUT_OF_RANGE", "claims.csv:8:diagnoses:INPUT_BAD_CODE",
        "claims.csv:9:claim_id:INPUT_DUPLICATE_KEY", "claims.csv:9:member_id:INPUT_UNKNOWN_MEMBER",
        "enrollments.csv:4:item:INPUT_UNKNOWN_ITEM", "enrollments.csv:5:shares:INPUT_TOO_MANY_SHARES",
        "enrollments.csv:6:start_date:INPUT_START_OUTSIDE_PERIOD", "enrollments.csv:7:item:INPUT_DUPLICATE_KEY",
        "enrollments.csv:8:member_id:INPUT_UNKNOWN_MEMBER",
        "members.csv:4:id_number:INPUT_ID_CHECKSUM", "members.csv:5:bank_account:INPUT_BAD_ACCOUNT",
        "members.csv:5:member_id:INPUT_DUPLICATE_KEY",
    ]


def test_messages_are_chinese_and_name_the_column_as_written(hangzhou, tmp_path):
    rows = chinese_reversed([CLAIM_HEADER, ["A1", "HZ001", "inpatient", "2025-02-01", "2025-02-11", "", "3", "I10", "",
                                            "1", "1", "1", "1", "", "2025-03-03"]])
    with pytest.raises(ProblemsFound) as refused:
        read_inputs(hangzhou, *files(tmp_path, rows), today=date(2026, 1, 1))
    [problem] = refused.value.problems
    assert problem.column == "医疗总费用" and problem.code == "INPUT_COST_SUM"
    assert "与医疗总费用 1.00 不符" in problem.message
    assert str(problem).endswith(f"claims.csv:2:医疗总费用: [INPUT_COST_SUM] {problem.message}")


def test_a_missing_required_column_is_reported_at_the_header(hangzhou, tmp_path):
    header = [h for h in CLAIM_HEADER if h != "submitted_date"]
    found = problems_of(hangzhou, files(tmp_path, [header, GOOD_CLAIM[:-1]]))
    assert found == ["claims.csv:1:申请日期:INPUT_MISSING_COLUMN"]


def test_id_number_of_a_hangzhou_member_born_before_1983_is_accepted(hangzhou, tmp_path):
    """python-stdnum's validate() refuses 330102 for births before 1983 (its county table); a real ID."""
    from stdnum.cn import ric
    assert not ric.is_valid("330102198001011176")
    members = MEMBERS[:2] + [["M9", "张军", "330102198001011176", "一院工会", "", "", ""]]
    enrollments = ENROLLMENTS[:2]
    inputs = read_inputs(hangzhou, *files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM], members, enrollments),
                         today=date(2026, 1, 1))
    assert inputs.members["M9"].gender == "male"


def test_birth_date_in_the_future_is_refused(hangzhou, tmp_path):
    from stdnum.cn import ric
    future = "33010220300101001"
    future += ric.calc_check_digit(future + "0")
    members = MEMBERS + [["M9", "未来", future, "一院工会", "", "", ""]]
    found = problems_of(hangzhou, files(tmp_path, [CLAIM_HEADER, GOOD_CLAIM], members))
    assert found == ["members.csv:4:id_number:INPUT_ID_BIRTH_DATE"]


def test_a_missing_file_is_named(hangzhou, tmp_path):
    with pytest.raises(ProblemsFound) as refused:
        read_inputs(hangzhou, tmp_path / "nope.csv", tmp_path / "e.csv", tmp_path / "c.csv")
    assert {p.code for p in refused.value.problems} == {"INPUT_NOT_FOUND"}
    assert len(refused.value.problems) == 3
