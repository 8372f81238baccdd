"""`policy diff`: changed parameters in Chinese — a rate, a cap, a disease added or removed, an item added."""

from __future__ import annotations

from claims.policy import parse_policy
from claims.policy.diff import diff
from tests.conftest import POLICIES

HANGZHOU = (POLICIES / "hangzhou.yaml").read_text(encoding="utf-8")


def _changed(*replacements: tuple[str, str]) -> list[str]:
    text = HANGZHOU
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    before, after = parse_policy(HANGZHOU, "a.yaml").policy, parse_policy(text, "b.yaml").policy
    return [line.strip() for line in diff(before, after)[1:]]


def test_comments_and_layout_are_no_change():
    changed = HANGZHOU.replace("# 【公布】每人每期 36 元", "# 每人每期三十六元")
    lines = diff(parse_policy(HANGZHOU, "a").policy, parse_policy(changed, "b").policy)
    assert lines == ["原版本（杭州市在职职工医疗互助保障）→ 新版本（杭州市在职职工医疗互助保障）：参数完全相同（文本的差别只在注释或排版）"]


def test_a_rate_a_deductible_and_a_dated_value():
    assert _changed(("{from: 50000, rate: 0.70}", "{from: 50000, rate: {2025-01-01: 0.70, 2026-01-01: 0.75}}"),
                    ("amount: 1000, per: period", "amount: 800, per: period")) == [
        "修改  “自负医疗费补助” 起付线：1,000 元（每期累计） → 800 元（每期累计）",
        "修改  “自负医疗费补助” 第 3 档补助比例：70% → 2025-01-01 起 70%；2026-01-01 起 75%",
    ]


def test_a_disease_removed_and_a_procedure_added():
    assert _changed(("          - G30                       # 阿尔茨海默病\n", ""),
                    ('procedures: ["68.4", "68.5"', 'procedures: ["68.3", "68.4", "68.5"')) == [
        "删除  “重大疾病补助” 的诊断编码（病种） G30",
        "新增  “因其他疾病全子宫切除补助” 的手术编码 68.3",
    ]


def test_an_added_band_is_one_line_and_an_age_limit_shows_both_ends():
    lines = _changed(("          - {from: 50000, rate: 0.70}",
                      "          - {from: 50000, to: 80000, rate: 0.70}\n          - {from: 80000, rate: 0.80}"),
                     ("      gender: female                  # 【公布】限女职工",
                      "      gender: female\n      age: {female: [16, {2025-01-01: 54, 2026-01-01: 55}]}"))
    assert lines == [
        "修改  “自负医疗费补助” 第 3 档上限：不设上限 → 80,000 元",
        "新增  “自负医疗费补助” 第 4 档",
        "新增  项目“女职工特殊疾病补助” 女性年龄下限：16 周岁",
        "新增  项目“女职工特殊疾病补助” 女性年龄上限：2025-01-01 起 54 周岁；2026-01-01 起 55 周岁",
    ]
