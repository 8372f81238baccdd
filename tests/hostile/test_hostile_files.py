"""Issue 17, "Files that are hostile, not just wrong": each attack of the hostile tester, refused (or read
as the user meant) with a located Chinese message and a stable code, never a traceback; on SQLite and
PostgreSQL where a database is involved."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from claims.intake import read_inputs
from claims.intake.tables import read_table
from claims.problems import ProblemsFound
from claims.store.models import ClaimRow, MemberRow
from claims.workflow.imports import import_file, write_errors_workbook
from tests.conftest import ROOT, login_once, setup_users
from tests.hostile.generate import (
    CLAIM_HEADER,
    FILES,
    GOOD_CLAIM,
    GOOD_MEMBER,
    MEMBER_HEADER,
    _csv,
    huge_dimension,
    zip_bomb,
)
from tests.store.helpers import CLERK, add_users, count, policy

TODAY = date(2026, 1, 1)


def refused(path) -> list:
    with pytest.raises(ProblemsFound) as found:
        read_table(path)
    return found.value.problems


def cli(tmp_path, *args, limit_gib: int | None = None):
    """The real command in a child process, optionally with its address space capped."""
    env = {**os.environ, "CLAIMS_DB": f"sqlite:///{tmp_path / 'claims.db'}"}
    if (tmp_path / "claims.db").exists():  # a command on the database acts as the logged-in clerk
        env = login_once(env, CLERK)

    def cap():
        if limit_gib:
            resource.setrlimit(resource.RLIMIT_AS, (limit_gib * 2**30, limit_gib * 2**30))

    return subprocess.run([sys.executable, "-m", "claims.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, preexec_fn=cap)


def init_with_clerk(tmp_path) -> None:
    env = {**os.environ, "CLAIMS_DB": f"sqlite:///{tmp_path / 'claims.db'}"}
    subprocess.run([sys.executable, "-m", "claims.cli", "db", "init"], check=True, capture_output=True, env=env)
    setup_users(env["CLAIMS_DB"], {CLERK: "clerk"})


def test_a_cell_at_xfd1048576_is_refused_before_anything_is_allocated(tmp_path):
    path = huge_dimension(tmp_path / "huge.xlsx")
    assert path.stat().st_size < 10_000
    start = time.perf_counter()
    [problem] = refused(path)
    assert problem.code == "INPUT_TOO_MANY_ROWS" and "1,048,576" in problem.message
    assert time.perf_counter() - start < 5
    init_with_clerk(tmp_path)
    done = cli(tmp_path, "import", "claims", path, limit_gib=2)  # the unguarded reader asked for 512 GiB
    assert done.returncode == 2 and "[INPUT_TOO_MANY_ROWS]" in done.stderr and "Traceback" not in done.stderr


def test_a_zip_bomb_is_refused_by_its_inflated_size_without_inflating_it(tmp_path):
    path = zip_bomb(tmp_path / "bomb.xlsx", inflated_mib=3 * 1024)
    assert path.stat().st_size < 5 * 2**20
    start = time.perf_counter()
    [problem] = refused(path)
    assert problem.code == "INPUT_TOO_LARGE" and "压缩炸弹" in problem.message
    assert time.perf_counter() - start < 5
    init_with_clerk(tmp_path)
    done = cli(tmp_path, "import", "claims", path, limit_gib=2)
    assert done.returncode == 2 and "[INPUT_TOO_LARGE]" in done.stderr and "Traceback" not in done.stderr


def test_a_zip_bomb_just_under_the_declared_limit_is_still_bounded_while_streaming(tmp_path, monkeypatch):
    from claims.intake import tables
    monkeypatch.setattr(tables, "MAX_INFLATED_BYTES", 8 * 2**20)
    path = zip_bomb(tmp_path / "bomb.xlsx", inflated_mib=20)
    assert refused(path)[0].code == "INPUT_TOO_LARGE"


def test_the_first_visible_sheet_is_read_and_the_hidden_one_is_named():
    table = read_table(FILES / "hidden_first_sheet.xlsx")
    assert [cells[0] for _, cells in table.rows] == ["A1"]  # not H1 of the hidden sheet
    [notice] = table.notices
    assert notice.code == "INPUT_OTHER_SHEETS" and "隐藏的工作表“旧表”" in notice.message


def test_rows_on_another_sheet_are_not_dropped_silently(tmp_path):
    table = read_table(FILES / "second_sheet_with_rows.xlsx")
    assert [cells[0] for _, cells in table.rows] == ["A1"]
    assert "工作表“补充”也有数据" in table.notices[0].message
    init_with_clerk(tmp_path)
    done = cli(tmp_path, "import", "claims", FILES / "second_sheet_with_rows.xlsx")
    assert "注意：" in done.stderr and "[INPUT_OTHER_SHEETS]" in done.stderr


def test_a_formula_cell_is_refused_at_its_cell(hangzhou, tmp_path):
    members = tmp_path / "members.csv"
    _csv(members, [MEMBER_HEADER, GOOD_MEMBER])
    enrollments = tmp_path / "enrollments.csv"
    _csv(enrollments, [["会员编号", "保障项目", "互助期", "份数", "保障起始日"], ["HZ001", "medical", "2025", "1", "2025-01-01"]])
    with pytest.raises(ProblemsFound) as found:
        read_inputs(hangzhou, members, enrollments, FILES / "formula_cell.xlsx", today=TODAY)
    [problem] = found.value.problems
    assert (problem.line, problem.column, problem.code) == (2, "医疗总费用", "INPUT_FORMULA")
    assert "J2" in problem.message


def test_identifiers_stored_by_excel_as_numbers_are_refused_with_what_excel_did(hangzhou):
    from claims.intake.rows import parse_table
    parsed = parse_table(read_table(FILES / "numbers_for_identifiers.xlsx"), "members", TODAY)
    found = {(p.column, p.code): p.message for p in parsed.problems}
    assert found[("银行账号", "INPUT_NUMBER_CELL")] == "银行账号被 Excel 存成了数字，末几位已丢失，请把该列设为文本后重新填写"
    assert "身份证号被 Excel 存成了数字" in found[("身份证号", "INPUT_NUMBER_CELL")]  # not 校验位不正确
    assert len(found) == 2


def claim_problems(hangzhou, tmp_path, claims: Path) -> list[str]:
    members, enrollments = tmp_path / "m.csv", tmp_path / "e.csv"
    _csv(members, [MEMBER_HEADER, GOOD_MEMBER])
    _csv(enrollments, [["会员编号", "保障项目", "互助期", "份数", "保障起始日"], ["HZ001", "medical", "2025", "1", "2025-01-01"]])
    with pytest.raises(ProblemsFound) as found:
        read_inputs(hangzhou, members, enrollments, claims, today=TODAY)
    return [f"{p.line}:{p.column}:{p.code}" for p in found.value.problems]


def test_hostile_cells_of_a_claims_file(hangzhou, tmp_path):
    assert claim_problems(hangzhou, tmp_path, FILES / "claims_hostile_cells.csv") == [
        "2:医疗总费用:INPUT_BAD_MONEY",  # 2.4E+3
        "3:医疗总费用:INPUT_MONEY_TOO_LARGE", "3:个人自付:INPUT_MONEY_TOO_LARGE",
        "4:入院日期:INPUT_FUTURE_DATE", "4:出院日期:INPUT_FUTURE_DATE", "4:申请日期:INPUT_FUTURE_DATE",
        "5:发票号:INPUT_TOO_LONG",
        "6:诊断编码:INPUT_TOO_LONG",
    ]


def test_hostile_text_of_a_members_file():
    from claims.intake.rows import parse_table
    parsed = parse_table(read_table(FILES / "members_hostile_text.csv"), "members", TODAY)
    found = [(p.line, p.column, p.code) for p in parsed.problems]
    assert found == [(2, "姓名", "INPUT_TOO_LONG"), (3, "姓名", "INPUT_HIDDEN_CHARACTER"), (3, "单位", "INPUT_TOO_LONG"),
                     (4, "姓名", "INPUT_HIDDEN_CHARACTER"), (5, "姓名", "INPUT_HIDDEN_CHARACTER")]
    messages = {p.line: p.message for p in parsed.problems if p.column == "姓名"}
    assert "U+202E（从右向左覆盖）" in messages[3] and "U+200B（零宽空格）" in messages[4]
    assert "U+0000（空字符（NUL））" in messages[5] and "最长 100 个字符，本格有 101 个" in messages[2]


def test_values_at_the_column_limits_are_stored_on_both_databases(store, tmp_path):
    add_users(store)
    members = tmp_path / "members.csv"
    _csv(members, [MEMBER_HEADER, ["HZ001", "王" * 100, GOOD_MEMBER[2], "单" * 200, "行" * 200, "6" * 40, "1" * 20]])
    with store.session() as s:
        result = import_file(s, "members", members, CLERK)
    assert result.problems == [] and count(store, MemberRow) == 1
    enrollments = tmp_path / "enrollments.csv"
    _csv(enrollments, [["会员编号", "保障项目", "互助期", "份数", "保障起始日"], ["HZ001", "medical", "2025", "1", "2025-01-01"]])
    claims = tmp_path / "claims.csv"
    codes = ";".join(f"C{n:02d}.1" for n in range(66))  # 398 characters
    _csv(claims, [CLAIM_HEADER, [*GOOD_CLAIM[:7], codes, "", *GOOD_CLAIM[9:13], "I" * 60, GOOD_CLAIM[14]]])
    with store.session() as s:
        assert import_file(s, "enrollments", enrollments, CLERK, policy().policy).problems == []
    with store.session() as s:
        assert import_file(s, "claims", claims, CLERK, today=TODAY).problems == []
    assert count(store, ClaimRow) == 1


def test_values_past_the_limits_are_refused_at_intake_on_both_databases(store, tmp_path):
    add_users(store)
    with store.session() as s:
        result = import_file(s, "members", FILES / "members_hostile_text.csv", CLERK, today=TODAY)
    assert [(p.line, p.code) for p in result.problems][:2] == [(2, "INPUT_TOO_LONG"), (3, "INPUT_HIDDEN_CHARACTER")]
    assert count(store, MemberRow) == 0
    with store.session() as s:
        _csv(tmp_path / "m.csv", [MEMBER_HEADER, GOOD_MEMBER])
        assert import_file(s, "members", tmp_path / "m.csv", CLERK, today=TODAY).problems == []
    with store.session() as s:
        result = import_file(s, "claims", FILES / "claims_hostile_cells.csv", CLERK, today=TODAY)
    assert {p.code for p in result.problems} == {"INPUT_BAD_MONEY", "INPUT_MONEY_TOO_LARGE", "INPUT_FUTURE_DATE",
                                                  "INPUT_TOO_LONG"}
    assert count(store, ClaimRow) == 0


def test_an_amount_of_twenty_nines_is_a_located_message_with_exit_2(tmp_path):
    init_with_clerk(tmp_path)
    cli(tmp_path, "import", "members", FILES / "members_hostile_text.csv")  # refused; members come next
    _csv(tmp_path / "m.csv", [MEMBER_HEADER, GOOD_MEMBER])
    assert cli(tmp_path, "import", "members", tmp_path / "m.csv").returncode == 0
    claims = tmp_path / "claims.csv"
    _csv(claims, [CLAIM_HEADER, [*GOOD_CLAIM[:9], "99999999999999999999.00", "0", "99999999999999999999.00", "0",
                                 *GOOD_CLAIM[13:]]])
    done = cli(tmp_path, "import", "claims", claims)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "OverflowError" not in done.stderr
    assert f"{claims}:2:医疗总费用: [INPUT_MONEY_TOO_LARGE]" in done.stderr


def test_a_nul_byte_with_errors_out_gives_a_workbook_not_an_illegal_character_error(tmp_path):
    init_with_clerk(tmp_path)
    out = tmp_path / "errors.xlsx"
    done = cli(tmp_path, "import", "members", FILES / "members_hostile_text.csv", "--errors-out", out)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[4][1] == "赵\\x00敏" and "U+0000" in rows[4][-1]
    assert rows[3][1] == "张\u200b军"  # shown as sent: the message says where the hidden character is


def test_the_errors_workbook_writes_formula_like_text_as_text(tmp_path):
    from claims.intake.rows import parse_table
    from claims.workflow.imports import ImportResult
    path = tmp_path / "m.csv"
    _csv(path, [MEMBER_HEADER, ["=HYPERLINK(\"http://evil.example/x\",\"点击\")", "王", "1", "单位", "", "", ""]])
    result = ImportResult("members", str(path), table=parse_table(read_table(path), "members", TODAY))
    result.problems = result.table.problems
    write_errors_workbook(result, tmp_path / "e.xlsx")
    cell = load_workbook(tmp_path / "e.xlsx").active["A2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")



def test_calculate_refuses_a_hostile_workbook_with_exit_2(tmp_path):
    members, enrollments = tmp_path / "m.csv", tmp_path / "e.csv"
    _csv(members, [MEMBER_HEADER, GOOD_MEMBER])
    _csv(enrollments, [["会员编号", "保障项目", "互助期", "份数", "保障起始日"], ["HZ001", "medical", "2025", "1", "2025-01-01"]])
    for path, code in ((huge_dimension(tmp_path / "huge.xlsx"), "INPUT_TOO_MANY_ROWS"),
                       (zip_bomb(tmp_path / "bomb.xlsx"), "INPUT_TOO_LARGE")):
        for workers in ("1", "2"):
            done = cli(tmp_path, "calculate", "--policy", ROOT / "policies" / "hangzhou.yaml", "--members", members,
                       "--enrollments", enrollments, "--claims", path, "--workers", workers, limit_gib=3)
            assert done.returncode == 2 and f"[{code}]" in done.stderr and "Traceback" not in done.stderr
