"""One test per rule of SPEC §4, each with a hand-computed expectation (arithmetic in the comments)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from claims.engine import Ledger, ValueNotInForce, calculate
from tests.conftest import claim, enrollment, lines_of, member, policy_from

D = date


def run(policy, members, enrollments, claims, ledger=None):
    return calculate(policy, {m.member_id: m for m in members}, enrollments, claims, ledger)


# --- event dates and order -------------------------------------------------------------------------------

def test_expense_benefits_use_the_discharge_date_and_lump_sums_the_diagnosis_date(hangzhou):
    m = member()
    enrollments = [enrollment(item="medical", period=2025), enrollment(item="critical", period=2024),
                   enrollment(item="critical", period=2025)]
    # admitted 2024-12-28, discharged 2025-01-03: subsidy and allowance in 2025; diagnosis 2024-12-28 → 2024.
    # cover since 2024-01-01, so no waiting. base 3,000: (3,000 − 1,000) × 50% = 1,000. 6 nights × 50 = 300.
    c = claim(admission=D(2024, 12, 28), discharge=D(2025, 1, 3), diagnoses=("C34.1",), in_scope="3000")
    lines = run(hangzhou, [m], enrollments, [c]).lines
    assert [(line.benefit, line.period, str(line.amount)) for line in lines] == [
        ("medical_subsidy", 2025, "1000.00"), ("living_allowance", 2025, "300.00"),
        ("critical_illness", 2024, "10000.00")]


def test_claims_are_evaluated_by_discharge_date_then_claim_id(hangzhou):
    m, e = member(), enrollment()
    # Z1 leaves hospital first, so it meets the deductible: 1,500 − 1,000 = 500 × 50% = 250.
    # A9 comes second: cumulative 1,500 → 3,000, all above the deductible: 1,500 × 50% = 750.
    late = claim("A9", discharge=D(2025, 5, 1), admission=D(2025, 4, 28), in_scope="1500")
    early = claim("Z1", discharge=D(2025, 3, 1), admission=D(2025, 2, 27), in_scope="1500")
    rows = lines_of(run(hangzhou, [m], [e], [late, early]))
    assert [r for r in rows if r[1] == "medical"] == [
        ("A9", "medical", "medical_subsidy", "750.00", ""), ("Z1", "medical", "medical_subsidy", "250.00", "")]


# --- claim-level checks ----------------------------------------------------------------------------------

def test_late_submission_refuses_the_whole_claim_with_one_line(hangzhou):
    # 2025's deadline is 2026-03-31 (3 months after the period's end).
    c = claim(discharge=D(2025, 11, 5), admission=D(2025, 11, 1), in_scope="5000", submitted=D(2026, 4, 1))
    assert lines_of(run(hangzhou, [member()], [enrollment()], [c])) == [("C1", "", "", "0.00", "LATE_SUBMISSION")]
    on_time = claim(discharge=D(2025, 11, 5), admission=D(2025, 11, 1), in_scope="5000", submitted=D(2026, 3, 31))
    assert lines_of(run(hangzhou, [member()], [enrollment()], [on_time]))[0][4] == ""


def test_duplicate_invoice_of_any_earlier_claim_whatever_its_outcome(hangzhou):
    other = member("M2")
    first = claim("C1", "M2", admission=D(2025, 3, 1), invoice="INV-9", in_scope="100")  # M2 not enrolled
    second = claim("C2", "M1", admission=D(2025, 4, 1), invoice="INV-9", in_scope="5000")
    rows = lines_of(run(hangzhou, [member(), other], [enrollment()], [first, second]))
    assert ("C2", "", "", "0.00", "DUPLICATE_INVOICE") in rows
    assert ("C1", "medical", "medical_subsidy", "0.00", "NOT_ENROLLED") in rows


def test_duplicate_invoice_across_batches_through_the_ledger(hangzhou):
    first = run(hangzhou, [member()], [enrollment()], [claim("C1", invoice="INV-1", in_scope="2000")])
    again = run(hangzhou, [member()], [enrollment()], [claim("C2", invoice="INV-1", in_scope="2000")], first.ledger)
    assert lines_of(again) == [("C2", "", "", "0.00", "DUPLICATE_INVOICE")]


# --- which benefits apply --------------------------------------------------------------------------------

def test_a_benefit_that_does_not_apply_gives_no_line(hangzhou):
    # outpatient: no living allowance; I10 matches no lump sum
    c = claim(event_type="outpatient_special", in_scope="3000")
    assert [r[2] for r in lines_of(run(hangzhou, [member()], [enrollment()], [c]))] == ["medical_subsidy"]


def test_exclusion_c44_alone_does_not_trigger_but_with_c50_does(hangzhou):
    es = [enrollment(item="critical", period=2024), enrollment(item="critical")]
    skin = claim("C1", event_type="outpatient_special", diagnoses=("C44.3",))
    both = claim("C2", event_type="outpatient_special", diagnoses=("C44.3", "C50.9"), admission=D(2025, 6, 1))
    rows = lines_of(run(hangzhou, [member()], es, [skin, both]))
    assert [r for r in rows if r[2] == "critical_illness"] == [("C2", "critical", "critical_illness", "10000.00", "")]


def test_procedure_codes_trigger_lump_sums(hangzhou):
    es = [enrollment(item="women", period=2024), enrollment(item="women")]
    c = claim(diagnoses=("N80.0",), procedures=("68.49",))
    assert [r for r in lines_of(run(hangzhou, [member()], es, [c])) if r[1] == "women"] == [
        ("C1", "women", "hysterectomy", "3000.00", "")]


# --- the checks, in order ---------------------------------------------------------------------------------

def test_not_enrolled_before_the_start_date(hangzhou):
    e = enrollment(start=D(2025, 3, 15))
    before = claim("C1", admission=D(2025, 3, 10), discharge=D(2025, 3, 14), in_scope="5000")
    on_start = claim("C2", admission=D(2025, 3, 12), discharge=D(2025, 3, 15), in_scope="5000")
    rows = [r for r in lines_of(run(hangzhou, [member()], [e], [before, on_start])) if r[1] == "medical"]
    # 5,000 − 1,000 = 4,000 × 50% = 2,000
    assert rows == [("C1", "medical", "medical_subsidy", "0.00", "NOT_ENROLLED"),
                    ("C2", "medical", "medical_subsidy", "2000.00", "")]


def test_not_enrolled_comes_before_gender(hangzhou):
    man = member(gender="male")
    rows = lines_of(run(hangzhou, [man], [], [claim(diagnoses=("C50.9",))]))
    assert ("C1", "women", "gyn_cancer", "0.00", "NOT_ENROLLED") in rows


def test_gender_rule(hangzhou):
    man = member(gender="male")
    es = [enrollment(item="women", period=2024), enrollment(item="women")]
    rows = lines_of(run(hangzhou, [man], es, [claim(diagnoses=("C50.9",))]))
    assert ("C1", "women", "gyn_cancer", "0.00", "INELIGIBLE_GENDER") in rows


def test_age_is_completed_years_on_the_event_date(beijing):
    man = member(gender="male", birth=D(1965, 3, 1))
    e = enrollment(item="allowance")
    # discharged the day before his 60th birthday: 59, eligible; 10 nights, from day 4: 7 × 40 = 280
    day_before = claim("C1", admission=D(2025, 2, 18), discharge=D(2025, 2, 28))
    birthday = claim("C2", admission=D(2025, 2, 19), discharge=D(2025, 3, 1))
    assert lines_of(run(beijing, [man], [e], [day_before, birthday])) == [
        ("C1", "allowance", "inpatient_allowance", "280.00", ""),
        ("C2", "allowance", "inpatient_allowance", "0.00", "INELIGIBLE_AGE")]


def test_age_of_someone_born_on_29_february(beijing):
    man = member(gender="male", birth=D(1964, 2, 29))
    e = enrollment(item="allowance", period=2024)
    # 2024-02-28: still 59; 2024-02-29: 60
    rows = lines_of(run(beijing, [man], [e], [
        claim("C1", admission=D(2024, 2, 18), discharge=D(2024, 2, 28)),
        claim("C2", admission=D(2024, 2, 19), discharge=D(2024, 2, 29))]))
    assert [r[4] for r in rows] == ["", "INELIGIBLE_AGE"]


def test_hospital_level_rule_is_per_event_type(hangzhou):
    inpatient = claim("C1", level=1, in_scope="3000", admission=D(2025, 3, 1), discharge=D(2025, 3, 2))
    outpatient = claim("C2", level=1, in_scope="3000", event_type="outpatient_special", admission=D(2025, 4, 1))
    rows = [r for r in lines_of(run(hangzhou, [member()], [enrollment()], [inpatient, outpatient]))
            if r[1] == "medical"]
    # the inpatient claim fails and does not count toward the cumulative base: 3,000 − 1,000 = 2,000 × 50%
    assert rows == [("C1", "medical", "medical_subsidy", "0.00", "HOSPITAL_LEVEL"),
                    ("C2", "medical", "medical_subsidy", "1000.00", "")]


def test_cover_ends_after_a_paid_lump_sum_for_every_benefit_of_the_item(beijing):
    woman = member(birth=D(1985, 6, 6))
    es = [enrollment(item="women", period=2024), enrollment(item="women")]
    first = claim("C1", diagnoses=("D05.1",), admission=D(2025, 3, 1))
    second = claim("C2", diagnoses=("C50.1",), admission=D(2025, 6, 1))
    assert lines_of(run(beijing, [woman], es, [first, second]), "women") == [
        ("C1", "women", "women_in_situ", "2000.00", ""),
        ("C2", "women", "women_invasive", "0.00", "COVER_ENDED")]


def test_already_paid_once_per_period_pays_again_next_period(hangzhou):
    es = [enrollment(item="critical", period=p) for p in (2024, 2025, 2026)]
    cs = [claim("C1", diagnoses=("I21.0",), admission=D(2025, 2, 1)),
          claim("C2", diagnoses=("I21.0",), admission=D(2025, 9, 1)),
          claim("C3", diagnoses=("I21.0",), admission=D(2026, 2, 1))]
    rows = [r for r in lines_of(run(hangzhou, [member()], es, cs)) if r[2] == "critical_illness"]
    assert [r[3:] for r in rows] == [("10000.00", ""), ("0.00", "ALREADY_PAID"), ("10000.00", "")]


LIFETIME = """
scheme: {code: life, name: 终身一次, issuer: 测试中心, source: 测试细则}
claim_deadline: {months_after_period_end: 3}
items:
  - code: transplant
    name: 器官移植
    reference: 第一条
    contribution: 10
    cap_per_share: 50000
    benefits:
      - {code: organ, name: 器官移植补助, kind: lump_sum, reference: 第二条, amount: 30000,
         once_per: lifetime, procedures: ["55.6"]}
