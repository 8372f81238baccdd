"""The one engine function: claims + policy + ledger → result lines + ledger after. Pure: no I/O, no clock.

The stateless ``claims calculate``, a stored batch, an audit re-run and a what-if all call ``calculate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import itemgetter

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

_EVALUATION_ORDER = itemgetter(4, 0)  # Claim.discharge_date, Claim.claim_id
_POLICY_ORDER = itemgetter(8)  # ResultLine.order


def evaluation_order(claim: Claim) -> tuple:
    """SPEC §4: claims are evaluated in order of (discharge date, claim id)."""
    return (claim.discharge_date, claim.claim_id)


def calculate(
    policy: Policy,
    members: Mapping[str, Member],
    enrollments: Iterable[Enrollment],
    claims: Iterable[Claim],
    ledger: Ledger | None = None,
    explain: bool = True,
) -> Calculation:
    """Evaluate ``claims`` after everything already counted in ``ledger``; the input ledger is not changed.

    With ``explain=False`` the lines carry no explanation (``explanation`` is None) and the engine builds no
    step at all: the amounts, reasons and ledger are the same, and calling again with ``explain=True`` on
    the same inputs gives every explanation exactly (the contract CSV prints none, so it does not pay for
    them)."""
    ctx = Context(Plan(policy), dict(members), CoverIndex(policy, enrollments), ledger.copy() if ledger else Ledger(),
                  explain)
    by_claim: dict[str, list[ResultLine]] = {}
    for claim in sorted(claims, key=_EVALUATION_ORDER):
        claim_lines = by_claim.get(claim.claim_id)
        if claim_lines is None:
            claim_lines = by_claim[claim.claim_id] = []
        _evaluate_claim(ctx, claim, claim_lines)
    lines: list[ResultLine] = []
    for claim_id in sorted(by_claim):  # output order: claim id, then the benefit's place in the policy
        claim_lines = by_claim[claim_id]
        if len(claim_lines) > 1:
            claim_lines.sort(key=_POLICY_ORDER)
        lines.extend(claim_lines)
    return Calculation(tuple(lines), ctx.ledger)


def _evaluate_claim(ctx: Context, claim: Claim, lines: list[ResultLine]) -> None:
    refusal = _claim_level(ctx, claim)
    ctx.ledger.register_invoice(claim.invoice_no, claim.claim_id)
    if refusal is not None:
        period, reason, values = refusal
        explanation = Explanation((Step(reason.value, values),)) if ctx.explain else None
        lines.append(ResultLine(claim.claim_id, claim.member_id, period, "", "", ZERO, reason, explanation))
        return
    member = ctx.members[claim.member_id]
    triggered = ctx.plan.triggered(claim.diagnoses, claim.procedures)
    for item, unit in ctx.plan.units_for(claim.event_type, triggered):
        if len(unit) == 1:
            lines.append(_settle(ctx, item, _assess(ctx, claim, member, unit[0], triggered)))
            continue
        # a choose-highest group, decided where its first benefit stands in the policy
        assessments = [_assess(ctx, claim, member, plan, triggered) for plan in unit]
        _choose_highest(assessments)
        lines.extend(_settle(ctx, item, a) for a in assessments)


def _claim_level(ctx: Context, claim: Claim) -> tuple[int, Reason, dict] | None:
    """A refusal of the whole claim: (period, reason, the values its explanation shows), or None."""
    period, _ = ctx.plan.period(claim.discharge_date)
    deadline = ctx.plan.deadline(period)
    if claim.submitted_date > deadline:
        return period, Reason.LATE_SUBMISSION, {"submitted": claim.submitted_date, "deadline": deadline,
                                                "period": period}
    holder = ctx.ledger.duplicate_of(claim.invoice_no, claim.claim_id)
    if holder is not None:
        return period, Reason.DUPLICATE_INVOICE, {"invoice_no": claim.invoice_no, "holder": holder}
    return None


def _assess(ctx: Context, claim, member, plan, triggered: dict) -> Assessment:
    day = plan.event_date(claim)
    period, start = ctx.plan.period(day)
    steps = [kinds.trigger_step(plan, claim, triggered)] if ctx.explain else None
    a = Assessment(claim, member, plan, day, period, start, plan.terms(start), steps)
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
                          None if a.steps is None else Explanation(tuple(a.steps)), plan.order)
    counts = a.counts if a.counts is not None else ctx.ledger.periods.get((claim.member_id, a.period))
    paid, reason, caps = apply_caps(ctx, a, item, counts)
    count = Count(claim.member_id, a.period, item.code, plan.code, paid, a.base_counted, a.days_counted,
                  plan.lump_scope, plan.ends_cover)
    ctx.ledger.record(count, counts)
    if a.steps is None:
        return ResultLine(claim.claim_id, claim.member_id, a.period, item.code, plan.code, paid, reason, None,
                          plan.order, count)
    if paid > 0 and plan.ends_cover:
        a.steps.append(Step("cover_ends", {"item_name": item.item.name, "period": a.period}, item.item.reference))
    return ResultLine(claim.claim_id, claim.member_id, a.period, item.code, plan.code, paid, reason,
                      Explanation(tuple(a.steps), *caps), plan.order, count)
