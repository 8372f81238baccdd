"""Continuous coverage (连续保障): which enrollment covers an event, and since when cover has run unbroken."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
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


class CoverIndex:
    """Enrollments chained across consecutive periods when the gap is at most ``renewal_grace_days``."""

    def __init__(self, policy: Policy, enrollments: Iterable[Enrollment]):
        by_member_item: dict[tuple[str, str], list[Enrollment]] = defaultdict(list)
        for enrollment in enrollments:
            by_member_item[(enrollment.member_id, enrollment.item)].append(enrollment)
        self._covers: dict[tuple[str, str, int], Cover] = {}
        graces: dict[int, int] = {}  # the later period's grace, as in force on its first day
        for (member_id, item), chain in by_member_item.items():
            previous: Cover | None = None
            for enrollment in sorted(chain, key=lambda e: e.period):
                since = enrollment.start_date
                if previous is not None and previous.enrollment.period == enrollment.period - 1:
                    gap = (enrollment.start_date - period_end(policy, previous.enrollment.period)).days - 1
                    grace = graces.get(enrollment.period)
                    if grace is None:
                        grace = graces[enrollment.period] = value_at(
                            policy.renewal_grace_days, period_start(policy, enrollment.period), "renewal_grace_days")[0]
                    if gap <= grace:
                        since = previous.continuous_since
                previous = Cover(enrollment, since)
                self._covers[(member_id, item, enrollment.period)] = previous

    def cover(self, member_id: str, item: str, period: int, day: date) -> Cover | None:
        """The cover in force on ``day`` (which lies in ``period``), or None."""
        cover = self._covers.get((member_id, item, period))
        if cover is None or day < cover.enrollment.start_date:
            return None
        return cover
