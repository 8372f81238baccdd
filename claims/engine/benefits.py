"""One function per benefit kind: the amount before caps, with the steps that explain it."""

from __future__ import annotations

from decimal import Decimal

from claims.engine.context import Assessment, Context, value_at
from claims.engine.model import Claim, Step
from claims.engine.reasons import Reason
from claims.money import ZERO, round_fen
from claims.policy.schema import Band, BandedExpense, LumpSum, PerDiem


def applies(benefit, claim: Claim, code_sets) -> Step | None:
    """The trigger step when the benefit applies to the claim (SPEC §4), else None."""
    if isinstance(benefit, LumpSum):
        include, procedures, exclude = code_sets[benefit.code]
        code = include.first_match(claim.diagnoses, exclude) if include else None
        if code is not None:
            return Step("trigger_code", {"code": code, "kind": "diagnosis"}, benefit.reference)
        code = procedures.first_match(claim.procedures, exclude) if procedures else None
        if code is not None:
            return Step("trigger_code", {"code": code, "kind": "procedure"}, benefit.reference)
        return None
    if claim.event_type in benefit.event_types:
        return Step("trigger_event", {"event_type": claim.event_type}, benefit.reference)
    return None


def event_date(benefit, claim: Claim):
    """Lump sums count from the diagnosis date; expense and daily benefits from the discharge date."""
    return claim.diagnosis_date if isinstance(benefit, LumpSum) else claim.discharge_date


def banded_expense(ctx: Context, a: Assessment, benefit: BandedExpense) -> None:
    claim = a.claim
    base = sum((getattr(claim, name) for name in benefit.base), ZERO)
    deductible, deductible_since = ZERO, None
    per_period = benefit.deductible is None or benefit.deductible.per == "period"
    if benefit.deductible is not None:
        deductible, deductible_since = value_at(benefit.deductible.amount, a.period_start, f"{benefit.code}.deductible")
    before = ctx.ledger.member_period(a.member.member_id, a.period).base.get(benefit.code, ZERO) if per_period else ZERO
    rates = [(band, *value_at(band.rate, a.period_start, f"{benefit.code}.bands")) for band in benefit.bands]
    raw = _banded(before + base, deductible, rates) - _banded(before, deductible, rates)
    a.amount = round_fen(raw) * a.shares
    a.base_counted = base
    a.steps.append(Step("banded", {
        "base": base, "fields": list(benefit.base), "cumulative_before": before, "cumulative_after": before + base,
        "per": benefit.deductible.per if benefit.deductible else "period", "deductible": deductible,
        "bands": [(band.lower, band.upper, rate) for band, rate, _ in rates],
        "portions": _portions(before, before + base, deductible, rates),
        "raw": raw, "shares": a.shares, "amount": a.amount,
    }, benefit.reference, deductible_since or next((since for _, _, since in rates if since), None)))
    if before + base <= deductible:
        a.reason = Reason.BELOW_DEDUCTIBLE
    elif a.amount == 0:
        a.reason = Reason.ZERO_AMOUNT


def _banded(cumulative: Decimal, deductible: Decimal, rates: list[tuple[Band, Decimal, object]]) -> Decimal:
    """S(x) = Σ rate_i × clip(x − deductible, lower_i, upper_i)."""
    above = cumulative - deductible
    total = Decimal(0)
    for band, rate, _ in rates:
        if above <= band.lower:
            break
        top = above if band.upper is None else min(above, band.upper)
        total += rate * (top - band.lower)
    return total


def _portions(before, after, deductible, rates) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Which part of this claim's base fell into each band: (amount in band, rate, subsidy)."""
    result = []
    for band, rate, _ in rates:
        low, high = before - deductible, after - deductible
        top = high if band.upper is None else min(high, band.upper)
        part = max(ZERO, top - max(low, band.lower))
        if part > 0:
            result.append((part, rate, rate * part))
    return result


def per_diem(ctx: Context, a: Assessment, benefit: PerDiem) -> None:
    claim = a.claim
    days = max(1, (claim.discharge_date - claim.admission_date).days)
    from_day, from_since = value_at(benefit.from_day, a.period_start, f"{benefit.code}.from_day")
    rate, rate_since = value_at(benefit.rate, a.period_start, f"{benefit.code}.rate")
    payable = max(0, days - (from_day - 1))
    used = ctx.ledger.member_period(a.member.member_id, a.period).days.get(benefit.code, 0)
    limit = None
    if benefit.max_days_per_period is not None:
        limit, _ = value_at(benefit.max_days_per_period, a.period_start, f"{benefit.code}.max_days_per_period")
    paid_days = payable if limit is None else max(0, min(payable, limit - used))
    a.amount = round_fen(paid_days * rate * a.shares)
    a.days_counted = paid_days
    a.steps.append(Step("per_diem", {
        "admission": claim.admission_date, "discharge": claim.discharge_date, "days": days,
        "from_day": from_day, "payable": payable, "limit": limit, "used_before": used,
        "paid_days": paid_days, "rate": rate, "shares": a.shares, "amount": a.amount,
    }, benefit.reference, rate_since or from_since))
    if payable == 0:
        a.reason = Reason.SHORT_STAY
    elif paid_days == 0:
        a.reason = Reason.DAYS_EXHAUSTED


def lump_sum(ctx: Context, a: Assessment, benefit: LumpSum, reduced: Decimal | None) -> None:
    full, since = value_at(benefit.amount, a.period_start, f"{benefit.code}.amount")
    per_share = full if reduced is None else reduced
    a.amount = round_fen(per_share * a.shares)
    a.steps.append(Step("lump_sum", {
        "full": full, "per_share": per_share, "shares": a.shares, "amount": a.amount, "reduced": reduced is not None,
    }, benefit.reference, since))
    if reduced is not None:
        a.reason = Reason.WAITING_REDUCED
