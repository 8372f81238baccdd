"""The compact explanation written by msgspec (claims/store/explanations.py) is exactly the engine's own text
(``stored_explanation_json``): on the lines of random scenarios under two policies, and on hostile values
(control characters, odd Decimals, nested lists, values msgspec refuses). A float — which the engine never
puts in an explanation (money is Decimal) — is written in another spelling (1e16 for 1e+16) of the same
number: the same data once read."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from claims.engine import Explanation, Step, calculate
from claims.engine.explain import stored_explanation_json
from claims.store.explanations import compact_explanation_json
from tests.engine.test_properties import PROFILE, scenario


@PROFILE
@given(data=st.data())
def test_every_line_of_random_scenarios_is_written_as_the_engine_writes_it(hangzhou, beijing, data):
    chosen, items, shares = data.draw(st.sampled_from([(hangzhou, ("medical", "critical", "women"), 1),
                                                       (beijing, ("allowance", "women"), 3)]))
    members, enrollments, claims = data.draw(scenario(items, shares))
    for line in calculate(chosen, members, enrollments, claims).lines:
        assert compact_explanation_json(line.explanation) == stored_explanation_json(line.explanation)


TEXT = st.text(st.characters(codec="utf-8"), max_size=8) | st.sampled_from(["\u2028", "\x7f", "\\\"", "中文"])
DECIMALS = st.decimals(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [Decimal("1E+2"), Decimal("-0"), Decimal("0E-7"), Decimal("123.4500")])
SCALARS = (TEXT | DECIMALS | st.dates() | st.integers() | st.booleans() | st.none()
           | st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple)
                      | st.dictionaries(TEXT, inner, max_size=3), max_leaves=10)
MONEY = st.none() | st.decimals(places=2, allow_nan=False, allow_infinity=False)
STEPS = st.builds(Step, TEXT, st.dictionaries(TEXT, VALUES, max_size=5), TEXT, st.none() | st.dates())


@settings(max_examples=400, deadline=None)
@given(st.builds(Explanation, st.lists(STEPS, max_size=4).map(tuple), MONEY, MONEY, MONEY, MONEY))
def test_hostile_values_are_written_as_the_engine_writes_them(explanation):
    try:
        expected = stored_explanation_json(explanation)
    except (TypeError, ValueError):  # the engine's encoder refuses it too (a float, say): not stored either way
        return
    written = compact_explanation_json(explanation)
    assert json.loads(written) == json.loads(expected)
    if not _has_float(explanation):
        assert written == expected


def _has_float(value) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_float(v) for v in value)
    return False
