"""Explanations rendered as short plain-Chinese sentences, and as JSON-ready data."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

from claims.engine.model import Explanation, ResultLine, Step
from claims.engine.reasons import REASON_TEXT, Reason
from claims.money import round_fen
from claims.policy.schema import EVENT_TYPE_NAMES, EXPENSE_FIELD_NAMES, GENDER_NAMES


def yuan(value: Decimal) -> str:
    """An amount as shown: rounded 四舍五入 to the fen exactly as the engine rounds what it pays (a plain
    f"{x:,.2f}" would round half to even, and 4,557.085 would show as 4,557.08 beside a paid 4,557.09)."""
    return f"{round_fen(value):,.2f} 元"


def _exact_yuan(value: Decimal) -> str:
    """An intermediate figure to the last decimal it has (at least two), so shown parts add up exactly."""
    text = f"{value:,f}"
    whole, _, decimals = text.partition(".")
    return f"{whole}.{(decimals.rstrip('0') or '').ljust(2, '0')} 元"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _band(lower: Decimal, upper: Decimal | None) -> str:
    return f"{lower:,.0f} 元以上部分" if upper is None else f"{lower:,.0f}–{upper:,.0f} 元部分"


def render_step(step: Step) -> str:
    v = step.values
    code = step.code
    if code == "trigger_event":
        return f"本次为{EVENT_TYPE_NAMES[v['event_type']]}。"
    if code == "trigger_code":
        kind = "诊断" if v["kind"] == "diagnosis" else "手术"
        return f"{kind}编码 {v['code']} 属于本项补助的范围。"
    if code == "enrolled":
        text = f"已参加“{v['item_name']}”{v['period']} 年度，{v['shares']} 份，保障自 {v['start_date']} 起"
        if v["continuous_since"] != v["start_date"]:
            text += f"（自 {v['continuous_since']} 起连续保障）"
        return text + "。"
    if code == "banded":
        fields = "、".join(EXPENSE_FIELD_NAMES[f] for f in v["fields"])
        text = f"本次{fields} {yuan(v['base'])}"
        if v["per"] == "period":
            text += f"，本期累计由 {yuan(v['cumulative_before'])} 增至 {yuan(v['cumulative_after'])}"
        text += f"；起付线 {yuan(v['deductible'])}（{'每期累计' if v['per'] == 'period' else '每次'}）"
        if v["portions"]:
            # each part shown rounded when the rounded parts add up to the rounded total; else exactly
            show = yuan if sum((round_fen(sub) for _, _, sub in v["portions"]), Decimal("0")) == round_fen(v["raw"]) \
                else _exact_yuan
            parts = "，".join(f"{yuan(part)} × {_percent(rate)} = {show(sub)}" for part, rate, sub in v["portions"])
            text += f"；超过起付线的部分按档补助：{parts}"
        text += f"；合计 {yuan(v['raw'])}" + ("（四舍五入到分）" if round_fen(v["raw"]) != v["raw"] else "")
        if v["shares"] != 1:
            text += f" × {v['shares']} 份"
        return text + f"，补助 {yuan(v['amount'])}。"
    if code == "per_diem":
        text = f"住院 {v['admission']} 至 {v['discharge']}，计 {v['days']} 天"
        if v["from_day"] > 1:
            text += f"，从第 {v['from_day']} 天起给付，可给付 {v['payable']} 天"
        if v["limit"] is not None:
            text += f"；本期最多 {v['limit']} 天，此前已给付 {v['used_before']} 天"
        text += f"；给付 {v['paid_days']} 天 × {yuan(v['rate'])}"
        if v["shares"] != 1:
            text += f" × {v['shares']} 份"
        return text + f" = {yuan(v['amount'])}。"
    if code == "lump_sum":
        if v["reduced"]:
            text = f"等待期内减额给付每份 {yuan(v['per_share'])}（全额为 {yuan(v['full'])}）"
        else:
            text = f"定额补助每份 {yuan(v['per_share'])}"
        if v["shares"] != 1:
            text += f" × {v['shares']} 份"
        return text + f"，计 {yuan(v['amount'])}。"
    if code == "waiting_reduced":
        return f"确诊日为连续保障第 {v['day']} 天（自 {v['since']} 起算），在第 {v['first']}–{v['last']} 天的减额期内。"
    if code == "capped":
        which = "方案" if v["which"] == "scheme" else f"“{v['item_name']}”"
        return f"{which}本期限额剩余 {yuan(v['scheme_left'] if v['which'] == 'scheme' else v['item_left'])}，" \
               f"应补 {yuan(v['before_cap'])}，实补 {yuan(v['paid'])}。"
    if code == "cover_ends":
        return f"按规定，“{v['item_name']}”本期给付后保障终止。"
    return _render_reason(step)


def _render_reason(step: Step) -> str:
    v = step.values
    reason = Reason(step.code)
    detail = ""
    if reason is Reason.LATE_SUBMISSION:
        detail = f"（申请日 {v['submitted']}，{v['period']} 年度截止日 {v['deadline']}）"
    elif reason is Reason.DUPLICATE_INVOICE:
        detail = f"（发票号 {v['invoice_no']}）"
    elif reason is Reason.NOT_ENROLLED:
        detail = f"（事件日 {v['event_date']}，{v['period']} 年度）"
    elif reason is Reason.INELIGIBLE_GENDER:
        detail = f"（限{GENDER_NAMES[v['required']]}性）"
    elif reason is Reason.INELIGIBLE_AGE:
        rule = f"{v['period']} 年度规定" if "period" in v else "规定"  # age limits may change by period
        detail = f"（事件日 {v['event_date']} 时 {v['age']} 周岁，{rule} {v['low']}–{v['high']} 周岁）"
    elif reason is Reason.HOSPITAL_LEVEL:
        rule = f"{v['period']} 年度要求" if "period" in v else "要求"
        detail = f"（{level_name(v['level'])}医院，{rule}{level_name(v['minimum'])}及以上）"
    elif reason is Reason.WAITING_PERIOD:
        detail = f"（确诊日为连续保障第 {v['day']} 天，自 {v['since']} 起算；第 {v['first']}–{v['last']} 天不予补助）"
    elif reason is Reason.NOT_CHOSEN:
        detail = f"（已选“{v['chosen_name']}” {yuan(v['chosen_amount'])}）"
    return REASON_TEXT[reason] + detail + "。"


def level_name(level) -> str:
    """A hospital level as people say it: 三级 for 3."""
    return {1: "一级", 2: "二级", 3: "三级"}.get(int(level), f"{level}级")


def render(explanation: Explanation) -> str:
    """The whole explanation as sentences a clerk can read out."""
    text = "".join(render_step(step) for step in explanation.steps)
    if explanation.item_cap_after is not None:
        text += f"本项目本期剩余限额 {yuan(explanation.item_cap_after)}。"
    return text


def line_summary(line: ResultLine) -> str:
    text = render(line.explanation)
    if line.reason is not None and line.reason.value not in {s.code for s in line.explanation.steps}:
        text += REASON_TEXT[line.reason] + "。"
    return text


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    """The explanation as JSON-ready data (Decimal and dates as text)."""
    return json.loads(explanation_text_json(explanation))


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in an explanation")


def explanation_text_json(explanation: Explanation) -> str:
    """The explanation serialised as JSON text in one pass of the C encoder (stored with every line)."""
    return json.dumps({
        "steps": [{"step": s.code, "text": render_step(s), "values": s.values, "reference": s.reference,
                   "effective": s.effective} for s in explanation.steps],
        "item_cap_before": explanation.item_cap_before, "item_cap_after": explanation.item_cap_after,
        "scheme_cap_before": explanation.scheme_cap_before, "scheme_cap_after": explanation.scheme_cap_after,
    }, ensure_ascii=False, default=_encode)


CAPS = ("item_cap_before", "item_cap_after", "scheme_cap_before", "scheme_cap_after")


def stored_explanation_json(explanation: Explanation) -> str:
    """The compact form stored with every result line of a batch: each step's code and values, its reference
    and effective date only when it has them, the caps only when set. A step's sentence is not stored: it is
    rendered again from the values whenever it is shown (``stored_step_text``, as for every stored step), and
    ``full_explanation`` gives back exactly what ``explanation_json`` gives for the same explanation."""
    return json.dumps(stored_explanation_data(explanation), ensure_ascii=False, default=_encode,
                      separators=(",", ":"))


def stored_explanation_data(explanation: Explanation) -> dict[str, Any]:
    """What ``stored_explanation_json`` writes, before it is written (claims/store/explanations.py writes the
    same data with a faster encoder)."""
    steps = []
    for s in explanation.steps:
        step = {"step": s.code, "values": s.values}
        if s.reference:
            step["reference"] = s.reference
        if s.effective is not None:
            step["effective"] = s.effective
        steps.append(step)
    data: dict[str, Any] = {"steps": steps}
    for name in CAPS:
        value = getattr(explanation, name)
        if value is not None:
            data[name] = value
    return data


def full_explanation(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored explanation (compact, or the full form older batches stored) in the full form of
    ``explanation_json``: every step with its sentence, reference and effective date, and the four caps."""
    return {"steps": [{"step": s["step"], "text": s["text"] if "text" in s else stored_step_text(s),
                       "values": s.get("values") or {}, "reference": s.get("reference", ""),
                       "effective": s.get("effective")} for s in stored["steps"]],
            **{name: stored.get(name) for name in CAPS}}


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _decoded(value: Any) -> Any:
    """A stored (JSON) value back as the engine had it, as far as rendering needs: decimals as Decimal."""
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return Decimal(value)
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()}
    return value


def stored_step_text(step: dict) -> str:
    """A stored step's sentence, rendered again from its values with today's wording (so explanations
    stored before a wording or rounding fix read right); the stored text when it cannot be."""
    try:
        return render_step(Step(step["step"], _decoded(step.get("values") or {}), step.get("reference"),
                                step.get("effective")))
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError, IndexError):
        return step.get("text", "")
