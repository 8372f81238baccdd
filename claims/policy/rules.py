"""Checks between the parts of a policy that pydantic cannot see one field at a time.

Each check yields ``(path, code, message)``; the loader turns the path into a line. Relational checks
(codes, bands, groups) read the raw data so that they run even when a neighbouring value is invalid;
the others run on every part that validated on its own. Either way one file reports all its mistakes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from pydantic_core import PydanticCustomError

from claims.policy.dated import Dated, change_dates, since, value_on
from claims.policy.patterns import normalize
from claims.policy.schema import BenefitBase, Eligibility, LumpSum, PerDiem
from claims.policy.values import dated, parse_money

Issue = tuple[tuple[Any, ...], str, str]


def _dicts(value: Any) -> Iterator[tuple[int, dict]]:
    for index, entry in enumerate(value if isinstance(value, list) else []):
        if isinstance(entry, dict):
            yield index, entry


def raw_checks(data: Any) -> Iterator[Issue]:
    """Unique codes, band order, choose groups and duplicated patterns, on the data as written."""
    items = data.get("items") if isinstance(data, dict) else None
    seen_items: dict[str, int] = {}
    seen_benefits: set[str] = set()
    for i, item in _dicts(items):
        path = ("items", i)
        code = item.get("code")
        if isinstance(code, str):
            if code in seen_items:
                yield path + ("code",), "POLICY_DUPLICATE_CODE", f"保障项目代码“{code}”重复（第 {seen_items[code] + 1} 个项目已使用）"
            seen_items.setdefault(code, i)
        kinds: dict[str, Any] = {}
        for j, benefit in _dicts(item.get("benefits")):
            where = path + ("benefits", j)
            code = benefit.get("code")
            if isinstance(code, str):
                if code in seen_benefits:
                    yield where + ("code",), "POLICY_DUPLICATE_CODE", f"保障责任代码“{code}”重复"
                seen_benefits.add(code)
                kinds[code] = benefit.get("kind")
            yield from _check_bands(benefit.get("bands"), where + ("bands",))
            for field in ("diagnoses", "procedures", "exclude"):
                yield from _check_unique_patterns(benefit.get(field), where + (field,))
        yield from _check_groups(item.get("groups"), kinds, path)


def check_benefit(benefit: BenefitBase, path: tuple) -> Iterator[Issue]:
    if benefit.eligibility:
        yield from check_eligibility(benefit.eligibility, path + ("eligibility",))
    yield from _check_waiting(benefit, path)
    if isinstance(benefit, PerDiem):
        if any(day < 1 for day in benefit.from_day.values()):
            yield path + ("from_day",), "POLICY_OUT_OF_RANGE", "from_day 从第 1 天起算，不能小于 1"
        if benefit.max_days_per_period and any(d < 1 for d in benefit.max_days_per_period.values()):
            yield path + ("max_days_per_period",), "POLICY_OUT_OF_RANGE", "每期最多天数不能小于 1"
    elif isinstance(benefit, LumpSum) and not benefit.diagnoses and not benefit.procedures:
        yield path, "POLICY_NO_TRIGGER", f"定额补助“{benefit.code}”没有列出任何诊断或手术编码，永远不会适用"


def check_eligibility(eligibility: Eligibility, path: tuple) -> Iterator[Issue]:
    for gender, (low_dated, high_dated) in (eligibility.age or {}).items():
        for day in change_dates(low_dated, high_dated):
            low, high = value_on(low_dated, day), value_on(high_dated, day)
            if low is not None and high is not None and low > high:
                yield path + ("age", gender), "POLICY_BAD_RANGE", f"年龄范围 [{low}, {high}]{since(day)} 的下限大于上限"


def _check_unique_patterns(patterns: Any, path: tuple) -> Iterator[Issue]:
    seen: set[str] = set()
    for k, pattern in enumerate(patterns if isinstance(patterns, list) else []):
        key = normalize(str(pattern))
        if key in seen:
            yield path + (k,), "POLICY_DUPLICATE_CODE", f"编码“{pattern}”在同一列表中重复"
        seen.add(key)


def _check_waiting(benefit: BenefitBase, path: tuple) -> Iterator[Issue]:
    for day in change_dates(*(limit for rule in benefit.waiting for limit in rule.days)):
        previous_last = 0
        for k, rule in enumerate(benefit.waiting):
            first, last = value_on(rule.days[0], day), value_on(rule.days[1], day)
            if first is None or last is None:
                continue
            where = path + ("waiting", k)
            if first < 1 or last < first:
                yield where, "POLICY_BAD_RANGE", (f"等待期天数 [{first}, {last}]{since(day)} 无效：第 1 天是连续保障的起始日，"
                                                  "且起点不能大于终点")
            elif first <= previous_last:
                yield where, "POLICY_WAITING_OVERLAP", f"等待期规则 [{first}, {last}]{since(day)} 与前一条重叠或未按天数排序"
            previous_last = max(previous_last, last)
    for k, rule in enumerate(benefit.waiting):
        where = path + ("waiting", k)
        if not isinstance(benefit, LumpSum) and any(v != 0 for v in rule.amount.values()):
            yield where + ("amount",), "POLICY_WAITING_AMOUNT", "只有定额补助（lump_sum）可以在等待期内减额给付；其他类型的等待期金额须为 0"


_DATED_MONEY = dated(parse_money)


def _dated_bound(value: Any) -> Dated | None:
    try:
        return _DATED_MONEY(value)
    except PydanticCustomError:
        return None


def _check_bands(raw_bands: Any, path: tuple) -> Iterator[Issue]:
    """Bands as in force on each day one of their limits changes (plain limits: once)."""
    bands = list(_dicts(raw_bands))
    if not bands:
        return
    limits = [(k, band, _dated_bound(band.get("from")), _dated_bound(band.get("to")) if "to" in band else None)
              for k, band in bands]
    for day in change_dates(*(d for _, _, low, high in limits for d in (low, high))) or [date.min]:
        resolved = [(k, band, value_on(low, day), value_on(high, day)) for k, band, low, high in limits]
        yield from _check_bands_on(resolved, path, since(day))


def _check_bands_on(bands: list[tuple], path: tuple, when: str) -> Iterator[Issue]:
    first = bands[0][2]
    if first is not None and first != 0:
        yield path + (0, "from"), "POLICY_BAND_START", f"第一档须从 0 起（起付线以上的金额），现为 {first}{when}"
    lowers = [(k, low) for k, _, low, _ in bands]
    unsorted = [(k, low, prev) for (_, prev), (k, low) in zip(lowers, lowers[1:], strict=False)
                if low is not None and prev is not None and low < prev]
    if unsorted:  # order first: gaps and overlaps mean nothing until the bands are sorted
        for k, low, prev in unsorted:
            yield path + (k, "from"), "POLICY_BAND_UNSORTED", f"分档须按金额从低到高排列：{low} 排在 {prev} 之后{when}"
        return
    previous = None
    for position, (k, band, lower, upper) in enumerate(bands):
        last = position == len(bands) - 1
        if "to" not in band and not last:
            yield path + (k,), "POLICY_BAND_OPEN", "只有最后一档可以不写上限（to）"
        if "to" in band and last:
            yield path + (k, "to"), "POLICY_BAND_OPEN", "最后一档不应有上限（to），超出部分须有比例"
        if lower is not None and upper is not None and upper <= lower:
            yield path + (k,), "POLICY_BAND_ORDER", f"分档 [{lower}, {upper}){when} 的上限须大于下限"
        if previous is not None and lower is not None and previous[0] is not None:
            prev_upper = previous[1]
            if prev_upper is not None and lower < prev_upper:
                yield path + (k, "from"), "POLICY_BAND_OVERLAP", f"分档重叠{when}：本档从 {lower} 起，上一档到 {prev_upper} 止"
            elif prev_upper is not None and lower > prev_upper:
                yield path + (k, "from"), "POLICY_BAND_GAP", f"分档之间有空档{when}：上一档到 {prev_upper} 止，本档从 {lower} 起"
        previous = (lower, upper)


def _check_groups(raw_groups: Any, kinds: dict[str, Any], path: tuple) -> Iterator[Issue]:
    grouped: set[str] = set()
    for g, group in _dicts(raw_groups):
        where = path + ("groups", g)
        members = group.get("benefits")
        members = members if isinstance(members, list) else []
        if len(members) < 2:
            yield where, "POLICY_GROUP_EMPTY", "“择高给付”组至少要列出本项目的两个定额补助"
        for k, code in enumerate(members):
            if code not in kinds:
                yield where + ("benefits", k), "POLICY_GROUP_UNKNOWN", f"“择高给付”组引用了本项目中不存在的保障责任“{code}”"
            elif kinds[code] != "lump_sum":
                yield where + ("benefits", k), "POLICY_GROUP_KIND", f"“{code}”不是定额补助（lump_sum），不能参加择高给付"
            elif code in grouped:
                yield where + ("benefits", k), "POLICY_GROUP_OVERLAP", f"“{code}”已属于另一个择高给付组或在本组重复"
            grouped.add(code)
