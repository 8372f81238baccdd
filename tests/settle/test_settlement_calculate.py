"""``claims calculate --settlements``: the held-out scenarios, sent as the bureau sends them, give exactly the
lines of their claims form; non-members and other medical types are skipped and counted; problems located."""

from __future__ import annotations

from decimal import Decimal

import pytest
from click.testing import CliRunner

from claims.cli import main
from tests.conftest import POLICIES, ROOT
from tests.settle.scenarios import claims_without_diagnosis_date, settlement_rows, write

FOLDERS = sorted(p for p in (ROOT / "tests" / "acceptance").iterdir() if p.is_dir())
SHARED = ROOT.parent / "shared" / "acceptance"
FOLDERS += sorted(p for p in SHARED.iterdir() if p.is_dir()) if SHARED.is_dir() else []


def calculate(folder, *args):
    policy = (folder / "policy.txt").read_text().strip()
    return CliRunner().invoke(main, ["calculate", "--policy", str(POLICIES / f"{policy}.yaml"), "--members",
                                     str(folder / "members.csv"), "--enrollments", str(folder / "enrollments.csv"),
                                     *map(str, args)])


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_scenario_as_a_settlement_list_gives_the_lines_of_its_claims_form(folder, tmp_path):
    rows = settlement_rows(folder)
    # the bureau's file covers everyone: a non-member and an ordinary outpatient visit (11) are skipped
    stranger = dict(rows[0], setl_id="S-OTHER", certno="11010519491231002X", psn_name="路人")
    outpatient = dict(rows[0], setl_id="S-OUT", med_type="11")
    listed = write(tmp_path / "settlements.csv", [stranger, *rows, outpatient])
    done = calculate(folder, "--settlements", listed)
    assert done.exit_code == 0, done.output
    claims_form = calculate(folder, "--claims", claims_without_diagnosis_date(folder, tmp_path / "claims.csv"))
    assert claims_form.exit_code == 0
    assert done.stdout == claims_form.stdout
    assert "跳过 非会员 1 行，医疗类别不在补助范围 1 行" in done.stderr


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_region_mapping_with_its_own_diagnosis_date_column_gives_the_expected_lines(folder, tmp_path):
    mapping = (ROOT / "mappings" / "settlements" / "national.yaml").read_text(encoding="utf-8")
    region = tmp_path / "region.yaml"
    region.write_text(mapping.replace("fields:\n", "fields:\n  diagnosis_date: diag_date\n", 1), encoding="utf-8")
    listed = write(tmp_path / "settlements.csv", settlement_rows(folder, diagnosis_column=True))
    done = calculate(folder, "--settlements", listed, "--mapping", region)
    assert done.exit_code == 0, done.output
    assert done.stdout == (folder / "expected.csv").read_text(encoding="utf-8")


def test_a_sum_or_difference_of_fields_and_a_reversal_in_the_same_file(tmp_path):
    folder = FOLDERS[0]
    rows = settlement_rows(folder)
    for row in rows:  # 先行自付 100 is reported apart and must come off the in-scope self-pay
        row["preselfpay_amt"] = "100.00"
        row["psn_selfpay"] = str(Decimal(row["psn_selfpay"]) + 100)
        row["medfee_sumamt"] = str(Decimal(row["medfee_sumamt"]) + 100)
    region = tmp_path / "region.yaml"
    text = (ROOT / "mappings" / "settlements" / "national.yaml").read_text(encoding="utf-8")
    text = text.replace("self_pay_in_scope: psn_selfpay", "self_pay_in_scope: {sum: [psn_selfpay], minus: [preselfpay_amt]}")
    text = text.replace("total_cost: medfee_sumamt", "total_cost: {sum: [medfee_sumamt], minus: [preselfpay_amt]}")
    region.write_text(text, encoding="utf-8")
    reversal = dict(rows[-1], refd_setl_flag="1")
    done = calculate(folder, "--settlements", write(tmp_path / "s.csv", [*rows, reversal]), "--mapping", region)
    assert done.exit_code == 0, done.output
    claims_form = calculate(folder, "--claims", claims_without_diagnosis_date(folder, tmp_path / "claims.csv"))
    withdrawn = rows[-1]["setl_id"]
    expected = [line for line in claims_form.stdout.splitlines() if not line.startswith(withdrawn + ",")]
    assert done.stdout.splitlines() == expected
    assert "冲销 1 行" in done.stderr


