"""Shared steps for every benefit kind, in SPEC order: enrollment, gender, age, hospital level, cover ended,
already paid, waiting period. The first failure gives the line its reason and amount 0."""

from __future__ import annotations

from decimal import Decimal

from claims.engine.context import Assessment, Context, value_at
from claims.engine.model import Step
from claims.engine.reasons import Reason
from claims.policy.schema import LumpSum


def check(ctx: Context, a: Assessment) -> Decimal | None:
    """Run the checks; returns a reduced waiting amount per share when one applies, else None."""
    member, claim, item, benefit = a.member, a.claim, a.item, a.benefit
    cover = ctx.covers.cover(member.member_id, item.code, a.period, a.event_date)
    if cover is None:
        a.fail(Reason.NOT_ENROLLED, item=item.code, period=a.period, event_date=a.event_date)
        return None
    a.shares = cover.enrollment.shares
    a.steps.append(Step("enrolled", {
        "item_name": item.name, "period": a.period, "shares": a.shares,
        "start_date": cover.enrollment.start_date, "continuous_since": cover.continuous_since,
    }, item.reference))

    rules = ctx.eligibility(item, benefit)
    if rules.gender is not None and member.gender != rules.gender:
        a.fail(Reason.INELIGIBLE_GENDER, required=rules.gender, gender=member.gender)
        return None
    if rules.age is not None:
        age_range = rules.age.get(member.gender) or rules.age.get("any")
        age = member.age_on(a.event_date)
        if age_range is not None and not age_range[0] <= age <= age_range[1]:
            a.fail(Reason.INELIGIBLE_AGE, age=age, low=age_range[0], high=age_range[1], event_date=a.event_date)
            return None
    if rules.min_hospital_level is not None:
        minimum = rules.min_hospital_level.get(claim.event_type)
        if minimum is not None and claim.hospital_level < minimum:
            a.fail(Reason.HOSPITAL_LEVEL, level=claim.hospital_level, minimum=minimum)
            return None

    period_counts = ctx.ledger.member_period(member.member_id, a.period)
    if item.code in period_counts.cover_ended:
        a.fail(Reason.COVER_ENDED, item_name=item.name, period=a.period)
        return None
    if isinstance(benefit, LumpSum):
        paid = (period_counts.lump_paid if benefit.once_per == "period"
                else ctx.ledger.lifetime_lump.get(member.member_id, ()))
        if benefit.code in paid:
            a.fail(Reason.ALREADY_PAID, once_per=benefit.once_per)
            return None

    day = cover.day_number(a.event_date)
    for rule in benefit.waiting:
        first, last = rule.days
        if first <= day <= last:
            amount, effective = value_at(rule.amount, a.period_start, f"{benefit.code}.waiting")
            if amount == 0:
                a.fail(Reason.WAITING_PERIOD, day=day, first=first, last=last,
                       since=cover.continuous_since, event_date=a.event_date)
                return None
            a.steps.append(Step("waiting_reduced", {
                "day": day, "first": first, "last": last, "since": cover.continuous_since,
                "per_share": amount, "shares": a.shares,
            }, benefit.reference, effective))
            return amount
    return None
