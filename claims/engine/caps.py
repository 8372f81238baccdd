"""Item and scheme caps per member and period: a line is cut to what remains of both."""

from __future__ import annotations

from decimal import Decimal

from claims.engine.context import Assessment, Context, value_at
from claims.engine.ledger import MemberPeriod
from claims.engine.model import Step
from claims.engine.reasons import Reason


def apply_caps(ctx: Context, a: Assessment, counts: MemberPeriod) -> tuple[Decimal, Reason | None, dict]:
    """The paid amount, its reason, and the caps before and after (for the explanation)."""
    cap_per_share, cap_since = value_at(a.item.cap_per_share, a.period_start, f"{a.item.code}.cap_per_share")
    item_cap = cap_per_share * a.shares
    item_left = max(Decimal("0.00"), item_cap - counts.item_paid.get(a.item.code, Decimal("0.00")))
    scheme_left = None
    if ctx.policy.scheme_cap is not None:
        scheme_cap, _ = value_at(ctx.policy.scheme_cap, a.period_start, "scheme_cap")
        scheme_left = max(Decimal("0.00"), scheme_cap - counts.total_paid)
    paid = min(a.amount, item_left) if scheme_left is None else min(a.amount, item_left, scheme_left)
    reason = a.reason
    if paid < a.amount:
        reason = Reason.CAP_REACHED if paid == 0 else Reason.CAPPED
        which = "scheme" if scheme_left is not None and scheme_left < item_left else "item"
        a.steps.append(Step("capped", {
            "which": which, "before_cap": a.amount, "paid": paid, "item_cap": item_cap, "item_left": item_left,
            "scheme_left": scheme_left, "item_name": a.item.name,
        }, a.item.reference, cap_since))
    caps = {
        "item_cap_before": item_left, "item_cap_after": item_left - paid,
        "scheme_cap_before": scheme_left, "scheme_cap_after": None if scheme_left is None else scheme_left - paid,
    }
    return paid, reason, caps