def test_problems_are_located_at_the_settlement_file_row_and_column(tmp_path):
    folder = FOLDERS[0]
    rows = settlement_rows(folder)
    rows[1]["psn_selfpay"] = "八千"
    rows[2]["enddate"] = "2025-13-45 10:00:00"
    rows[0]["medins_lv"] = "9"
    listed = write(tmp_path / "s.csv", rows)
    done = calculate(folder, "--settlements", listed)
    assert done.exit_code == 2
    assert f"{listed}:2:medins_lv: [INPUT_OUT_OF_RANGE]" in done.stderr
    assert f"{listed}:3:psn_selfpay: [INPUT_BAD_MONEY]" in done.stderr
    assert f"{listed}:4:enddate: [INPUT_BAD_DATE]" in done.stderr
    assert "Traceback" not in done.output


def test_a_missing_column_and_a_bad_mapping_are_reported_once(tmp_path):
    folder = FOLDERS[0]
    rows = [{k: v for k, v in row.items() if k != "psn_ownpay"} for row in settlement_rows(folder)]
    listed = write(tmp_path / "s.csv", rows)
    done = calculate(folder, "--settlements", listed)
    assert done.exit_code == 2
    assert done.stderr.count("[SETTLEMENT_MISSING_COLUMN]") == 1 and f"{listed}:1:psn_ownpay" in done.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  claim_id: setl_id\n  total_kost: medfee_sumamt\n", encoding="utf-8")
    done = calculate(folder, "--settlements", listed, "--mapping", bad)
    assert done.exit_code == 2 and "[MAPPING_UNKNOWN_FIELD]" in done.stderr and "[MAPPING_MISSING_FIELD]" in done.stderr


def test_the_sample_settlement_list_gives_the_lines_of_the_sample_claims(tmp_path):
    small = ROOT / "tests" / "fixtures" / "small"
    args = ["calculate", "--policy", str(POLICIES / "hangzhou.yaml"), "--members", str(small / "members.csv"),
            "--enrollments", str(small / "enrollments.csv")]
    from_claims = CliRunner().invoke(main, [*args, "--claims", str(small / "claims.csv")])
    from_list = CliRunner().invoke(main, [*args, "--settlements", str(small / "settlements.csv")])
    assert from_list.exit_code == 0 and from_list.stdout == from_claims.stdout
    assert "14 行结算记录" in from_list.stderr and "跳过 非会员 1 行，医疗类别不在补助范围 1 行" in from_list.stderr


def test_an_id_number_two_members_share_is_refused_not_guessed(tmp_path):
    folder = FOLDERS[0]
    members = (folder / "members.csv").read_text(encoding="utf-8").splitlines()
    twin = members[1].split(",")
    original = twin[0]
    twin[0], twin[1] = "ZZ999", "同号者"
    (tmp_path / "members.csv").write_text("\n".join([*members, ",".join(twin)]) + "\n", encoding="utf-8")
    listed = write(tmp_path / "s.csv", settlement_rows(folder)[:1])
    policy = (folder / "policy.txt").read_text().strip()
    done = CliRunner().invoke(main, ["calculate", "--policy", str(POLICIES / f"{policy}.yaml"), "--members",
                                     str(tmp_path / "members.csv"), "--enrollments", str(folder / "enrollments.csv"),
                                     "--settlements", str(listed)])
    assert done.exit_code == 2
    assert f"{listed}:2:certno: [SETTLEMENT_AMBIGUOUS_MEMBER]" in done.stderr and f"{original}、ZZ999" in done.stderr
