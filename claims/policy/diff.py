"""Two policies compared parameter by parameter, in Chinese: a band rate, a cap, a disease added — not a
text diff. Each policy is flattened to (parameter → label, value); the comparison lists what changed,
what was added and what was removed, in policy order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from claims.policy.dated import Dated
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

Key = tuple
Flat = dict[Key, tuple[str, str]]
EXISTS = "存在"


def _number(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:,f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:,}"
    return str(value)


def _dated(dated: Dated | None, unit: str = "", rate: bool = False) -> str:
    if dated is None:
        return "（无）"

    def one(value) -> str:
        return f"{_number(value * 100)}%" if rate else f"{_number(value)}{unit}"

    if not dated.is_dated:
        return one(dated.entries[0][1])
    return "；".join(f"{d if d != date.min else '最初'} 起 {one(v)}" for d, v in dated.entries)


def flatten(policy: Policy) -> Flat:
    flat: Flat = {}
    s = policy.scheme
    for field, label in (("name", "方案名称"), ("issuer", "签发机构"), ("source", "依据"), ("contact", "咨询与申诉方式")):
        flat[("scheme", field)] = (label, getattr(s, field) or "（无）")
    flat[("period",)] = ("互助期起始月", f"{policy.period.start_month} 月")
    flat[("deadline",)] = ("申请截止（互助期结束后的月数）", _dated(policy.claim_deadline.months_after_period_end, " 个月"))
    flat[("grace",)] = ("续保宽限天数", _dated(policy.renewal_grace_days, " 天"))
    flat[("scheme_cap",)] = ("方案总限额", _dated(policy.scheme_cap, " 元") if policy.scheme_cap else "不单独设置")
    for item in policy.items:
        _item(flat, item)
    return flat


def _eligibility(flat: Flat, key: Key, who: str, rules: Eligibility | None) -> None:
    if rules is None:
        return
    if rules.gender:
        flat[key + ("gender",)] = (f"{who} 性别限制", f"限{GENDER_NAMES[rules.gender]}性")
    for gender, (low, high) in (rules.age or {}).items():
        label = {"male": "男性", "female": "女性", "any": "所有人"}[gender]
        flat[key + ("age", gender, "low")] = (f"{who} {label}年龄下限", _dated(low, " 周岁"))
        flat[key + ("age", gender, "high")] = (f"{who} {label}年龄上限", _dated(high, " 周岁"))
    for event_type, level in (rules.min_hospital_level or {}).items():
        flat[key + ("level", event_type)] = (f"{who} {EVENT_TYPE_NAMES[event_type]}最低医院等级", _dated(level, " 级"))


def _item(flat: Flat, item: Item) -> None:
    key, who = ("item", item.code), f"项目“{item.name}”"
    flat[key] = (f"保障项目“{item.name}”（{item.code}）", EXISTS)
    flat[key + ("name",)] = (f"项目 {item.code} 的名称", item.name)
    flat[key + ("contribution",)] = (f"{who} 每份缴费", _dated(item.contribution, " 元"))
    flat[key + ("max_shares",)] = (f"{who} 最多份数", _dated(item.max_shares, " 份"))
    flat[key + ("cap",)] = (f"{who} 每份每期限额", _dated(item.cap_per_share, " 元"))
    flat[key + ("ends_cover",)] = (f"{who} 给付定额补助后本期保障终止", "是" if item.ends_cover_on_payout else "否")
    _eligibility(flat, key + ("eligibility",), who, item.eligibility)
    for benefit in item.benefits:
        bkey, bwho = key + ("benefit", benefit.code), f"“{benefit.name}”"
        flat[bkey] = (f"{who} 的保障责任“{benefit.name}”（{benefit.code}，{KIND_NAMES[benefit.kind]}）", EXISTS)
        flat[bkey + ("name",)] = (f"保障责任 {benefit.code} 的名称", benefit.name)
        flat[bkey + ("kind",)] = (f"{bwho} 类型", KIND_NAMES[benefit.kind])
        flat[bkey + ("reference",)] = (f"{bwho} 依据条款", benefit.reference)
        _eligibility(flat, bkey + ("eligibility",), bwho, benefit.eligibility)
        if isinstance(benefit, BandedExpense):
            flat[bkey + ("events",)] = (f"{bwho} 适用类别", "、".join(EVENT_TYPE_NAMES[e] for e in benefit.event_types))
            flat[bkey + ("base",)] = (f"{bwho} 计算基数", "、".join(EXPENSE_FIELD_NAMES[f] for f in benefit.base))
            if benefit.deductible:
                per = "每期累计" if benefit.deductible.per == "period" else "每次"
                flat[bkey + ("deductible",)] = (f"{bwho} 起付线", f"{_dated(benefit.deductible.amount, ' 元')}（{per}）")
            for n, band in enumerate(benefit.bands, 1):
                flat[bkey + ("band", n)] = (f"{bwho} 第 {n} 档", EXISTS)
                flat[bkey + ("band", n, "from")] = (f"{bwho} 第 {n} 档下限", _dated(band.lower, " 元"))
                flat[bkey + ("band", n, "to")] = (f"{bwho} 第 {n} 档上限", _dated(band.upper, " 元") if band.upper else "不设上限")
                flat[bkey + ("band", n, "rate")] = (f"{bwho} 第 {n} 档补助比例", _dated(band.rate, rate=True))
        elif isinstance(benefit, PerDiem):
            flat[bkey + ("events",)] = (f"{bwho} 适用类别", "、".join(EVENT_TYPE_NAMES[e] for e in benefit.event_types))
            flat[bkey + ("rate",)] = (f"{bwho} 每天补助", _dated(benefit.rate, " 元"))
            flat[bkey + ("from_day",)] = (f"{bwho} 自第几天起补助", _dated(benefit.from_day, " 天"))
            flat[bkey + ("max_days",)] = (f"{bwho} 每期最多天数",
                                          _dated(benefit.max_days_per_period, " 天") if benefit.max_days_per_period else "不限")
        elif isinstance(benefit, LumpSum):
            flat[bkey + ("amount",)] = (f"{bwho} 每份金额", _dated(benefit.amount, " 元"))
            flat[bkey + ("once_per",)] = (f"{bwho} 给付次数", "每期一次" if benefit.once_per == "period" else "终身一次")
            for field, label in (("diagnoses", "诊断编码（病种）"), ("procedures", "手术编码"), ("exclude", "除外编码")):
                for code in getattr(benefit, field):
                    flat[bkey + (field, code)] = (f"{bwho} 的{label} {code}", EXISTS)
        for n, rule in enumerate(benefit.waiting, 1):
            flat[bkey + ("waiting", n)] = (f"{bwho} 第 {n} 条等待期规则", EXISTS)
            flat[bkey + ("waiting", n, "days")] = (f"{bwho} 第 {n} 条等待期天数",
                                                   f"第 {_dated(rule.days[0])} 至 {_dated(rule.days[1])} 天")
            flat[bkey + ("waiting", n, "amount")] = (f"{bwho} 第 {n} 条等待期内每份给付", _dated(rule.amount, " 元"))
    names = {b.code: b.name for b in item.benefits}
    for n, group in enumerate(item.groups, 1):
        flat[key + ("group", n)] = (f"{who} 第 {n} 个择高给付组", "、".join(names.get(c, c) for c in group.benefits))


def diff(old: Policy, new: Policy, old_label: str = "原版本", new_label: str = "新版本") -> list[str]:
    """The changed parameters as lines a clerk reads: 修改 / 新增 / 删除."""
    a, b = flatten(old), flatten(new)
    changes: list[str] = []
    gone: list[Key] = []  # an added or removed item, benefit, band or rule: its parameters are not listed again
    for key in list(a) + [k for k in b if k not in a]:
        if any(key[:len(g)] == g for g in gone):
            continue
        before, after = a.get(key), b.get(key)
        if before is not None and after is not None:
            if before[1] != after[1]:
                changes.append(f"修改  {after[0]}：{before[1]} → {after[1]}")
        elif after is not None:
            changes.append(f"新增  {after[0]}" + ("" if after[1] == EXISTS else f"：{after[1]}"))
            if after[1] == EXISTS:
                gone.append(key)
        else:
            changes.append(f"删除  {before[0]}" + ("" if before[1] == EXISTS else f"（原为 {before[1]}）"))
            if before[1] == EXISTS:
                gone.append(key)
    head = f"{old_label}（{old.scheme.name}）→ {new_label}（{new.scheme.name}）："
    if not changes:
        return [head + "参数完全相同（文本的差别只在注释或排版）"]
    return [head + f"共 {len(changes)} 处参数变化", *("  " + line for line in changes)]