"""


def test_already_paid_once_per_lifetime_is_not_paid_in_a_later_period():
    policy = policy_from(LIFETIME)
    es = [enrollment(item="transplant", period=p) for p in (2025, 2026)]
    cs = [claim("C1", procedures=("55.69",), admission=D(2025, 5, 1)),
          claim("C2", procedures=("55.69",), admission=D(2026, 5, 1))]
    assert [r[3:] for r in lines_of(run(policy, [member()], es, cs))] == [("30000.00", ""), ("0.00", "ALREADY_PAID")]


def test_waiting_period_counts_from_the_start_of_continuous_coverage(hangzhou):
    # cover from 2025-01-01, days 1–90 unpaid: 2025-03-31 is day 90, 2025-04-01 day 91.
    woman = member()
    es = [enrollment(item="women")]
    rows = lines_of(run(hangzhou, [woman], es, [claim("C1", diagnoses=("C53.9",), admission=D(2025, 3, 31))]), "women")
    assert rows == [("C1", "women", "gyn_cancer", "0.00", "WAITING_PERIOD")]
    rows = lines_of(run(hangzhou, [woman], es, [claim("C1", diagnoses=("C53.9",), admission=D(2025, 4, 1))]), "women")
    assert rows == [("C1", "women", "gyn_cancer", "20000.00", "")]


def test_renewal_within_grace_keeps_coverage_continuous_and_beyond_it_restarts(hangzhou):
    woman = member()
    # 2024 ends 12-31; a 2025 start on 01-31 leaves 30 days uncovered (grace 30): continuous.
    continuous = [enrollment(item="women", period=2024), enrollment(item="women", start=D(2025, 1, 31))]
    broken = [enrollment(item="women", period=2024), enrollment(item="women", start=D(2025, 2, 1))]
    c = claim(diagnoses=("C53.9",), admission=D(2025, 3, 1))
    assert lines_of(run(hangzhou, [woman], continuous, [c]), "women")[0][3:] == ("20000.00", "")
    assert lines_of(run(hangzhou, [woman], broken, [c]), "women")[0][3:] == ("0.00", "WAITING_PERIOD")


def test_graded_waiting_pays_a_reduced_amount_times_shares(beijing):
    woman = member(birth=D(1985, 6, 6))
    es = [enrollment(item="women", shares=3)]
    # day 31 → reduced 500 × 3 = 1,500; day 30 → nothing; day 61 → 15,000 × 3 = 45,000
    for day, expected in ((D(2025, 1, 30), ("0.00", "WAITING_PERIOD")),
                          (D(2025, 1, 31), ("1500.00", "WAITING_REDUCED")),
                          (D(2025, 3, 2), ("45000.00", ""))):
        rows = lines_of(run(beijing, [woman], es, [claim(diagnoses=("C50.1",), admission=day)]))
        assert rows[-1][3:] == expected, day


def test_choose_highest_keeps_the_highest_and_marks_the_others_not_chosen(hangzhou):
    es = [enrollment(item="women", period=2024), enrollment(item="women")]
    c = claim(diagnoses=("D06.1", "C53.9"), procedures=("68.4",))
    assert lines_of(run(hangzhou, [member()], es, [c]), "women") == [
        ("C1", "women", "gyn_cancer", "20000.00", ""), ("C1", "women", "gyn_in_situ", "0.00", "NOT_CHOSEN"),
        ("C1", "women", "hysterectomy", "0.00", "NOT_CHOSEN")]


def test_choose_highest_compares_only_benefits_that_passed_the_checks(hangzhou):
    # critical_illness was paid this period; in C2 it is ALREADY_PAID, so carcinoma_in_situ stands alone and
    # is paid: 2,000 of the 15,000 − 10,000 = 5,000 left.
    es = [enrollment(item="critical", period=2024), enrollment(item="critical")]
    cs = [claim("C1", diagnoses=("C53.9",), admission=D(2025, 2, 1), event_type="outpatient_special"),
          claim("C2", diagnoses=("C53.9", "D06.1"), admission=D(2025, 8, 1), event_type="outpatient_special")]
    rows = [r for r in lines_of(run(hangzhou, [member()], es, cs), "critical") if r[0] == "C2"]
    assert rows == [("C2", "critical", "critical_illness", "0.00", "ALREADY_PAID"),
                    ("C2", "critical", "carcinoma_in_situ", "2000.00", "")]


def test_choose_highest_tie_goes_to_the_first_in_the_policy(beijing):
    woman = member(birth=D(1985, 6, 6))
    # day 45: both reduced to 500, a tie: women_invasive stands first in the policy
    c = claim(diagnoses=("D05.1", "C50.1"), admission=D(2025, 2, 14))
    assert lines_of(run(beijing, [woman], [enrollment(item="women")], [c]), "women") == [
        ("C1", "women", "women_invasive", "500.00", "WAITING_REDUCED"),
        ("C1", "women", "women_in_situ", "0.00", "NOT_CHOSEN")]


# --- amounts ----------------------------------------------------------------------------------------------

def test_below_deductible_and_its_base_still_counts(hangzhou):
    cs = [claim("C1", in_scope="600", admission=D(2025, 2, 1)), claim("C2", in_scope="600", admission=D(2025, 3, 1))]
    rows = [r for r in lines_of(run(hangzhou, [member()], [enrollment()], cs)) if r[1] == "medical"]
    # C2: cumulative 600 → 1,200; 200 above the deductible × 50% = 100
    assert [r[3:] for r in rows] == [("0.00", "BELOW_DEDUCTIBLE"), ("100.00", "")]


def test_exactly_at_the_deductible_is_below_it(hangzhou):
    rows = lines_of(run(hangzhou, [member()], [enrollment()], [claim(in_scope="1000")]))
    assert rows[0][3:] == ("0.00", "BELOW_DEDUCTIBLE")


def test_zero_base_above_the_deductible_is_zero_amount(hangzhou):
    cs = [claim("C1", in_scope="2000", admission=D(2025, 2, 1)), claim("C2", insurance="500", admission=D(2025, 3, 1))]
    rows = [r for r in lines_of(run(hangzhou, [member()], [enrollment()], cs)) if r[1] == "medical"]
    assert [r[3:] for r in rows] == [("500.00", ""), ("0.00", "ZERO_AMOUNT")]


def test_cumulative_bands_cross_a_band_boundary(hangzhou):
    # cumulative 20,000 then +2,000 → 21,000 → 22,000 above... by hand: S(21,000)=10,000 + 1,000×60% = 10,600;
    # S(19,000) = 9,500. Second claim: 10,600 + 600 (next 1,000 at 60%) − 10,600 ... see rows below
    cs = [claim("C1", in_scope="20000", admission=D(2025, 2, 1)), claim("C2", in_scope="2000", admission=D(2025, 3, 1))]
    rows = [r for r in lines_of(run(hangzhou, [member()], [enrollment()], cs)) if r[1] == "medical"]
    # C1: 19,000 above the deductible × 50% = 9,500.
    # C2: cumulative 20,000 → 22,000, i.e. 19,000 → 21,000 above: 1,000 × 50% + 1,000 × 60% = 1,100
    assert [r[3] for r in rows] == ["9500.00", "1100.00"]


ROUNDING = """
scheme: {code: round, name: 舍入, issuer: 测试中心, source: 测试细则}
claim_deadline: {months_after_period_end: 3}
items:
  - code: medical
    name: 医疗
    reference: 第一条
    contribution: 10
    max_shares: 3
    cap_per_share: 100000
    benefits:
      - code: subsidy
        name: 补助
        kind: banded_expense
        reference: 第二条
        event_types: [inpatient, outpatient_special]
        base: [self_pay_in_scope]
        deductible: {amount: 100, per: claim}
        bands: [{from: 0, rate: 0.335}]
