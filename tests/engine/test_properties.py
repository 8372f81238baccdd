"""SPEC §9 invariants, checked with hypothesis on random members, enrollments and claims."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.engine import Claim, Enrollment, Ledger, Member, calculate
from claims.engine.benefits import _banded
from tests.conftest import lines_of

CODES = ["I10", "C50.9", "C53.1", "C44.3", "D05.1", "D06.0", "I21.0", "N18.0", "K35.8", "C34.1", "M32.1"]
PROCEDURES = ["", "68.41", "55.69", "47.09"]

money = st.integers(0, 6_000_000).map(lambda fen: Decimal(fen) / 100)


@st.composite
def scenario(draw, items: tuple[str, ...], max_shares: int):
    members = {}
    for index in range(draw(st.integers(1, 3))):
        gender = draw(st.sampled_from(["female", "male"]))
        birth = date(draw(st.integers(1960, 2000)), draw(st.integers(1, 12)), draw(st.integers(1, 28)))
        members[f"M{index}"] = Member(f"M{index}", "某", "0" * 18, gender, birth, "单位")
    enrollments = []
    for member_id in members:
        for item in items:
            for period in (2024, 2025):
                if draw(st.booleans()):
                    start = date(period, draw(st.integers(1, 12)), 1) if draw(st.booleans()) else date(period, 1, 1)
                    enrollments.append(Enrollment(member_id, item, period, draw(st.integers(1, max_shares)), start))
    claims = []
    for index in range(draw(st.integers(1, 8))):
        admission = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 700)))
        discharge = admission + timedelta(days=draw(st.integers(0, 120)))
        parts = [draw(money), draw(money), draw(money)]
        codes = tuple(draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True)))
        procedure = draw(st.sampled_from(PROCEDURES))
        invoice = draw(st.sampled_from(["", "", f"INV{index}", "INV-SHARED"]))
        claims.append(Claim(
            f"C{index:02d}", draw(st.sampled_from(sorted(members))), draw(st.sampled_from(["inpatient", "outpatient_special"])),
            admission, discharge, admission + timedelta(days=draw(st.integers(0, (discharge - admission).days))),
            draw(st.integers(1, 3)), codes, (procedure,) if procedure else (), sum(parts), *parts, invoice,
            discharge + timedelta(days=draw(st.integers(0, 200)))))
    return members, enrollments, claims


def _caps(policy, lines, enrollments):
    shares = {(e.member_id, e.item, e.period): e.shares for e in enrollments}
    totals = defaultdict(Decimal)
    for line in lines:
        if line.item:
            totals[(line.member_id, line.item, line.period)] += line.amount
    return shares, totals


PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROFILE
@given(data=st.data())
def test_no_line_exceeds_what_remains_of_its_caps(hangzhou, data):
    members, enrollments, claims = data.draw(scenario(("medical", "critical", "women"), 1))
    for line in calculate(hangzhou, members, enrollments, claims).lines:
        if line.explanation.item_cap_before is not None:
            assert line.amount <= line.explanation.item_cap_before
            assert line.explanation.item_cap_after == line.explanation.item_cap_before - line.amount
        assert line.amount >= 0 and line.amount == line.amount.quantize(Decimal("0.01"))


@PROFILE
@given(data=st.data())
def test_a_members_period_total_never_exceeds_item_caps_times_shares(beijing, data):
    members, enrollments, claims = data.draw(scenario(("allowance", "women"), 3))
    lines = calculate(beijing, members, enrollments, claims).lines
    shares, totals = _caps(beijing, lines, enrollments)
    for (member_id, item, period), total in totals.items():
        if total == 0:
            continue
        assert (member_id, item, period) in shares, "money is paid only under an enrollment"
        cap = beijing.item(item).cap_per_share.at(date(period, 1, 1)) * shares[(member_id, item, period)]
        assert total <= cap


@PROFILE
@given(data=st.data())
def test_results_do_not_depend_on_input_row_order(hangzhou, data):
    members, enrollments, claims = data.draw(scenario(("medical", "critical", "women"), 1))
    seed = data.draw(st.integers(0, 1000))
    shuffled_claims, shuffled_enrollments = claims[:], enrollments[:]
    random.Random(seed).shuffle(shuffled_claims)
    random.Random(seed + 1).shuffle(shuffled_enrollments)
    member_items = list(members.items())
    random.Random(seed + 2).shuffle(member_items)
    first = calculate(hangzhou, members, enrollments, claims)
    second = calculate(hangzhou, dict(member_items), shuffled_enrollments, shuffled_claims)
    assert lines_of(first) == lines_of(second)
    assert first.ledger.to_json() == second.ledger.to_json()


@PROFILE
@given(data=st.data())
def test_splitting_a_batch_with_the_ledger_changes_nothing(hangzhou, data):
    members, enrollments, claims = data.draw(scenario(("medical", "critical", "women"), 1))
    ordered = sorted(claims, key=lambda c: (c.discharge_date, c.claim_id))
    cut = data.draw(st.integers(0, len(ordered)))
    whole = calculate(hangzhou, members, enrollments, ordered)
    first = calculate(hangzhou, members, enrollments, ordered[:cut])
    second = calculate(hangzhou, members, enrollments, ordered[cut:], Ledger.from_json(first.ledger.to_json()))
    assert sorted(lines_of(first) + lines_of(second)) == sorted(lines_of(whole))


@PROFILE
@given(data=st.data())
def test_every_line_amount_is_exact_and_lines_sum_to_the_ledger(hangzhou, data):
    members, enrollments, claims = data.draw(scenario(("medical", "critical", "women"), 1))
    result = calculate(hangzhou, members, enrollments, claims)
    paid = defaultdict(Decimal)
    for line in result.lines:
        paid[(line.member_id, line.period)] += line.amount
    for (member_id, period), counts in result.ledger.periods.items():
        assert counts.total_paid == paid[(member_id, period)]
        assert sum(counts.item_paid.values(), Decimal(0)) == counts.total_paid


@given(st.lists(money, min_size=2, max_size=6), money)
def test_banded_amount_is_monotone_in_the_base(hangzhou, bases, before):
    subsidy = hangzhou.item("medical").benefits[0]
    day = date(2025, 1, 1)
    rates = [(band.lower.at(day), band.upper and band.upper.at(day), band.rate.at(day)) for band in subsidy.bands]
    deductible = Decimal(1000)
    amounts = [_banded(before + b, deductible, rates) - _banded(before, deductible, rates) for b in sorted(bases)]
    assert amounts == sorted(amounts)
    assert all(a >= 0 for a in amounts)


@given(money, money)
def test_cumulative_banded_amount_is_additive(hangzhou, first, second):
    """Paying a base in two claims gives the same total (before rounding) as one claim: S is telescoping."""
    subsidy = hangzhou.item("medical").benefits[0]
    day = date(2025, 1, 1)
    rates = [(band.lower.at(day), band.upper and band.upper.at(day), band.rate.at(day)) for band in subsidy.bands]
    d = Decimal(1000)
    split = (_banded(first, d, rates) - _banded(Decimal(0), d, rates)) + (_banded(first + second, d, rates) - _banded(first, d, rates))
    assert split == _banded(first + second, d, rates)


@PROFILE
@given(data=st.data())
def test_lines_without_explanations_are_the_same_lines(hangzhou, beijing, data):
    """``explain=False`` (the contract CSV) changes nothing but the explanation: every line's figures, order
    and counted ledger entry, and the ledger after, are those of the explained run — and the explanations
    come back exactly by calculating again with ``explain=True`` on the same inputs."""
    policy, items, shares = data.draw(st.sampled_from([(hangzhou, ("medical", "critical", "women"), 1),
                                                       (beijing, ("allowance", "women"), 3)]))
    members, enrollments, claims = data.draw(scenario(items, shares))
    explained = calculate(policy, members, enrollments, claims)
    lazy = calculate(policy, members, enrollments, claims, explain=False)
    assert all(line.explanation is None for line in lazy.lines)
    assert [line._replace(explanation=None) for line in lazy.lines] == \
        [line._replace(explanation=None) for line in explained.lines]
    assert lazy.ledger.to_json() == explained.ledger.to_json()
    again = calculate(policy, members, enrollments, claims)
    assert [line.explanation for line in again.lines] == [line.explanation for line in explained.lines]
