"""The policy compiled once per calculation: triggers, eligibility, evaluation units (a benefit, or a
``choose: highest`` group where its first benefit stands), and every dated value resolved once per period.
What the engine does per claim is then only the rules themselves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from operator import attrgetter

from claims.engine.periods import claim_deadline, period_of, period_start
from claims.engine.values import value_at
from claims.money import ZERO
from claims.policy.patterns import CodeSet
from claims.policy.schema import BandedExpense, BenefitBase, Item, LumpSum, PerDiem, Policy


class BenefitPlan:
    """One benefit with everything the engine asks of it precomputed."""

    __slots__ = ("item", "benefit", "order", "code", "kind", "reference", "event_types", "include", "procedures",
                 "exclude", "gender", "age", "min_level", "waiting", "lump_scope", "ends_cover", "base_of", "event_date",
                 "_terms")

    def __init__(self, item: Item, item_index: int, benefit: BenefitBase, benefit_index: int):
        self.item, self.benefit, self.order = item, benefit, (item_index, benefit_index)
        self.code, self.reference = benefit.code, benefit.reference
        self.kind = {BandedExpense: "banded_expense", PerDiem: "per_diem", LumpSum: "lump_sum"}[type(benefit)]
        self.event_types = frozenset(getattr(benefit, "event_types", ()))
        lump = isinstance(benefit, LumpSum)
        self.include = CodeSet.of(benefit.diagnoses) if lump else None
        self.procedures = CodeSet.of(benefit.procedures) if lump else None
        self.exclude = CodeSet.of(benefit.exclude) if lump else None
        rules = item.benefit_eligibility(benefit)
        self.gender, self.age, self.min_level = rules.gender, rules.age, rules.min_hospital_level
        self.waiting = tuple(benefit.waiting)
        self.lump_scope = benefit.once_per if lump else None
        self.ends_cover = lump and item.ends_cover_on_payout
        self.base_of = _base_getter(benefit.base) if isinstance(benefit, BandedExpense) else None
        # lump sums count from the diagnosis date; expense and daily benefits from the discharge date
        self.event_date = attrgetter("diagnosis_date" if lump else "discharge_date")
        self._terms: dict[date, dict] = {}

    def applies(self, event_type: str, triggered: dict[str, tuple[str, str]]) -> bool:
        """SPEC §4: an expense or daily benefit applies by event type; a lump sum when a code triggers it
        (``Plan.triggered``)."""
        if self.include is None:
            return event_type in self.event_types
        return self.code in triggered

    def terms(self, start: date) -> dict:
        """Every value of this benefit in force on the period's first day (resolved once per period)."""
        found = self._terms.get(start)
        if found is None:
            found = self._terms[start] = self._resolve(start)
        return found

    def _resolve(self, start: date) -> dict:
        b, code = self.benefit, self.code
        terms: dict = {
            "waiting": [(value_at(rule.days[0], start, f"{code}.waiting.days")[0],
                         value_at(rule.days[1], start, f"{code}.waiting.days")[0],
                         *value_at(rule.amount, start, f"{code}.waiting")) for rule in self.waiting],
            "age": None if self.age is None else {
                who: tuple(value_at(limit, start, f"{code}.eligibility.age")[0] for limit in limits)
                for who, limits in self.age.items()},
            "min_level": None if self.min_level is None else {
                event: value_at(level, start, f"{code}.eligibility.min_hospital_level")[0]
                for event, level in self.min_level.items()},
        }
        if isinstance(b, BandedExpense):
            deductible, since = (value_at(b.deductible.amount, start, f"{code}.deductible") if b.deductible
                                 else (Decimal(0), None))
            bands, dates = [], [since]
            for band in b.bands:
                lower, lower_since = value_at(band.lower, start, f"{code}.bands.from")
                upper, upper_since = (None, None) if band.upper is None else value_at(band.upper, start, f"{code}.bands.to")
                rate, rate_since = value_at(band.rate, start, f"{code}.bands.rate")
                bands.append((lower, upper, rate))
                dates += [lower_since, upper_since, rate_since]
            # the latest change among the values used is the one a clerk reads out
            terms.update(deductible=deductible, per=b.deductible.per if b.deductible else "period", bands=bands,
                         effective=max((d for d in dates if d), default=None))
        elif isinstance(b, PerDiem):
            rate, rate_since = value_at(b.rate, start, f"{code}.rate")
            from_day, from_since = value_at(b.from_day, start, f"{code}.from_day")
            limit = value_at(b.max_days_per_period, start, f"{code}.max_days_per_period")[0] \
                if b.max_days_per_period is not None else None
            terms.update(rate=rate, from_day=from_day, limit=limit, effective=rate_since or from_since)
        else:
            amount, since = value_at(b.amount, start, f"{code}.amount")
            terms.update(amount=amount, effective=since)
        return terms