"""


def test_rounding_half_up_once_per_line_then_times_shares():
    policy = policy_from(ROUNDING)
    # per-claim deductible: each claim alone. 101.00 − 100 = 1.00 × 0.335 = 0.335 → 0.34 (half up) × 2 shares = 0.68
    # 103.00: 3 × 0.335 = 1.005 → 1.01 × 2 = 2.02. A float would give 1.00 here.
    cs = [claim("C1", in_scope="101.00", admission=D(2025, 2, 1)), claim("C2", in_scope="103.00", admission=D(2025, 3, 1))]
    rows = lines_of(run(policy, [member()], [enrollment(shares=2)], cs))
    assert [r[3] for r in rows] == ["0.68", "2.02"]


def test_per_claim_deductible_applies_to_each_claim(hangzhou):
    policy = policy_from(ROUNDING)
    cs = [claim("C1", in_scope="100.00", admission=D(2025, 2, 1)), claim("C2", in_scope="100.00", admission=D(2025, 3, 1))]
    assert [r[3:] for r in lines_of(run(policy, [member()], [enrollment()], cs))] == [
        ("0.00", "BELOW_DEDUCTIBLE"), ("0.00", "BELOW_DEDUCTIBLE")]


def test_per_diem_short_stay_and_same_day_stay(beijing):
    man = member(gender="male")
    e = enrollment(item="allowance")
    cs = [claim("C1", admission=D(2025, 2, 1), discharge=D(2025, 2, 1)),  # 1 day
          claim("C2", admission=D(2025, 3, 1), discharge=D(2025, 3, 5))]  # 4 nights: day 4 paid, 1 × 40
    assert [r[3:] for r in lines_of(run(beijing, [man], [e], cs))] == [("0.00", "SHORT_STAY"), ("40.00", "")]


def test_per_diem_last_remaining_days_are_paid_without_reason_then_exhausted(hangzhou):
    es = [enrollment(item="critical")]
    cs = [claim("C1", admission=D(2025, 1, 1), discharge=D(2025, 4, 1)),  # 90 nights → 4,500
          claim("C2", admission=D(2025, 5, 1), discharge=D(2025, 5, 21)),  # 20 nights, 10 remain → 500
          claim("C3", admission=D(2025, 6, 1), discharge=D(2025, 6, 3))]  # none remain
    assert [r[3:] for r in lines_of(run(hangzhou, [member()], es, cs), "critical")] == [
        ("4500.00", ""), ("500.00", ""), ("0.00", "DAYS_EXHAUSTED")]


# --- caps -------------------------------------------------------------------------------------------------

def test_item_cap_cuts_a_line_then_reaches_zero(hangzhou):
    # 70,000 in scope: 69,000 above = 10,000 + 18,000 + 13,300 = 41,300 → capped at 30,200
    cs = [claim("C1", in_scope="70000", admission=D(2025, 2, 1)),
          claim("C2", in_scope="1000", event_type="outpatient_special", admission=D(2025, 3, 1))]
    rows = [r for r in lines_of(run(hangzhou, [member()], [enrollment()], cs)) if r[1] == "medical"]
    assert [r[3:] for r in rows] == [("30200.00", "CAPPED"), ("0.00", "CAP_REACHED")]


def test_item_cap_is_times_shares(beijing):
    woman = member(birth=D(1985, 6, 6))
    # 2 shares: cap 15,000 × 2 = 30,000; the lump sum 15,000 × 2 = 30,000 fits exactly
    es = [enrollment(item="women", period=2024, shares=2), enrollment(item="women", shares=2)]
    rows = lines_of(run(beijing, [woman], es, [claim(diagnoses=("C50.1",))]), "women")
    assert rows == [("C1", "women", "women_invasive", "30000.00", "")]


SCHEME_CAP = """
scheme: {code: capped, name: 总限额, issuer: 测试中心, source: 测试细则}
claim_deadline: {months_after_period_end: 3}
scheme_cap: 12000
items:
  - code: a
    name: 甲
    reference: 第一条
    contribution: 10
    cap_per_share: 10000
    benefits:
      - {code: a1, name: 甲补助, kind: lump_sum, reference: 第二条, amount: 8000, diagnoses: [C50]}
  - code: b
    name: 乙
    reference: 第三条
    contribution: 10
    cap_per_share: 10000
    benefits:
      - {code: b1, name: 乙补助, kind: lump_sum, reference: 第四条, amount: 8000, diagnoses: [C50],
         waiting: [{days: [1, 400], amount: 6000}]}
