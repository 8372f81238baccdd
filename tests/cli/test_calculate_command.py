"""``claims calculate`` and ``claims policy`` through the installed command, as auditors and tests drive them."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import POLICIES, ROOT

ACCEPTANCE = sorted(p for p in (ROOT / "tests" / "acceptance").iterdir() if p.is_dir())
SHARED = ROOT.parent / "shared" / "acceptance"


def claims(*args, cwd=None) -> subprocess.CompletedProcess:
    command = shutil.which("claims", path=str(Path(sys.executable).parent)) or "claims"
    return subprocess.run([command, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def scenario_args(folder: Path) -> list:
    policy = (folder / "policy.txt").read_text().strip()
    return ["--policy", POLICIES / f"{policy}.yaml", "--members", folder / "members.csv",
            "--enrollments", folder / "enrollments.csv", "--claims", folder / "claims.csv"]


@pytest.mark.parametrize("folder", ACCEPTANCE, ids=lambda p: p.name)
def test_acceptance_scenario(folder):
    done = claims("calculate", *scenario_args(folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (folder / "expected.csv").read_text(encoding="utf-8")


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/acceptance is not beside this checkout")
def test_shared_acceptance_scenarios_all_pass():
    done = subprocess.run([sys.executable, ROOT / "scripts" / "check_acceptance.py", *sorted(SHARED.iterdir())],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith(f"{len([p for p in SHARED.iterdir() if p.is_dir()])} passed, 0 failed")


def test_json_carries_explanations_and_xlsx_reads_back(tmp_path):
    folder = ROOT / "tests" / "acceptance" / "hz_bands_caps_stacking"
    done = claims("calculate", *scenario_args(folder), "--format", "json")
    lines = json.loads(done.stdout)["lines"]
    capped = next(line for line in lines if line["claim_id"] == "A3" and line["benefit"] == "medical_subsidy")
    assert capped["amount"] == "13000.00" and capped["reason"] == "CAPPED"
    assert "实补 13,000.00 元" in capped["explanation_text"]
    assert capped["explanation"]["item_cap_before"] == "13000.00"
    assert capped["explanation"]["item_cap_after"] == "0.00"
    out = tmp_path / "result.xlsx"
    assert claims("calculate", *scenario_args(folder), "--out", out).returncode == 0
    sheet = load_workbook(out).active
    assert [c.value for c in sheet[1]][:6] == ["申请编号", "会员编号", "互助期", "保障项目", "保障责任", "补助金额（元）"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    expected = list(csv.DictReader(io.StringIO((folder / "expected.csv").read_text(encoding="utf-8"))))
    from claims.policy import read_policy

    names = {b.code: b.name for i in read_policy(POLICIES / "hangzhou.yaml").policy.items for b in i.benefits}
    # what people read: the policy's Chinese names, never the codes
    assert [(r[0], r[4], f"{r[5]:.2f}") for r in rows] == [(e["claim_id"], names[e["benefit"]], e["amount"])
                                                         for e in expected]
    assert not any(c.isascii() and c.isalpha() for r in rows for c in (r[3] or "") + (r[4] or ""))
    assert sheet["F2"].number_format == "#,##0.00"


def test_output_does_not_depend_on_input_row_order(tmp_path):
    folder = ROOT / "tests" / "acceptance" / "bj_shares_waiting_cover_end"
    for name in ("members.csv", "enrollments.csv", "claims.csv"):
        header, *rows = (folder / name).read_text(encoding="utf-8").splitlines()
        (tmp_path / name).write_text("\n".join([header, *reversed(rows)]) + "\n", encoding="utf-8")
    shutil.copy(folder / "policy.txt", tmp_path / "policy.txt")
    assert claims("calculate", *scenario_args(tmp_path)).stdout == (folder / "expected.csv").read_text(encoding="utf-8")


def test_invalid_input_exits_2_with_located_messages_and_writes_nothing(tmp_path):
    folder = ROOT / "tests" / "acceptance" / "hz_bands_caps_stacking"
    bad = (folder / "claims.csv").read_text(encoding="utf-8").replace("32088.00", "32088.001").replace(
        "2025-04-09", "2025-03-09")
    (tmp_path / "claims.csv").write_text(bad, encoding="utf-8")
    out = tmp_path / "out.csv"
    args = scenario_args(folder)
    args[args.index(folder / "claims.csv")] = tmp_path / "claims.csv"
    done = claims("calculate", *args, "--out", out)
    assert done.returncode == 2
    assert not out.exists()
    assert f"{tmp_path / 'claims.csv'}:2:total_cost: [INPUT_MONEY_PRECISION]" in done.stderr
    assert f"{tmp_path / 'claims.csv'}:3:discharge_date: [INPUT_DISCHARGE_BEFORE_ADMISSION]" in done.stderr


def test_policy_check_passes_the_shipped_policies_and_refuses_a_bad_one():
    done = claims("policy", "check", POLICIES / "hangzhou.yaml", POLICIES / "beijing.yaml")
    assert done.returncode == 0 and "通过" in done.stdout
    bad = ROOT / "tests" / "policy" / "bad" / "rate_above_one.yaml"
    done = claims("policy", "check", bad)
    assert done.returncode == 2
    assert f"{bad}:18: [POLICY_RATE_RANGE]" in done.stderr


def test_policy_show_is_a_readable_chinese_summary():
    done = claims("policy", "show", POLICIES / "hangzhou.yaml")
    assert done.returncode == 0
    for text in ("杭州市在职职工医疗互助保障", "住院和规定病种门诊自负医疗费补助", "36 元", "30,200 元",
                 "20,000 元–50,000 元  60%", "50,000 元以上        70%", "起付线：1,000 元（每期累计）", "等待期：连续保障第 1–90 天不予补助",
                 "择高给付：重大疾病补助、原位癌补助"):
        assert text in done.stdout, text


@pytest.mark.parametrize("policy", ["hangzhou", "beijing", "dated_example"])
def test_policy_test_cases_of_the_shipped_policies_pass(policy):
    done = claims("policy", "test", POLICIES / f"{policy}.yaml")
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().splitlines()[-1].endswith("passed, 0 failed")


def test_dated_band_limits_and_age_limits_are_exercised_by_hand_computed_cases():
    """The dated example's cases fail if the dates are ignored: the same claim is paid differently per year."""
    text = (POLICIES / "dated_example.yaml").read_text(encoding="utf-8")
    undated = (text.replace("{2024-01-01: 20000, 2026-01-01: 30000}", "20000")
               .replace("{2024-01-01: 59, 2026-01-01: 60}", "59").replace("{2024-01-01: 54, 2026-01-01: 55}", "54"))
    assert undated != text
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dated_example.yaml"
        path.write_text(undated, encoding="utf-8")
        done = claims("policy", "test", path, POLICIES / "tests" / "dated_example.yaml")
    assert done.returncode == 1
    failed = [line for line in done.stdout.splitlines() if line.strip().startswith("失败")]
    assert len(failed) == 4, done.stdout  # 2026 bands twice, the woman of 55 and the man of 60 in 2026


