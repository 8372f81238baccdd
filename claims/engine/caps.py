"""Item and scheme caps per member and period: a line is cut to what remains of both."""

from __future__ import annotations

from decimal import Decimal

from claims.engine.context import Assessment, Context
from claims.engine.ledger import MemberPeriod
from claims.engine.model import Step
from claims.engine.plan import ItemPlan
from claims.engine.reasons import Reason

ZERO = Decimal("0.00")


def apply_caps(ctx: Context, a: Assessment, item: ItemPlan, counts: MemberPeriod | None) -> tuple[Decimal, Reason | None, tuple | None]:
    """The paid amount, its reason, and the caps before and after (for the explanation; None without one)."""
    cap_per_share, cap_since = item.cap_per_share(a.period_start)
    item_cap = cap_per_share * a.shares
    item_left = item_cap - (counts.item_paid.get(item.code, ZERO) if counts is not None else ZERO)  # keeps fen
    if item_left < 0:
        item_left = ZERO
    scheme_left = None
    scheme_cap = ctx.plan.scheme_cap(a.period_start)
    if scheme_cap is not None:
        scheme_left = max(ZERO, scheme_cap - (counts.total_paid if counts is not None else ZERO))
    paid = min(a.amount, item_left) if scheme_left is None else min(a.amount, item_left, scheme_left)
    reason = a.reason
    if paid < a.amount:
        reason = Reason.CAP_REACHED if paid == 0 else Reason.CAPPED
        if a.steps is not None:
            which = "scheme" if scheme_left is not None and scheme_left < item_left else "item"
            a.steps.append(Step("capped", {
                "which": which, "before_cap": a.amount, "paid": paid, "item_cap": item_cap, "item_left": item_left,
                "scheme_left": scheme_left, "item_name": item.item.name,
            }, item.item.reference, cap_since))
    if a.steps is None:
        return paid, reason, None
    caps = (item_left, item_left - paid, scheme_left, None if scheme_left is None else scheme_left - paid)
    return paid, reason, caps
