"""Uppercase RMB (人民币大写): the People's Bank examples, hand-written cases, and properties."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exports.rmb import uppercase_rmb

CASES = {
    # examples of the rules for filling in settlement documents
    "1409.50": "壹仟肆佰零玖元伍角整",
    "6007.14": "陆仟零柒元壹角肆分",
    "1680.32": "壹仟陆佰捌拾元叁角贰分",
    "107000.53": "壹拾万零柒仟元伍角叁分",
    "16409.02": "壹万陆仟肆佰零玖元零贰分",
    "325.04": "叁佰贰拾伍元零肆分",
    # the SPEC's example
    "14926.00": "壹万肆仟玖佰贰拾陆元整",
    # zeros across sections and at the ends, written by hand
    "0.00": "零元整",
    "0.05": "伍分",
    "0.50": "伍角整",
    "1.00": "壹元整",
    "10.00": "壹拾元整",
    "15.00": "壹拾伍元整",
    "110.00": "壹佰壹拾元整",
    "1001.00": "壹仟零壹元整",
    "10001.00": "壹万零壹元整",
    "10100.00": "壹万零壹佰元整",
    "11000.00": "壹万壹仟元整",
    "100000.00": "壹拾万元整",
    "1001000.00": "壹佰万零壹仟元整",
    "30200.00": "叁万零贰佰元整",
    "65200.00": "陆万伍仟贰佰元整",
    "100000000.00": "壹亿元整",
    "100010000.00": "壹亿零壹万元整",
    "100000001.00": "壹亿零壹元整",
    "120000340.07": "壹亿贰仟万零叁佰肆拾元零柒分",
    "20.30": "贰拾元叁角整",
}


@pytest.mark.parametrize("amount,expected", CASES.items())
def test_known_amounts(amount, expected):
    assert uppercase_rmb(Decimal(amount)) == expected


VALUES = {d: i for i, d in enumerate("零壹贰叁肆伍陆柒捌玖")}
UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def parse(text: str) -> Decimal:
    """An independent reading of the uppercase text back into a number."""
    text = text.removesuffix("整")
    tail = text.split("元")[-1] if "元" in text else text
    jiao = re.search(r"([壹贰叁肆伍陆柒捌玖])角", tail)
    fen_match = re.search(r"([壹贰叁肆伍陆柒捌玖])分", tail)
    fen = (VALUES[jiao.group(1)] * 10 if jiao else 0) + (VALUES[fen_match.group(1)] if fen_match else 0)
    integer_text = text.split("元")[0] if "元" in text else ""
    total, section, digit = 0, 0, 0
    for char in integer_text:
        if char in VALUES:
            digit = VALUES[char]
        elif char in UNITS:
            section += digit * UNITS[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif char == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    total += section + digit
    return Decimal(total) + Decimal(fen) / 100


amounts = st.integers(0, 10 ** 13).map(lambda fen: Decimal(fen) / 100)


@given(amounts)
def test_reads_back_to_the_same_amount(amount):
    assert parse(uppercase_rmb(amount)) == amount


@given(amounts)
def test_zero_rules_hold(amount):
    text = uppercase_rmb(amount)
    if amount == 0:
        assert text == "零元整"
        return
    assert "零零" not in text
    assert not re.search(r"零[元万亿角分整]", text), text  # no zero just before a unit or the end
    assert not text.startswith("零")
    assert not text.startswith("拾")
    assert text.endswith("分") != text.endswith("整")


@given(st.integers(1, 10 ** 11), st.integers(1, 9))
def test_jiao_zero_and_fen_not_writes_yuan_ling(yuan, fen):
    assert uppercase_rmb(Decimal(yuan) + Decimal(fen) / 100).endswith(f"元零{'零壹贰叁肆伍陆柒捌玖'[fen]}分")


@given(amounts)
def test_every_char_is_from_the_official_set(amount):
    assert set(uppercase_rmb(amount)) <= set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整")