def test_policy_cases_cover_every_benefit_kind_and_every_reason_code():
    from claims.engine.reasons import Reason
    text = "".join((POLICIES / "tests" / f"{p}.yaml").read_text(encoding="utf-8") for p in ("hangzhou", "beijing"))
    assert {r.value for r in Reason if f"reason: {r.value}" not in text} == set()
    for benefit in ("medical_subsidy", "living_allowance", "critical_illness", "inpatient_allowance", "women_invasive"):
        assert f"benefit: {benefit}, amount: 0.00" in text or f"benefit: {benefit}, amount: " in text


def test_a_failing_policy_case_is_reported_with_the_difference(tmp_path):
    case = (POLICIES / "tests" / "beijing.yaml").read_text(encoding="utf-8").replace("amount: 840.00", "amount: 841.00")
    (tmp_path / "beijing_wrong.yaml").write_text(case, encoding="utf-8")
    done = claims("policy", "test", POLICIES / "beijing.yaml", tmp_path / "beijing_wrong.yaml")
    assert done.returncode == 1
    assert "缺少：C1 allowance inpatient_allowance 841.00" in done.stdout
    assert "多出：C1 allowance inpatient_allowance 840.00" in done.stdout


@pytest.mark.parametrize("folder", ACCEPTANCE, ids=lambda p: p.name)
def test_acceptance_scenario_with_two_workers(folder):
    done = claims("calculate", *scenario_args(folder), "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (folder / "expected.csv").read_text(encoding="utf-8")


def test_workers_give_the_same_results_to_the_fen_as_one_process(tmp_path):
    """Synthetic claims with shared invoices across members, lapses and new joiners: the member-partitioned
    workers must agree with one process line by line, in every output format."""
    from benchmarks.generate import generate

    paths = generate(3000, tmp_path / "data", seed=11)
    header, *rows = paths["claims"].read_text(encoding="utf-8").splitlines()
    # two claims of different members carry one invoice: the later one is the duplicate, across partitions
    first, second = rows[10].split(","), rows[20].split(",")
    second[13] = first[13]
    rows[20] = ",".join(second)
    paths["claims"].write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    args = ["--policy", POLICIES / "hangzhou.yaml", "--members", paths["members"],
            "--enrollments", paths["enrollments"], "--claims", paths["claims"]]
    one, two, three = (claims("calculate", *args, "--workers", str(n)) for n in (1, 2, 3))
    assert one.returncode == 0 and one.stdout == two.stdout == three.stdout
    assert "DUPLICATE_INVOICE" in one.stdout
    json_one = claims("calculate", *args, "--format", "json", "--workers", "1").stdout
    assert json_one == claims("calculate", *args, "--format", "json", "--workers", "2").stdout


def test_workers_report_every_problem_once(tmp_path):
    folder = ROOT / "tests" / "acceptance" / "hz_bands_caps_stacking"
    bad = (folder / "claims.csv").read_text(encoding="utf-8").replace("32088.00", "32088.001")
    bad = bad.replace("A4,HZ001", "A1,HZ001")  # a duplicated claim id
    (tmp_path / "claims.csv").write_text(bad, encoding="utf-8")
    args = scenario_args(folder)
    args[args.index(folder / "claims.csv")] = tmp_path / "claims.csv"
    one, two = claims("calculate", *args), claims("calculate", *args, "--workers", "2")
    assert one.returncode == two.returncode == 2
    assert one.stderr == two.stderr and one.stderr.count("INPUT_DUPLICATE_KEY") == 1


_NUMBER_KEYS = ("months_after_period_end|renewal_grace_days|contribution|max_shares|cap_per_share|amount|rate|from|to|"
                "from_day|max_days_per_period|inpatient")


def _all_dated(text: str) -> str:
    """Every number of the language written as a dated value in force since 2000: the results must not change."""
    import re

    text = re.sub(rf"\b({_NUMBER_KEYS}): (\d+(?:\.\d+)?)\b", r"\1: {2000-01-01: \2}", text)
    return re.sub(r"\b(days|male|female): \[(\d+), (\d+)\]", r"\1: [{2000-01-01: \2}, {2000-01-01: \3}]", text)


@pytest.mark.parametrize("policy, folder", [("hangzhou", ROOT / "tests" / "fixtures" / "small"),
                                            ("beijing", ROOT / "tests" / "acceptance" / "bj_shares_waiting_cover_end")])
def test_a_policy_with_every_number_dated_calculates_exactly_like_the_plain_one(policy, folder, tmp_path):
    text = (POLICIES / f"{policy}.yaml").read_text(encoding="utf-8")
    dated = _all_dated(text)
    assert dated.count("2000-01-01") >= 15
    path = tmp_path / f"{policy}.yaml"
    path.write_text(dated, encoding="utf-8")
    files = ["--members", folder / "members.csv", "--enrollments", folder / "enrollments.csv",
             "--claims", folder / "claims.csv", "--format", "json"]
    plain, with_dates = claims("calculate", "--policy", POLICIES / f"{policy}.yaml", *files), \
        claims("calculate", "--policy", path, *files)
    assert plain.returncode == with_dates.returncode == 0, with_dates.stderr
    figures = lambda out: [(line["claim_id"], line["item"], line["benefit"], line["amount"], line["reason"])  # noqa: E731
                           for line in json.loads(out)["lines"]]
    assert figures(with_dates.stdout) == figures(plain.stdout) and len(figures(plain.stdout)) > 5
