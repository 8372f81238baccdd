"""Mutual-aid periods (互助期): which period a day falls in, its first and last day, its claim deadline."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from claims.engine.values import value_at
from claims.policy.schema import Policy


def period_of(policy: Policy, day: date) -> int:
    """The period's label: the year in which the period starts."""
    start_month = policy.period.start_month
    return day.year if day.month >= start_month else day.year - 1


def period_start(policy: Policy, label: int) -> date:
    return date(label, policy.period.start_month, 1)


def period_end(policy: Policy, label: int) -> date:
    return period_start(policy, label + 1) - timedelta(days=1)


def claim_deadline(policy: Policy, label: int) -> date:
    """Last day of the month that lies ``months_after_period_end`` months after the period's last month."""
    end = period_end(policy, label)
    after = value_at(policy.claim_deadline.months_after_period_end, period_start(policy, label), "claim_deadline")[0]
    months = end.month + after
    year, month = end.year + (months - 1) // 12, (months - 1) % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])