"""


def test_scheme_cap_cuts_across_items_and_replaces_the_waiting_reason():
    policy = policy_from(SCHEME_CAP)
    es = [enrollment(item="a"), enrollment(item="b")]
    # a1 8,000; b1 reduced 6,000 but only 12,000 − 8,000 = 4,000 of the scheme cap remains → CAPPED
    rows = lines_of(run(policy, [member()], es, [claim(diagnoses=("C50.9",))]))
    assert rows == [("C1", "a", "a1", "8000.00", ""), ("C1", "b", "b1", "4000.00", "CAPPED")]


def test_explanation_carries_caps_before_and_after_and_references(hangzhou):
    line = run(hangzhou, [member()], [enrollment()], [claim(in_scope="3000")]).lines[0]
    assert line.explanation.item_cap_before == Decimal("30200.00")
    assert line.explanation.item_cap_after == Decimal("29200.00")
    assert all(step.reference for step in line.explanation.steps)


# --- ledger, dated values -------------------------------------------------------------------------------

def test_a_later_batch_continues_where_the_ledger_ended(hangzhou):
    m, es = member(), [enrollment(), enrollment(item="critical")]
    first = [claim("C1", in_scope="30000", admission=D(2025, 2, 1), discharge=D(2025, 2, 21))]
    second = [claim("C2", in_scope="30000", admission=D(2025, 5, 1), discharge=D(2025, 5, 21))]
    together = run(hangzhou, [m], es, first + second)
    one = run(hangzhou, [m], es, first)
    two = run(hangzhou, [m], es, second, Ledger.from_json(one.ledger.to_json()))
    assert lines_of(one) + lines_of(two) == lines_of(together)
    assert together.ledger.to_json() == two.ledger.to_json()


def test_the_input_ledger_is_not_changed(hangzhou):
    ledger = Ledger()
    run(hangzhou, [member()], [enrollment()], [claim(in_scope="3000", invoice="X")], ledger)
    assert ledger.to_json() == Ledger().to_json()


DATED = """
scheme: {code: dated, name: 按日期, issuer: 测试中心, source: 测试细则}
claim_deadline: {months_after_period_end: 3}
items:
  - code: critical
    name: 大病
    reference: 第一条
    contribution: 10
    cap_per_share: {2024-01-01: 20000}
    benefits:
      - {code: ci, name: 大病补助, kind: lump_sum, reference: 第二条, diagnoses: [C50],
         amount: {2024-01-01: 8000, 2025-01-01: 10000, 2025-07-01: 12000}}
