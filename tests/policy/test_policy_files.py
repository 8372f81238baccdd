"""The policy language: shipped policies load with SPEC §2's parameters; bad files fail with located errors."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from claims.policy import parse_policy, read_policy
from claims.policy.schema import BandedExpense, LumpSum, PerDiem
from claims.problems import ProblemsFound
from tests.conftest import POLICIES

BAD = Path(__file__).parent / "bad"
GOOD = Path(__file__).parent / "good"
DAY = date(2025, 1, 1)


def _days(rule) -> tuple[int, int]:
    return rule.days[0].at(DAY), rule.days[1].at(DAY)


def _ages(eligibility) -> dict:
    return {who: (low.at(DAY), high.at(DAY)) for who, (low, high) in eligibility.age.items()}


def test_hangzhou_items_contributions_and_caps_are_the_published_ones(hangzhou):
    table = [(i.code, i.contribution.at(date(2025, 1, 1)), i.max_shares.at(date(2025, 1, 1)), i.cap_per_share.at(date(2025, 1, 1)))
             for i in hangzhou.items]
    assert table == [("medical", 36, 1, 30200), ("critical", 60, 1, 15000), ("women", 20, 1, 20000)]
    assert sum(cap for *_, cap in table) == 65200
    assert hangzhou.scheme_cap is None
    assert hangzhou.renewal_grace_days.at(date(2025, 1, 1)) == 30
    assert hangzhou.claim_deadline.months_after_period_end.at(date(2025, 1, 1)) == 3


def test_hangzhou_medical_subsidy_bands_and_deductible(hangzhou):
    subsidy = hangzhou.item("medical").benefits[0]
    assert isinstance(subsidy, BandedExpense)
    assert subsidy.event_types == ["inpatient", "outpatient_special"]
    assert subsidy.base == ["self_pay_in_scope"]
    assert subsidy.deductible.per == "period" and subsidy.deductible.amount.at(date(2025, 1, 1)) == 1000
    bands = [(b.lower.at(date(2025, 1, 1)), b.upper and b.upper.at(date(2025, 1, 1)), b.rate.at(date(2025, 1, 1)))
             for b in subsidy.bands]
    assert bands == [(0, 20000, Decimal("0.5")), (20000, 50000, Decimal("0.6")), (50000, None, Decimal("0.7"))]
    levels = hangzhou.item("medical").benefit_eligibility(subsidy).min_hospital_level
    assert {event: level.at(date(2025, 1, 1)) for event, level in levels.items()} == {"inpatient": 2}


def test_hangzhou_critical_item(hangzhou):
    living, critical, in_situ = hangzhou.item("critical").benefits
    assert isinstance(living, PerDiem)
    assert (living.rate.at(date(2025, 1, 1)), living.from_day.at(date(2025, 1, 1)),
            living.max_days_per_period.at(date(2025, 1, 1))) == (50, 1, 100)
    assert isinstance(critical, LumpSum) and critical.amount.at(date(2025, 1, 1)) == 10000
    assert critical.exclude == ["C44"]
    assert "C00-C97" in critical.diagnoses and "55.6" in critical.procedures
    assert [(_days(w), w.amount.at(date(2025, 1, 1))) for w in critical.waiting] == [((1, 90), 0)]
    assert in_situ.diagnoses == ["D00-D09"] and in_situ.amount.at(date(2025, 1, 1)) == 2000
    assert hangzhou.item("critical").groups[0].benefits == ["critical_illness", "carcinoma_in_situ"]


def test_hangzhou_women_item(hangzhou):
    women = hangzhou.item("women")
    assert women.eligibility.gender == "female"
    assert [(b.code, b.amount.at(date(2025, 1, 1))) for b in women.benefits] == [
        ("gyn_cancer", 20000), ("gyn_in_situ", 5000), ("hysterectomy", 3000)]
    assert women.benefits[2].procedures == ["68.4", "68.5", "68.6", "68.7", "68.9"]
    assert women.groups[0].benefits == ["gyn_cancer", "gyn_in_situ", "hysterectomy"]


def test_beijing_parameters(beijing):
    allowance, women = beijing.items
    assert (allowance.contribution.at(date(2025, 1, 1)), allowance.max_shares.at(date(2025, 1, 1)),
            allowance.cap_per_share.at(date(2025, 1, 1))) == (60, 3, 7200)
    assert _ages(allowance.eligibility) == {"male": (0, 59), "female": (0, 54)}
    per_diem = allowance.benefits[0]
    assert (per_diem.rate.at(date(2025, 1, 1)), per_diem.from_day.at(date(2025, 1, 1)),
            per_diem.max_days_per_period.at(date(2025, 1, 1))) == (40, 4, 180)
    assert women.ends_cover_on_payout
    assert (women.contribution.at(date(2025, 1, 1)), women.cap_per_share.at(date(2025, 1, 1))) == (10, 15000)
    assert women.eligibility.gender == "female" and _ages(women.eligibility) == {"female": (16, 60)}
    invasive, in_situ = women.benefits
    assert invasive.diagnoses == ["C50", "C51", "C52", "C53", "C54", "C56", "C57.0", "C58", "M32", "D61", "G35", "M05"]
    assert [(_days(w), w.amount.at(date(2025, 1, 1))) for w in invasive.waiting] == [((1, 30), 0), ((31, 60), 500)]
    assert in_situ.amount.at(date(2025, 1, 1)) == 2000


def test_every_value_in_the_shipped_policies_is_marked_published_or_illustrative():
    for name in ("hangzhou.yaml", "beijing.yaml"):
        text = (POLICIES / name).read_text(encoding="utf-8")
        numeric = [line for line in text.splitlines()
                   if re.search(r":\s*-?[0-9]", line.split("#")[0]) and "code:" not in line]
        unmarked = [line for line in numeric if "【公布】" not in line and "【示例】" not in line
                    and not line.strip().startswith("- {")]
        assert unmarked == [], f"{name}: values without 【公布】/【示例】: {unmarked}"


def test_numbers_are_decimal_never_float(hangzhou):
    rate = hangzhou.item("medical").benefits[0].bands[0].rate.at(date(2025, 1, 1))
    assert type(rate) is Decimal and rate == Decimal("0.50")


def _expectations(path: Path) -> list[str]:
    return [line.removeprefix("# expect: ").strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("# expect:")]


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_policy_fails_with_its_located_errors(path):
    with pytest.raises(ProblemsFound) as refused:
        read_policy(path)
    found = [f"{p.line}:{p.code}" for p in refused.value.problems]
    assert found == _expectations(path)
    for problem in refused.value.problems:
        assert problem.file == str(path)
        assert re.search(r"[\u4e00-\u9fff]", problem.message), "messages are in Chinese"
        assert str(problem).startswith(f"{path}:{problem.line}: [{problem.code}]")


def test_a_policy_with_several_mistakes_reports_all_of_them_at_once():
    with pytest.raises(ProblemsFound) as refused:
        read_policy(BAD / "several_mistakes.yaml")
    codes = {p.code for p in refused.value.problems}
    assert codes == {"POLICY_UNKNOWN_KEY", "POLICY_NEGATIVE_AMOUNT", "POLICY_RATE_RANGE", "POLICY_BAND_OVERLAP",
                     "POLICY_UNKNOWN_KIND", "POLICY_BAD_PATTERN", "POLICY_GROUP_UNKNOWN"}


@pytest.mark.parametrize("path", sorted(GOOD.glob("*.yaml")), ids=lambda p: p.stem)
def test_good_policy_loads(path):
    assert read_policy(path).policy.items


def test_dated_values_resolve_at_the_periods_first_day():
    text = (GOOD / "dated_values.yaml").read_text(encoding="utf-8")
    policy = parse_policy(text, "dated.yaml").policy
    amount = policy.items[0].benefits[0].amount
    # the mapping itself: the latest entry on or before a day (the engine asks on each period's first day)
    assert amount.at(date(2024, 1, 1)) == 8000
    assert amount.at(date(2025, 1, 1)) == 10000
    assert amount.at(date(2025, 6, 30)) == 10000
    assert amount.entry_at(date(2026, 1, 1)) == (date(2025, 7, 1), Decimal("12000"))
    assert policy.items[0].contribution.at(date(2025, 1, 1)) == 60


def test_policy_hash_is_of_the_exact_text():
    loaded = read_policy(POLICIES / "hangzhou.yaml")
    import hashlib
    assert loaded.sha256 == hashlib.sha256((POLICIES / "hangzhou.yaml").read_bytes()).hexdigest()
