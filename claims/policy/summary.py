"""``claims policy show``: the scheme as a readable Chinese summary for a clerk."""

from __future__ import annotations

from datetime import date

from claims.policy.dated import Dated, change_dates, value_on
from claims.policy.schema import (
    EVENT_TYPE_NAMES,
    EXPENSE_FIELD_NAMES,
    GENDER_NAMES,
    KIND_NAMES,
    BandedExpense,
    Eligibility,
    Item,
    LumpSum,
    PerDiem,
    Policy,
)


def _money(dated: Dated) -> str:
    if not dated.is_dated:
        return f"{dated.entries[0][1]:,} 元"
    return "；".join(f"{d} 起 {v:,} 元" for d, v in dated.entries)


def _plain(dated: Dated) -> str:
    """A dated number as “54” or “（2025-01-01 起 54；2026-01-01 起 55）”."""
    return dated.describe() if not dated.is_dated else f"（{dated.describe()}）"


def _rate(dated: Dated) -> str:
    return "；".join(f"{'' if not dated.is_dated else f'{d} 起 '}{(v * 100).normalize():f}%" for d, v in dated.entries)


def _eligibility(rules: Eligibility) -> list[str]:
    lines = []
    if rules.gender:
        lines.append(f"限{GENDER_NAMES[rules.gender]}性")
    for who, (low, high) in (rules.age or {}).items():
        label = {"male": "男性", "female": "女性", "any": ""}[who]
        lines.append(f"{label}事件日年龄 {_plain(low)}–{_plain(high)} 周岁")
    for event_type, level in (rules.min_hospital_level or {}).items():
        lines.append(f"{EVENT_TYPE_NAMES[event_type]}须在 {_plain(level)} 级及以上医院")
    return lines


def text_table(rows: list[list[str]]) -> list[str]:
    """Rows as aligned columns, Chinese characters counted two wide."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)).rstrip() for row in rows]


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def summary(policy: Policy) -> str:
    s = policy.scheme
    out = [f"{s.name}（{s.code}）", f"签发机构：{s.issuer}", f"依据：{s.source}"]
    if s.notes:
        out.append(f"说明：{s.notes}")
    start = policy.period.start_month
    out.append(f"互助期：{'自然年（1 月 1 日至 12 月 31 日）' if start == 1 else f'每年 {start} 月 1 日起 12 个月'}；"
               f"申请截止：互助期结束后 {_plain(policy.claim_deadline.months_after_period_end)} 个月的月末；"
               f"续保间隔不超过 {_plain(policy.renewal_grace_days)} 天视为连续保障")
    out.append(f"方案总限额：{_money(policy.scheme_cap) + '/人/期' if policy.scheme_cap else '不单独设置（以各项目限额为准）'}")
    out.append("")
    rows = [["项目代码", "项目名称", "每份缴费", "最多份数", "每份每期限额"]]
    rows += [[i.code, i.name, _money(i.contribution), _plain(i.max_shares), _money(i.cap_per_share)] for i in policy.items]
    out += ["保障项目："] + ["  " + line for line in text_table(rows)]
    for item in policy.items:
        out += [""] + _item(item)
    return "\n".join(out) + "\n"


def _item(item: Item) -> list[str]:
    out = [f"■ {item.name}（{item.code}）  依据：{item.reference}"]
    rules = _eligibility(item.eligibility) if item.eligibility else []
    if rules:
        out.append("  参加条件：" + "；".join(rules))
    if item.ends_cover_on_payout:
        out.append("  本项目给付任一定额补助后，本期保障终止")
    for benefit in item.benefits:
        out.append(f"  ● {benefit.name}（{benefit.code}，{KIND_NAMES[benefit.kind]}）  依据：{benefit.reference}")
        own = _eligibility(benefit.eligibility) if benefit.eligibility else []
        if own:
            out.append("    条件：" + "；".join(own))
        if isinstance(benefit, BandedExpense):
            out += _banded(benefit)
        elif isinstance(benefit, PerDiem):
            text = f"    {'、'.join(EVENT_TYPE_NAMES[e] for e in benefit.event_types)}每天 {_money(benefit.rate)} × 份数，" \
                   f"从第 {benefit.from_day.describe()} 天起"
            if benefit.max_days_per_period:
                text += f"，每期最多 {benefit.max_days_per_period.describe()} 天"
            out.append(text)
        elif isinstance(benefit, LumpSum):
            out.append(f"    每份 {_money(benefit.amount)}，{'每期' if benefit.once_per == 'period' else '终身'}限给付一次")
            if benefit.diagnoses:
                out.append(f"    诊断编码：{'、'.join(benefit.diagnoses)}")
            if benefit.procedures:
                out.append(f"    手术编码：{'、'.join(benefit.procedures)}")
            if benefit.exclude:
                out.append(f"    除外：{'、'.join(benefit.exclude)}")
        for rule in benefit.waiting:
            first, last = rule.days
            pays = "不予补助" if all(v == 0 for v in rule.amount.values()) else f"每份给付 {_money(rule.amount)}"
            out.append(f"    等待期：连续保障第 {_plain(first)}–{_plain(last)} 天{pays}")
    for group in item.groups:
        by_code = {b.code: b.name for b in item.benefits}
        names = "、".join(by_code.get(code, code) for code in group.benefits)
        out.append(f"  择高给付：{names} 同一次申请只给付金额最高的一项")
    return out


def _banded(benefit: BandedExpense) -> list[str]:
    base = "、".join(EXPENSE_FIELD_NAMES[f] for f in benefit.base)
    events = "、".join(EVENT_TYPE_NAMES[e] for e in benefit.event_types)
    out = [f"    适用：{events}；计算基数：{base}"]
    if benefit.deductible:
        per = "每期累计" if benefit.deductible.per == "period" else "每次"
        out.append(f"    起付线：{_money(benefit.deductible.amount)}（{per}）")
    days = change_dates(*(limit for band in benefit.bands for limit in (band.lower, band.upper)))
    for day in [d for d in days if d != date.min] or days:
        if day != date.min:
            out.append(f"    分档界限 {day} 起：")
        rows = [["超过起付线的金额", "补助比例"]]
        for band in benefit.bands:
            lower, upper = value_on(band.lower, day), value_on(band.upper, day)
            if lower is None:
                continue
            rows.append([f"{lower:,} 元" + ("以上" if upper is None else f"–{upper:,} 元"), _rate(band.rate)])
        out += ["    " + line for line in text_table(rows)]
    return out
