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
from claims.engine.periods import claim_deadline
from claims.engine.reasons import Reason
from claims.money import ZERO
from claims.policy.patterns import CodeSet
from claims.policy.schema import BandedExpense, Item, LumpSum, PerDiem, Policy


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
    ctx = Context(policy, dict(members), CoverIndex(policy, enrollments), ledger.copy() if ledger else Ledger())
    code_sets = {
        benefit.code: (CodeSet.of(benefit.diagnoses), CodeSet.of(benefit.procedures), CodeSet.of(benefit.exclude))
        for item in policy.items for benefit in item.benefits if isinstance(benefit, LumpSum)
    }
    lines: list[ResultLine] = []
    for claim in sorted(claims, key=evaluation_order):
        lines.extend(_evaluate_claim(ctx, claim, code_sets))
    lines.sort(key=lambda line: (line.claim_id, line.order))
    return Calculation(tuple(lines), ctx.ledger)


def _evaluate_claim(ctx: Context, claim: Claim, code_sets) -> list[ResultLine]:
    member = ctx.members[claim.member_id]
    refusal = _claim_level(ctx, claim)
    ctx.ledger.register_invoice(claim.invoice_no, claim.claim_id)
    if refusal is not None:
        period, step = refusal
        return [ResultLine(claim.claim_id, claim.member_id, period, "", "", ZERO, Reason(step.code),
                           Explanation((step,)))]
    lines: list[ResultLine] = []
    for item_index, item in enumerate(ctx.policy.items):
        lines.extend(_evaluate_item(ctx, claim, member, item, item_index, code_sets))
    return lines


def _claim_level(ctx: Context, claim: Claim) -> tuple[int, Step] | None:
    period, _ = ctx.period(claim.discharge_date)
    deadline = claim_deadline(ctx.policy, period)
    if claim.submitted_date > deadline:
        return period, Step(Reason.LATE_SUBMISSION.value,
                            {"submitted": claim.submitted_date, "deadline": deadline, "period": period})
    holder = ctx.ledger.duplicate_of(claim.invoice_no, claim.claim_id)
    if holder is not None:
        return period, Step(Reason.DUPLICATE_INVOICE.value, {"invoice_no": claim.invoice_no, "holder": holder})
    return None


def _evaluate_item(ctx, claim, member, item: Item, item_index: int, code_sets) -> list[ResultLine]:
    """Benefits in policy order; a ``choose: highest`` group is decided where its first benefit stands."""
    lines: list[ResultLine] = []
    decided: set[str] = set()
    for benefit_index, benefit in enumerate(item.benefits):
        if benefit.code in decided:
            continue
        group = item.group_of(benefit.code)
        if group is None:
            members_ = [(benefit_index, benefit)]
        else:
            names = set(item.groups[group].benefits)
            members_ = [(j, b) for j, b in enumerate(item.benefits) if b.code in names]
        decided.update(b.code for _, b in members_)
        assessments = []
        for j, candidate in members_:
            trigger = kinds.applies(candidate, claim, code_sets)
            if trigger is not None:
                assessments.append(_assess(ctx, claim, member, item, (item_index, j), candidate, trigger))
        if group is not None:
            _choose_highest(assessments)
        lines.extend(_settle(ctx, a) for a in assessments)
    return lines


def _assess(ctx: Context, claim, member, item, order, benefit, trigger: Step) -> Assessment:
    day = kinds.event_date(benefit, claim)
    period, start = ctx.period(day)
    a = Assessment(claim, member, item, benefit, order, day, period, start, [trigger])
    reduced = check(ctx, a)
    if a.failed is not None:
        return a
    if isinstance(benefit, BandedExpense):
        kinds.banded_expense(ctx, a, benefit)
    elif isinstance(benefit, PerDiem):
        kinds.per_diem(ctx, a, benefit)
    else:
        kinds.lump_sum(ctx, a, benefit, reduced)
    return a


def _choose_highest(assessments: list[Assessment]) -> None:
    """Of the group's benefits that passed every check, the highest amount before caps goes on (ties: first)."""
    passed = [a for a in assessments if a.failed is None]
    if len(passed) < 2:
        return
    winner = max(passed, key=lambda a: a.amount)  # max keeps the first of equal amounts
    for a in passed:
        if a is not winner:
            a.fail(Reason.NOT_CHOSEN, chosen=winner.benefit.code, chosen_name=winner.benefit.name,
                   chosen_amount=winner.amount, own_amount=a.amount)


def _settle(ctx: Context, a: Assessment) -> ResultLine:
    """Cap the amount, count it in the ledger, and make the result line."""
    claim = a.claim
    if a.failed is not None:
        return ResultLine(claim.claim_id, claim.member_id, a.period, a.item.code, a.benefit.code, ZERO, a.failed,
                          Explanation(tuple(a.steps)), a.order)
    counts = ctx.ledger.member_period(claim.member_id, a.period)
    paid, reason, caps = apply_caps(ctx, a, counts)
    count = counted(a, paid)
    ctx.ledger.record(count)
    if paid > 0 and count.ends_cover:
        a.steps.append(Step("cover_ends", {"item_name": a.item.name, "period": a.period}, a.item.reference))
    return ResultLine(claim.claim_id, claim.member_id, a.period, a.item.code, a.benefit.code, paid, reason,
                      Explanation(tuple(a.steps), **caps), a.order, count)


def counted(a: Assessment, paid) -> Count:
    lump = isinstance(a.benefit, LumpSum)
    return Count(a.claim.member_id, a.period, a.item.code, a.benefit.code, paid, a.base_counted, a.days_counted,
                 a.benefit.once_per if lump else None, lump and a.item.ends_cover_on_payout)
