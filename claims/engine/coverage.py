"""Continuous coverage (连续保障): which enrollment covers an event, and since when cover has run unbroken."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

from claims.engine.model import Enrollment
from claims.engine.periods import period_end
from claims.policy.schema import Policy

_UNKNOWN = object()


class Cover(NamedTuple):
    enrollment: Enrollment
    continuous_since: date  # day 1 of any waiting period

    def day_number(self, day: date) -> int:
        return (day - self.continuous_since).days + 1


class CoverIndex:
    """Enrollments chained across consecutive periods when the gap is at most ``renewal_grace_days``.

    A member's chain is followed only when one of their claims asks for it (most enrolled members claim
    nothing), and each link is worked out once."""

    def __init__(self, policy: Policy, enrollments: Iterable[Enrollment]):
        self._policy = policy
        self._grace = policy.renewal_grace_days
        self._enrollments = {(e.member_id, e.item, e.period): e for e in enrollments}
        self._covers: dict[tuple[str, str, int], Cover | None] = {}
        self._period_ends: dict[int, date] = {}

    def cover(self, member_id: str, item: str, period: int, day: date) -> Cover | None:
        """The cover in force on ``day`` (which lies in ``period``), or None."""
        cover = self._cover((member_id, item, period))
        if cover is None or day < cover.enrollment.start_date:
            return None
        return cover

    def _cover(self, key: tuple[str, str, int]) -> Cover | None:
        cover = self._covers.get(key, _UNKNOWN)
        if cover is not _UNKNOWN:
            return cover
        enrollment = self._enrollments.get(key)
        cover = None
        if enrollment is not None:
            since = enrollment.start_date
            previous = self._cover((key[0], key[1], key[2] - 1))
            if previous is not None and (since - self._period_end(key[2] - 1)).days - 1 <= self._grace:
                since = previous.continuous_since
            cover = Cover(enrollment, since)
        self._covers[key] = cover
        return cover

    def _period_end(self, label: int) -> date:
        found = self._period_ends.get(label)
        if found is None:
            found = self._period_ends[label] = period_end(self._policy, label)
        return found