"""


def test_dated_value_in_force_on_the_periods_first_day_is_used_all_period():
    policy = policy_from(DATED)
    es = [enrollment(item="critical", period=p) for p in (2024, 2025, 2026)]
    cs = [claim("C1", diagnoses=("C50.1",), admission=D(2024, 6, 1)),
          claim("C2", diagnoses=("C50.1",), admission=D(2025, 9, 1)),  # after 07-01, still 10,000 in 2025
          claim("C3", diagnoses=("C50.1",), admission=D(2026, 2, 1))]
    assert [r[3] for r in lines_of(run(policy, [member()], es, cs))] == ["8000.00", "10000.00", "12000.00"]
    step = run(policy, [member()], es, cs).lines[1].explanation.steps[-1]
    assert step.effective == D(2025, 1, 1)


def test_a_dated_value_not_yet_in_force_is_refused():
    policy = policy_from(DATED)
    with pytest.raises(ValueNotInForce):
        run(policy, [member()], [enrollment(item="critical", period=2023)],
            [claim(diagnoses=("C50.1",), admission=D(2023, 6, 1))])


def test_a_value_not_in_force_found_by_a_worker_process_reaches_the_parent_whole():
    """``claims calculate --workers`` sends the refusal back pickled: the user reads the same message."""
    import pickle

    policy = policy_from(DATED)
    with pytest.raises(ValueNotInForce) as refused:
        run(policy, [member()], [enrollment(item="critical", period=2023)],
            [claim(diagnoses=("C50.1",), admission=D(2023, 6, 1))])
    again = pickle.loads(pickle.dumps(refused.value))
    assert str(again) == str(refused.value) and "2023-01-01" in str(again) and again.what == refused.value.what


EVERY_NUMBER_DATED = """
scheme: {code: dated, name: 按日期, issuer: 测试中心, source: 测试细则}
claim_deadline: {months_after_period_end: {2024-01-01: 3, 2025-01-01: 1}}
renewal_grace_days: {2024-01-01: 0, 2025-01-01: 40}
items:
  - code: critical
    name: 大病
    reference: 第一条
    contribution: 10
    max_shares: {2024-01-01: 1, 2025-01-01: 2}
    cap_per_share: 100000
    eligibility:
      min_hospital_level: {inpatient: {2024-01-01: 3, 2025-01-01: 2}}
    benefits:
      - {code: ci, name: 大病补助, kind: lump_sum, reference: 第二条, diagnoses: [C50], amount: 10000,
         waiting: [{days: [1, {2024-01-01: 90, 2025-01-01: 30}], amount: 0}]}