def _base_getter(fields: list[str]):
    """claim → the sum of its ``fields`` (a banded expense's base), started from ZERO as ``sum`` would (so the
    figure keeps at least two decimals, as in the explanation)."""
    if len(fields) == 1:
        get_one = attrgetter(fields[0])
        return lambda claim: ZERO + get_one(claim)
    get = attrgetter(*fields)
    return lambda claim: sum(get(claim), ZERO)


class ItemPlan:
    __slots__ = ("item", "code", "units", "_caps")

    def __init__(self, item: Item, item_index: int):
        self.item, self.code = item, item.code
        plans = [BenefitPlan(item, item_index, benefit, j) for j, benefit in enumerate(item.benefits)]
        self.units: list[list[BenefitPlan]] = []
        placed: set[str] = set()
        for plan in plans:
            if plan.code in placed:
                continue
            group = item.group_of(plan.code)
            unit = [plan] if group is None else [p for p in plans if p.code in item.groups[group].benefits]
            placed.update(p.code for p in unit)
            self.units.append(unit)
        self._caps: dict[date, tuple] = {}

    def cap_per_share(self, start: date) -> tuple[Decimal, date | None]:
        found = self._caps.get(start)
        if found is None:
            found = self._caps[start] = value_at(self.item.cap_per_share, start, f"{self.code}.cap_per_share")
        return found


class Plan:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.items = [ItemPlan(item, i) for i, item in enumerate(policy.items)]
        self._lumps = [plan for item in self.items for unit in item.units for plan in unit if plan.include is not None]
        self._hits: dict[tuple[str, str], tuple[BenefitPlan, ...]] = {}
        self._periods: dict[date, tuple[int, date]] = {}  # a few hundred distinct days
        self._deadlines: dict[int, date] = {}
        self._scheme_caps: dict[date, Decimal | None] = {}
        self._units: dict[tuple, list[tuple[ItemPlan, tuple[BenefitPlan, ...]]]] = {}

    def units_for(self, event_type: str, triggered: dict[str, tuple[str, str]]) -> list[tuple[ItemPlan, tuple]]:
        """The evaluation units, in evaluation order, each with only its benefits that apply to a claim of
        ``event_type`` whose codes trigger ``triggered`` (SPEC §4); worked out once per such combination."""
        key = (event_type, *triggered)
        found = self._units.get(key)
        if found is None:
            found = self._units[key] = [
                (item, applying) for item in self.items for unit in item.units
                if (applying := tuple(plan for plan in unit if plan.applies(event_type, triggered)))]
        return found

    def period(self, day: date) -> tuple[int, date]:
        """(label, first day) of the period that ``day`` falls in."""
        found = self._periods.get(day)
        if found is None:
            label = period_of(self.policy, day)
            found = self._periods[day] = (label, period_start(self.policy, label))
        return found

    def triggered(self, diagnoses: tuple[str, ...], procedures: tuple[str, ...]) -> dict[str, tuple[str, str]]:
        """Lump sums a claim's codes trigger: benefit code → (the first matching code, its kind). A diagnosis
        is looked at before any procedure (SPEC §2: one matching code not excluded is enough)."""
        found: dict[str, tuple[str, str]] = {}
        for kind, codes in (("diagnosis", diagnoses), ("procedure", procedures)):
            for code in codes:
                plans = self._hits.get((code, kind))
                if plans is None:
                    plans = self._hits[(code, kind)] = tuple(
                        p for p in self._lumps
                        if (p.include if kind == "diagnosis" else p.procedures).matches(code) and not p.exclude.matches(code))
                for plan in plans:
                    if plan.code not in found:
                        found[plan.code] = (code, kind)
        return found

    def deadline(self, label: int) -> date:
        found = self._deadlines.get(label)
        if found is None:
            found = self._deadlines[label] = claim_deadline(self.policy, label)
        return found

    def scheme_cap(self, start: date) -> Decimal | None:
        if start not in self._scheme_caps:
            cap = self.policy.scheme_cap
            self._scheme_caps[start] = None if cap is None else value_at(cap, start, "scheme_cap")[0]
        return self._scheme_caps[start]
