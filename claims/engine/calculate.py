"""The one engine function: claims + policy + ledger → result lines + ledger after. Pure: no I/O, no clock.

The stateless ``claims calculate``, a stored batch, an audit re-run and a what-if all call ``calculate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from claims.engine import benefits as kinds
from claims.engine.caps import apply_caps
from claims.engine.checks import check
from claims.engine.context import Assessment, Context
from claims.engine.coverage import CoverIndex
from claims.engine.ledger import Count, Ledger
from claims.engine.model import Calculation, Claim, Enrollment, Explanation, Member, ResultLine, Step
from claims.engine.plan import ItemPlan, Plan
from claims.engine.reasons import Reason
from claims.money import ZERO
from claims.policy.schema import Policy


def evaluation_order(claim: Claim) -> tuple:
    """SPEC §4: claims are evaluated in order of (discharge date, claim id)."""
    return (claim.discharge_date, claim.claim_id)


def calculate(
    policy: Policy,
    members: Mapping[str, Member],
    enrollments: Iterable[Enrollment],
    claims: Iterable[Claim],
    ledger: Ledger | None = None,
) -> Calculation:
    """Evaluate ``claims`` after everything already counted in ``ledger``; the input ledger is not changed."""
    ctx = Context(Plan(policy), dict(members), CoverIndex(policy, enrollments), ledger.copy() if ledger else Ledger())
    lines: list[ResultLine] = []
    for claim in sorted(claims, key=evaluation_order):
        _evaluate_claim(ctx, claim, lines)
    lines.sort(key=lambda line: (line.claim_id, line.order))
    return Calculation(tuple(lines), ctx.ledger)


def _evaluate_claim(ctx: Context, claim: Claim, lines: list[ResultLine]) -> None:
    refusal = _claim_level(ctx, claim)
    ctx.ledger.register_invoice(claim.invoice_no, claim.claim_id)
    if refusal is not None:
        period, step = refusal
        lines.append(ResultLine(claim.claim_id, claim.member_id, period, "", "", ZERO, Reason(step.code),
                                Explanation((step,))))
        return
    member = ctx.members[claim.member_id]
    triggered = ctx.plan.triggered(claim.diagnoses, claim.procedures)
    for item in ctx.plan.items:
        for unit in item.units:
            if len(unit) == 1:
                trigger = kinds.applies(unit[0], claim, triggered)
                if trigger is not None:
                    lines.append(_settle(ctx, item, _assess(ctx, claim, member, unit[0], trigger)))
                continue
            # a choose-highest group, decided where its first benefit stands in the policy
            assessments = [_assess(ctx, claim, member, plan, trigger) for plan in unit
                           if (trigger := kinds.applies(plan, claim, triggered)) is not None]
            _choose_highest(assessments)
            lines.extend(_settle(ctx, item, a) for a in assessments)


def _claim_level(ctx: Context, claim: Claim) -> tuple[int, Step] | None:
    period, _ = ctx.plan.period(claim.discharge_date)
    deadline = ctx.plan.deadline(period)
    if claim.submitted_date > deadline:
        return period, Step(Reason.LATE_SUBMISSION.value,
                            {"submitted": claim.submitted_date, "deadline": deadline, "period": period})
    holder = ctx.ledger.duplicate_of(claim.invoice_no, claim.claim_id)
    if holder is not None:
        return period, Step(Reason.DUPLICATE_INVOICE.value, {"invoice_no": claim.invoice_no, "holder": holder})
    return None


def _assess(ctx: Context, claim, member, plan, trigger: Step) -> Assessment:
    day = kinds.event_date(plan, claim)
    period, start = ctx.plan.period(day)
    a = Assessment(claim, member, plan, day, period, start, plan.terms(start), [trigger])
    reduced = check(ctx, a)
    if a.failed is None:
        if plan.lump_scope is not None:
            kinds.lump_sum(ctx, a, reduced)
        else:
            kinds.KINDS[plan.kind](ctx, a)
    return a


def _choose_highest(assessments: list[Assessment]) -> None:
    """Of the group's benefits that passed every check, the highest amount before caps goes on (ties: first)."""
    passed = [a for a in assessments if a.failed is None]
    if len(passed) < 2:
        return
    winner = max(passed, key=lambda a: a.amount)  # max keeps the first of equal amounts
    for a in passed:
        if a is not winner:
            a.fail(Reason.NOT_CHOSEN, chosen=winner.plan.code, chosen_name=winner.plan.benefit.name,
                   chosen_amount=winner.amount, own_amount=a.amount)


def _settle(ctx: Context, item: ItemPlan, a: Assessment) -> ResultLine:
    """Cap the amount, count it in the ledger, and make the result line."""
    claim, plan = a.claim, a.plan
    if a.failed is not None:
        return ResultLine(claim.claim_id, claim.member_id, a.period, item.code, plan.code, ZERO, a.failed,
                          Explanation(tuple(a.steps)), plan.order)
    paid, reason, caps = apply_caps(ctx, a, item, ctx.ledger.periods.get((claim.member_id, a.period)))
    count = Count(claim.member_id, a.period, item.code, plan.code, paid, a.base_counted, a.days_counted,
                  plan.lump_scope, plan.ends_cover)
    ctx.ledger.record(count)
    if paid > 0 and plan.ends_cover:
        a.steps.append(Step("cover_ends", {"item_name": item.item.name, "period": a.period}, item.item.reference))
    return ResultLine(claim.claim_id, claim.member_id, a.period, item.code, plan.code, paid, reason,
                      Explanation(tuple(a.steps), *caps), plan.order, count)
