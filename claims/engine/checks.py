"""Shared steps for every benefit kind, in SPEC order: enrollment, gender, age, hospital level, cover ended,
already paid, waiting period. The first failure gives the line its reason and amount 0."""

from __future__ import annotations

from decimal import Decimal

from claims.engine.context import Assessment, Context
from claims.engine.model import Step
from claims.engine.reasons import Reason


def check(ctx: Context, a: Assessment) -> Decimal | None:
    """Run the checks; returns a reduced waiting amount per share when one applies, else None."""
    member, claim, plan = a.member, a.claim, a.plan
    item = plan.item
    cover = ctx.covers.cover(member.member_id, item.code, a.period, a.event_date)
    if cover is None:
        a.fail(Reason.NOT_ENROLLED, item=item.code, period=a.period, event_date=a.event_date)
        return None
    enrollment = cover.enrollment
    a.shares = enrollment.shares
    if a.steps is not None:
        a.steps.append(Step("enrolled", {
            "item_name": item.name, "period": a.period, "shares": a.shares,
            "start_date": enrollment.start_date, "continuous_since": cover.continuous_since,
        }, item.reference))

    if plan.gender is not None and member.gender != plan.gender:
        a.fail(Reason.INELIGIBLE_GENDER, required=plan.gender, gender=member.gender)
        return None
    terms = a.terms
    if terms["age"] is not None:
        age_range = terms["age"].get(member.gender) or terms["age"].get("any")
        age = member.age_on(a.event_date)
        if age_range is not None and not age_range[0] <= age <= age_range[1]:
            a.fail(Reason.INELIGIBLE_AGE, age=age, low=age_range[0], high=age_range[1], event_date=a.event_date,
                   period=a.period)
            return None
    if terms["min_level"] is not None:
        minimum = terms["min_level"].get(claim.event_type)
        if minimum is not None and claim.hospital_level < minimum:
            a.fail(Reason.HOSPITAL_LEVEL, level=claim.hospital_level, minimum=minimum, period=a.period)
            return None

    counts = a.counts = ctx.ledger.periods.get((member.member_id, a.period))
    if counts is not None and item.code in counts.cover_ended:
        a.fail(Reason.COVER_ENDED, item_name=item.name, period=a.period)
        return None
    if plan.lump_scope is not None:
        paid = ((counts.lump_paid if counts is not None else ()) if plan.lump_scope == "period"
                else ctx.ledger.lifetime_lump.get(member.member_id, ()))
        if plan.code in paid:
            a.fail(Reason.ALREADY_PAID, once_per=plan.lump_scope)
            return None

    if a.terms["waiting"]:
        day = cover.day_number(a.event_date)
        for first, last, amount, effective in a.terms["waiting"]:
            if first <= day <= last:
                if amount == 0:
                    a.fail(Reason.WAITING_PERIOD, day=day, first=first, last=last,
                           since=cover.continuous_since, event_date=a.event_date)
                    return None
                if a.steps is not None:
                    a.steps.append(Step("waiting_reduced", {
                        "day": day, "first": first, "last": last, "since": cover.continuous_since,
                        "per_share": amount, "shares": a.shares,
                    }, plan.reference, effective))
                return amount
    return None