"""


def test_dated_deadline_months_grace_days_hospital_level_and_waiting_range():
    policy = policy_from(EVERY_NUMBER_DATED)
    m = member()
    # cover 2024 from 2024-03-01, then 2025 from 2025-02-05: a gap of 35 days (2025-01-01 … 02-04);
    # the 2025 grace of 40 days chains it, so day 1 stays 2024-03-01.
    es = [enrollment(item="critical", period=2024, start=D(2024, 3, 1)),
          enrollment(item="critical", period=2025, start=D(2025, 2, 5))]
    cs = [
        # 2024, level 2: the 2024 rule wants level 3 → HOSPITAL_LEVEL
        claim("A", diagnoses=("C50.1",), admission=D(2024, 7, 1), level=2),
        # 2024, level 3, day 2024-05-01 − 03-01 + 1 = 62 ≤ 90 (the 2024 waiting range) → WAITING_PERIOD
        claim("B", diagnoses=("C50.1",), admission=D(2024, 5, 1)),
        # 2024, submitted 2025-03-31: the 2024 deadline is 3 months → 2025-03-31, in time; day 2024-06-15 is 107
        claim("C", diagnoses=("C50.1",), admission=D(2024, 6, 15), submitted=D(2025, 3, 31)),
        # 2025, level 2 suffices; submitted 2026-02-01 after the 2025 deadline of 1 month (2026-01-31) → late
        claim("D", diagnoses=("C50.2",), admission=D(2025, 3, 1), level=2, submitted=D(2026, 2, 1)),
    ]
    assert [(r[0], r[3], r[4]) for r in lines_of(run(policy, [m], es, cs))] == [
        ("A", "0.00", "HOSPITAL_LEVEL"), ("B", "0.00", "WAITING_PERIOD"), ("C", "10000.00", ""),
        ("D", "0.00", "LATE_SUBMISSION")]


def test_dated_grace_days_break_a_chain_the_later_period_does_not_forgive():
    policy = policy_from(EVERY_NUMBER_DATED.replace("2025-01-01: 40", "2025-01-01: 10"))
    es = [enrollment(item="critical", period=2024, start=D(2024, 3, 1)),
          enrollment(item="critical", period=2025, start=D(2025, 2, 5))]
    # gap 35 days > 10: cover restarts 2025-02-05; 2025-02-20 is day 16 ≤ 30 (the 2025 waiting range)
    c = claim("E", diagnoses=("C50.1",), admission=D(2025, 2, 20), level=2)
    assert [(r[3], r[4]) for r in lines_of(run(policy, [member()], es, [c]))] == [("0.00", "WAITING_PERIOD")]


def test_dated_max_shares_is_checked_at_the_enrollments_period():
    from claims.intake.checks import enrollment_problems

    policy = policy_from(EVERY_NUMBER_DATED)
    assert [p[1] for p in enrollment_problems(policy, enrollment(item="critical", period=2024, shares=2))] == [
        "INPUT_TOO_MANY_SHARES"]
    assert enrollment_problems(policy, enrollment(item="critical", period=2025, shares=2)) == []
