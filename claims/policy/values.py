"""Value types of the policy language: money, rates, day counts, dates, codes, code patterns, dated values.

Each parser raises ``PydanticCustomError`` whose type is the stable problem code and whose message is
Chinese; the loader turns them into ``file:line`` problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

from claims.money import decimal_places, parse_decimal
from claims.policy.dated import Dated
from claims.policy.patterns import normalize, pattern_error

_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _fail(code: str, message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(code, message, context or None)


def parse_number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    number = parse_decimal(value) if isinstance(value, str) else None
    if number is None:
        raise _fail("POLICY_NOT_A_NUMBER", "“{value}”不是数字", value=str(value))
    return number


def parse_money(value: Any) -> Decimal:
    number = parse_number(value)
    if number < 0:
        raise _fail("POLICY_NEGATIVE_AMOUNT", "金额不能为负数：{value}", value=str(number))
    if decimal_places(number) > 2:
        raise _fail("POLICY_MONEY_PRECISION", "金额最多两位小数（到分）：{value}", value=str(number))
    return number


def parse_rate(value: Any) -> Decimal:
    number = parse_number(value)
    if not Decimal(0) <= number <= Decimal(1):
        raise _fail("POLICY_RATE_RANGE", "比例必须在 0 到 1 之间：{value}", value=str(number))
    return number


def parse_count(value: Any) -> int:
    number = parse_number(value)
    if number != number.to_integral_value():
        raise _fail("POLICY_NOT_AN_INTEGER", "必须是整数：{value}", value=str(number))
    if number < 0:
        raise _fail("POLICY_NEGATIVE_AMOUNT", "不能为负数：{value}", value=str(number))
    return int(number)


def parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        if isinstance(value, str) and len(value.strip()) == 10:
            return date.fromisoformat(value.strip())
    except ValueError:
        pass
    raise _fail("POLICY_BAD_DATE", "“{value}”不是有效日期（应为 YYYY-MM-DD）", value=str(value))


def parse_code(value: Any) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise _fail("POLICY_BAD_CODE", "代码“{value}”无效：须以小写字母开头，只含小写字母、数字和下划线", value=str(value))
    return value


def parse_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail("POLICY_EMPTY_TEXT", "此处须填写文字")
    return value.strip()


def parse_pattern(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    problem = pattern_error(text)
    if problem:
        raise _fail("POLICY_BAD_PATTERN", problem)
    return normalize(text)


def dated(parse: Callable[[Any], Any]) -> Callable[[Any], Dated]:
    """A parser for ``value`` or ``{effective date: value, ...}``."""

    def parse_dated(value: Any) -> Dated:
        if not isinstance(value, dict):
            return Dated.always(parse(value))
        if not value:
            raise _fail("POLICY_DATED_EMPTY", "按日期生效的取值至少要有一项")
        entries = []
        for key, item in value.items():
            try:
                entries.append((parse_date(key), parse(item)))
            except PydanticCustomError as exc:
                raise PydanticCustomError(exc.type, exc.message_template, {**(exc.context or {}), "at": key}) from None
        return Dated(tuple(sorted(entries)))

    return parse_dated


def ranged(low: int, high: int) -> Callable[[Any], int]:
    """A whole number within [low, high]."""

    def parse_ranged(value: Any) -> int:
        number = parse_number(value)
        if number != number.to_integral_value():
            raise _fail("POLICY_NOT_AN_INTEGER", "必须是整数：{value}", value=str(number))
        number = int(number)
        if not low <= number <= high:
            raise _fail("POLICY_OUT_OF_RANGE", "取值 {value} 超出范围（应在 {low} 到 {high} 之间）",
                        value=str(number), low=str(low), high=str(high))
        return number

    return parse_ranged


def undated_start_month(value: Any) -> int:
    """The period's start month cannot be dated: dated values are chosen by the first day of the period,
    and it is the start month that says which day that is."""
    if isinstance(value, dict):
        raise _fail("POLICY_NOT_DATABLE",
                    "互助期起始月不能按日期变化：按日期生效的取值都以“互助期第一天”选定，而互助期第一天正是由起始月决定的；"
                    "如要改变起始月，请另立方案（新的方案代码）并重新参保")
    return ranged(1, 12)(value)


Money = Annotated[Decimal, PlainValidator(parse_money)]
Count = Annotated[int, PlainValidator(parse_count)]
Code = Annotated[str, PlainValidator(parse_code)]
Text = Annotated[str, PlainValidator(parse_text)]
CodePattern = Annotated[str, PlainValidator(parse_pattern)]
DatedMoney = Annotated[Dated, PlainValidator(dated(parse_money))]
DatedRate = Annotated[Dated, PlainValidator(dated(parse_rate))]
DatedCount = Annotated[Dated, PlainValidator(dated(parse_count))]
DatedLevel = Annotated[Dated, PlainValidator(dated(ranged(1, 3)))]
DatedShares = Annotated[Dated, PlainValidator(dated(ranged(1, 99)))]
DatedMonths = Annotated[Dated, PlainValidator(dated(ranged(0, 36)))]
StartMonth = Annotated[int, PlainValidator(undated_start_month)]
