"""Continuous coverage (连续保障): which enrollment covers an event, and since when cover has run unbroken."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from operator import itemgetter
from typing import NamedTuple

from claims.engine.model import Enrollment
from claims.engine.periods import period_end, period_start
from claims.engine.values import value_at
from claims.policy.schema import Policy


class Cover(NamedTuple):
    enrollment: Enrollment
    continuous_since: date  # day 1 of any waiting period

    def day_number(self, day: date) -> int:
        return (day - self.continuous_since).days + 1


_CHAIN_ORDER = itemgetter(0, 1, 2)  # Enrollment.member_id, .item, .period


class CoverIndex:
    """Enrollments chained across consecutive periods when the gap is at most ``renewal_grace_days``:
    one sorted sweep, so each member's item chain is walked once, period by period."""

    def __init__(self, policy: Policy, enrollments: Iterable[Enrollment]):
        graces: dict[int, int] = {}  # the later period's grace, as in force on its first day
        period_ends: dict[int, date] = {}
        covers: dict[tuple[str, str, int], Cover] = {}
        previous: Cover | None = None
        for enrollment in sorted(enrollments, key=_CHAIN_ORDER):
            since = enrollment.start_date
            if previous is not None:
                before = previous.enrollment
                if (before.period == enrollment.period - 1 and before.item == enrollment.item
                        and before.member_id == enrollment.member_id):
                    end = period_ends.get(before.period)
                    if end is None:
                        end = period_ends[before.period] = period_end(policy, before.period)
                    grace = graces.get(enrollment.period)
                    if grace is None:
                        grace = graces[enrollment.period] = value_at(
                            policy.renewal_grace_days, period_start(policy, enrollment.period), "renewal_grace_days")[0]
                    if (since - end).days - 1 <= grace:
                        since = previous.continuous_since
            previous = Cover(enrollment, since)
            covers[(enrollment.member_id, enrollment.item, enrollment.period)] = previous
        self.covers = covers  # (member id, item, period) → the enrollment and since when cover is continuous

    def cover(self, member_id: str, item: str, period: int, day: date) -> Cover | None:
        """The cover in force on ``day`` (which lies in ``period``), or None."""
        cover = self.covers.get((member_id, item, period))
        if cover is None or day < cover.enrollment.start_date:
            return None
        return cover
