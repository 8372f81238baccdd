"""One function per benefit kind: the amount before caps, with the steps that explain it."""

from __future__ import annotations

from decimal import Decimal

from claims.engine.context import Assessment, Context
from claims.engine.model import Claim, Step
from claims.engine.plan import BenefitPlan
from claims.engine.reasons import Reason
from claims.money import ZERO, round_fen


def trigger_step(plan: BenefitPlan, claim: Claim, triggered: dict[str, tuple[str, str]]) -> Step:
    """Why the benefit applies, for the explanation."""
    if plan.include is None:
        return Step("trigger_event", {"event_type": claim.event_type}, plan.reference)
    code, kind = triggered[plan.code]
    return Step("trigger_code", {"code": code, "kind": kind}, plan.reference)


def banded_expense(ctx: Context, a: Assessment) -> None:
    claim, terms = a.claim, a.terms
    base = a.plan.base_of(claim)
    deductible, bands = terms["deductible"], terms["bands"]
    before = ZERO
    if terms["per"] == "period":
        counts = a.counts
        if counts is not None:
            before = counts.base.get(a.plan.code, ZERO)
    after = before + base
    raw = _banded(after, deductible, bands) - _banded(before, deductible, bands)
    a.amount = round_fen(raw) * a.shares
    a.base_counted = base
    if a.steps is not None:
        a.steps.append(Step("banded", {
            "base": base, "fields": list(a.plan.benefit.base), "cumulative_before": before,
            "cumulative_after": after, "per": terms["per"], "deductible": deductible, "bands": bands,
            "portions": _portions(before, after, deductible, bands), "raw": raw, "shares": a.shares,
            "amount": a.amount,
        }, a.plan.reference, terms["effective"]))
    if after <= deductible:
        a.reason = Reason.BELOW_DEDUCTIBLE
    elif a.amount == 0:
        a.reason = Reason.ZERO_AMOUNT


def _banded(cumulative: Decimal, deductible: Decimal, bands: list[tuple]) -> Decimal:
    """S(x) = Σ rate_i × clip(x − deductible, lower_i, upper_i)."""
    above = cumulative - deductible
    total = Decimal(0)
    for lower, upper, rate in bands:
        if above <= lower:
            break
        total += rate * ((above if upper is None or above < upper else upper) - lower)
    return total


def _portions(before, after, deductible, bands) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Which part of this claim's base fell into each band: (amount in band, rate, subsidy)."""
    result = []
    low, high = before - deductible, after - deductible
    for lower, upper, rate in bands:
        top = high if upper is None else min(high, upper)
        part = max(ZERO, top - max(low, lower))
        if part > 0:
            result.append((part, rate, rate * part))
    return result


def per_diem(ctx: Context, a: Assessment) -> None:
    claim, terms = a.claim, a.terms
    days = max(1, (claim.discharge_date - claim.admission_date).days)
    from_day, rate, limit = terms["from_day"], terms["rate"], terms["limit"]
    payable = max(0, days - (from_day - 1))
    counts = a.counts
    used = counts.days.get(a.plan.code, 0) if counts is not None else 0
    paid_days = payable if limit is None else max(0, min(payable, limit - used))
    a.amount = round_fen(paid_days * rate * a.shares)
    a.days_counted = paid_days
    if a.steps is not None:
        a.steps.append(Step("per_diem", {
            "admission": claim.admission_date, "discharge": claim.discharge_date, "days": days,
            "from_day": from_day, "payable": payable, "limit": limit, "used_before": used,
            "paid_days": paid_days, "rate": rate, "shares": a.shares, "amount": a.amount,
        }, a.plan.reference, terms["effective"]))
    if payable == 0:
        a.reason = Reason.SHORT_STAY
    elif paid_days == 0:
        a.reason = Reason.DAYS_EXHAUSTED


def lump_sum(ctx: Context, a: Assessment, reduced: Decimal | None) -> None:
    full = a.terms["amount"]
    per_share = full if reduced is None else reduced
    a.amount = round_fen(per_share * a.shares)
    if a.steps is not None:
        a.steps.append(Step("lump_sum", {
            "full": full, "per_share": per_share, "shares": a.shares, "amount": a.amount,
            "reduced": reduced is not None,
        }, a.plan.reference, a.terms["effective"]))
    if reduced is not None:
        a.reason = Reason.WAITING_REDUCED


KINDS = {"banded_expense": banded_expense, "per_diem": per_diem}
