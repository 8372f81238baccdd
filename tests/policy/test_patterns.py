"""ICD code patterns (SPEC §2): prefixes, category ranges, exclusions; properties with hypothesis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from claims.policy.patterns import CodeSet, normalize, pattern_error

letters = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
two_digits = st.integers(0, 99).map(lambda n: f"{n:02d}")
categories = st.builds(lambda letter, digits: letter + digits, letters, two_digits)
suffixes = st.one_of(st.just(""), st.builds(lambda s: "." + s, st.text("0123456789X", min_size=1, max_size=4)))
icd10 = st.builds(lambda c, s: c + s, categories, suffixes)


def test_prefix_matches_itself_and_longer_codes():
    codes = CodeSet.of(["C50", "N18.0", "68.4"])
    assert codes.matches("C50") and codes.matches("C50.9") and codes.matches("C50.911")
    assert codes.matches("N18.0") and codes.matches("N18.01") and not codes.matches("N18.1")
    assert codes.matches("68.4") and codes.matches("68.41") and codes.matches("68.49") and not codes.matches("68.5")


def test_range_is_inclusive_on_the_three_character_category():
    codes = CodeSet.of(["C00-C97"])
    assert codes.matches("C00.0") and codes.matches("C97") and codes.matches("C50.9")
    assert not codes.matches("D00.1") and not codes.matches("B99")


def test_exclusion_applies_per_code():
    include, exclude = CodeSet.of(["C00-C97"]), CodeSet.of(["C44"])
    assert include.first_match(("C44.3",), exclude) is None
    assert include.first_match(("C44.3", "C50.9"), exclude) == "C50.9"


def test_codes_compare_upper_cased_without_surrounding_space():
    assert normalize("  c50.9 ") == "C50.9"
    assert CodeSet.of([" c50 "]).matches(normalize("c50.9"))


def test_malformed_patterns_are_named():
    for bad in ("cancer", "C5", "C50-", "C97-C00", "C50-D", "1", "C50.9.1", "5-C50"):
        assert pattern_error(bad) is not None, bad
    for good in ("C50", "c50.9", "C00-C97", "D07.0", "68.4", "00.66", "01-05"):
        assert pattern_error(good) is None, good


@given(icd10)
def test_a_code_matches_its_own_category_and_itself(code):
    assert CodeSet.of([code[:3]]).matches(code)
    assert CodeSet.of([code]).matches(code)


@given(icd10, categories, categories)
def test_range_match_is_category_comparison(code, a, b):
    low, high = min(a, b), max(a, b)
    assert CodeSet.of([f"{low}-{high}"]).matches(code) == (low <= code[:3] <= high)


@given(icd10, st.lists(categories, min_size=1, max_size=4))
def test_excluded_code_never_triggers(code, patterns):
    include, exclude = CodeSet.of(patterns), CodeSet.of([code[:3]])
    assert include.first_match((code,), exclude) is None


@given(st.lists(icd10, min_size=1, max_size=5), st.lists(categories, min_size=1, max_size=3))
def test_match_does_not_depend_on_code_order(codes, patterns):
    include, none = CodeSet.of(patterns), CodeSet.of([])
    forwards = include.first_match(tuple(codes), none) is not None
    backwards = include.first_match(tuple(reversed(codes)), none) is not None
    assert forwards == backwards == any(include.matches(c) for c in codes)
