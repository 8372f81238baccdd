"""The naive reference for ``make bench``: the same rules as ``claims calculate``, written the obvious way.

One file, plain Python: the policy YAML read as dicts, the CSV files read with ``csv.DictReader``, money in
``Decimal``, one pass over the claims in evaluation order, no compiled plan, no explanations, no input
checks (the files are assumed valid — the generated bench data is). It writes the same contract CSV as
``claims calculate``; ``make bench`` checks that the two files are byte-identical before it compares times.

    python -m benchmarks.naive_reference POLICY MEMBERS ENROLLMENTS CLAIMS OUT

It covers the rules the bench policy uses: periods and claim deadline, duplicate invoices, continuous cover
with a renewal grace, gender and hospital level eligibility, banded expense with a per-period deductible,
per-diem with a day limit, lump sums matched by code prefix or category range with exclusions, once per
period or lifetime, waiting periods (refused or reduced), choose-highest groups, item and scheme caps. It
refuses what it does not implement (dated values, age limits, cover ending on payout) rather than guess.
"""

from __future__ import annotations

import calendar
import csv
import sys
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import yaml

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value) -> Decimal:
    if isinstance(value, (list, dict)):
        raise SystemExit("naive reference: dated policy values are not implemented")
    return Decimal(str(value))


def round_fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def period_of(policy: dict, day: date) -> int:
    start_month = policy.get("period", {}).get("start_month", 1)
    return day.year if day.month >= start_month else day.year - 1


def period_end(policy: dict, label: int) -> date:
    start_month = policy.get("period", {}).get("start_month", 1)
    return date(label + 1, start_month, 1) - timedelta(days=1)


def deadline_of(policy: dict, label: int) -> date:
    end = period_end(policy, label)
    months = end.month + policy["claim_deadline"]["months_after_period_end"]
    year, month = end.year + (months - 1) // 12, (months - 1) % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def code_matches(patterns: list, code: str) -> bool:
    for pattern in patterns:
        pattern = str(pattern).strip().upper()
        if "-" in pattern:
            low, high = (p.strip() for p in pattern.split("-", 1))
            category = code[:3] if code[:1].isalpha() else code[:2]
            if len(low) == len(category) and low <= category <= high:
                return True
        elif code.startswith(pattern):
            return True
    return False


def banded(cumulative: Decimal, deductible: Decimal, bands: list) -> Decimal:
    above = cumulative - deductible
    total = Decimal(0)
    for band in bands:
        lower = money(band["from"])
        upper = money(band["to"]) if band.get("to") is not None else None
        if above <= lower:
            break
        top = above if upper is None or above < upper else upper
        total += money(band["rate"]) * (top - lower)
    return total


def main(policy_path: str, members_path: str, enrollments_path: str, claims_path: str, out_path: str) -> None:
    with open(policy_path, encoding="utf-8") as handle:
        policy = yaml.safe_load(handle)
    grace = policy.get("renewal_grace_days", 0)
    scheme_cap = money(policy["scheme_cap"]) if policy.get("scheme_cap") is not None else None

    genders = {}
    with open(members_path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            genders[row["member_id"].strip()] = "male" if int(row["id_number"].strip()[16]) % 2 else "female"

    enrollments = {}  # (member, item, period) -> (shares, start date)
    with open(enrollments_path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["member_id"].strip(), row["item"].strip(), int(row["period"]))
            enrollments[key] = (int(row["shares"]), date.fromisoformat(row["start_date"].strip()))

    claims = []
    with open(claims_path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            admission = date.fromisoformat(row["admission_date"].strip())
            claims.append({
                "claim_id": row["claim_id"].strip(), "member_id": row["member_id"].strip(),
                "event_type": row["event_type"].strip(), "admission": admission,
                "discharge": date.fromisoformat(row["discharge_date"].strip()),
                "diagnosis": date.fromisoformat(row["diagnosis_date"].strip()) if row["diagnosis_date"].strip()
                else admission,
                "level": int(row["hospital_level"]),
                "diagnoses": [c.strip().upper() for c in row["diagnoses"].split(";") if c.strip()],
                "procedures": [c.strip().upper() for c in row["procedures"].split(";") if c.strip()],
                "expenses": {f: Decimal(row[f].strip()) for f in ("total_cost", "insurance_paid", "self_pay_in_scope",
                                                                   "self_pay_out_of_scope")},
                "invoice": row["invoice_no"].strip(), "submitted": date.fromisoformat(row["submitted_date"].strip()),
            })
    claims.sort(key=lambda c: (c["discharge"], c["claim_id"]))

    def continuous_since(member: str, item: str, period: int) -> date:
        since = enrollments[(member, item, period)][1]
        while (member, item, period - 1) in enrollments:
            gap = (since - period_end(policy, period - 1)).days - 1
            if gap > grace:
                break
            period -= 1
            since = enrollments[(member, item, period)][1]
        return since

    invoices = {}
    base_so_far, days_so_far, item_paid, total_paid, lumps_paid, lifetime_paid = {}, {}, {}, {}, set(), set()
    lines = []
    for claim in claims:
        member = claim["member_id"]
        claim_period = period_of(policy, claim["discharge"])
        refusal = None
        if claim["submitted"] > deadline_of(policy, claim_period):
            refusal = "LATE_SUBMISSION"
        elif claim["invoice"] and invoices.get(claim["invoice"], claim["claim_id"]) != claim["claim_id"]:
            refusal = "DUPLICATE_INVOICE"
        if claim["invoice"] and claim["invoice"] not in invoices:
            invoices[claim["invoice"]] = claim["claim_id"]
        if refusal:
            lines.append((claim["claim_id"], -1, -1, [claim["claim_id"], member, claim_period, "", "", ZERO, refusal]))
            continue

        for i, item in enumerate(policy["items"]):
            if item.get("ends_cover_on_payout"):
                raise SystemExit("naive reference: ends_cover_on_payout is not implemented")
            done = set()
            for benefit in item["benefits"]:
                if benefit["code"] in done:
                    continue
                group = next((g["benefits"] for g in item.get("groups", []) if benefit["code"] in g["benefits"]),
                             [benefit["code"]])
                done.update(group)
                assessed = []
                for k, other in enumerate(item["benefits"]):
                    if other["code"] not in group:
                        continue
                    result = assess(policy, item, other, claim, genders[member], enrollments, continuous_since,
                                    base_so_far, days_so_far, lumps_paid, lifetime_paid)
                    if result is not None:
                        assessed.append((k, other, *result))
                passed = [a for a in assessed if a[3] is None]
                if len(passed) >= 2:
                    best = max(passed, key=lambda a: a[4])
                    assessed = [a if a is best or a[3] is not None else (*a[:3], "NOT_CHOSEN", ZERO, None, None, None)
                                for a in assessed]
                for k, other, period, failed, amount, reason, base, days in assessed:
                    row = [claim["claim_id"], member, period, item["code"], other["code"], ZERO, failed]
                    if failed is None:
                        shares = enrollments[(member, item["code"], period)][0]
                        item_left = max(ZERO, money(item["cap_per_share"]) * shares
                                        - item_paid.get((member, period, item["code"]), ZERO))
                        paid = min(amount, item_left)
                        if scheme_cap is not None:
                            paid = min(paid, max(ZERO, scheme_cap - total_paid.get((member, period), ZERO)))
                        if paid < amount:
                            reason = "CAP_REACHED" if paid == 0 else "CAPPED"
                        row[5], row[6] = paid, reason
                        if base is not None:
                            key = (member, period, other["code"])
                            base_so_far[key] = base_so_far.get(key, ZERO) + base
                        if days is not None:
                            key = (member, period, other["code"])
                            days_so_far[key] = days_so_far.get(key, 0) + days
                        if paid > 0:
                            key = (member, period, item["code"])
                            item_paid[key] = item_paid.get(key, ZERO) + paid
                            total_paid[(member, period)] = total_paid.get((member, period), ZERO) + paid
                            if other["kind"] == "lump_sum":
                                if other.get("once_per", "period") == "period":
                                    lumps_paid.add((member, period, other["code"]))
                                else:
                                    lifetime_paid.add((member, other["code"]))
                    lines.append((claim["claim_id"], i, k, row))

    lines.sort(key=lambda line: (line[0], line[1], line[2]))
    with open(out_path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("claim_id", "member_id", "period", "item", "benefit", "amount", "reason"))
        for *_, row in lines:
            writer.writerow([row[0], row[1], str(row[2]), row[3], row[4], str(row[5].quantize(FEN)), row[6] or ""])


def assess(policy, item, benefit, claim, gender, enrollments, continuous_since, base_so_far, days_so_far,
           lumps_paid, lifetime_paid):
    """(period, failure, amount before caps, reason, base counted, days counted), or None when the benefit
    does not apply to the claim."""
    kind = benefit["kind"]
    if kind == "lump_sum":
        hit = any(code_matches(benefit.get("diagnoses", []), c) and not code_matches(benefit.get("exclude", []), c)
                  for c in claim["diagnoses"]) or any(
            code_matches(benefit.get("procedures", []), c) and not code_matches(benefit.get("exclude", []), c)
            for c in claim["procedures"])
        if not hit:
            return None
        day = claim["diagnosis"]
    else:
        if claim["event_type"] not in benefit["event_types"]:
            return None
        day = claim["discharge"]
    period = period_of(policy, day)
    member = claim["member_id"]
    enrollment = enrollments.get((member, item["code"], period))
    if enrollment is None or day < enrollment[1]:
        return period, "NOT_ENROLLED", ZERO, None, None, None
    shares = enrollment[0]
    rules = {**(item.get("eligibility") or {}), **(benefit.get("eligibility") or {})}
    if rules.get("age"):
        raise SystemExit("naive reference: age limits are not implemented")
    if rules.get("gender") and rules["gender"] != gender:
        return period, "INELIGIBLE_GENDER", ZERO, None, None, None
    minimum = (rules.get("min_hospital_level") or {}).get(claim["event_type"])
    if minimum is not None and claim["level"] < minimum:
        return period, "HOSPITAL_LEVEL", ZERO, None, None, None
    if kind == "lump_sum":
        if benefit.get("once_per", "period") == "period":
            if (member, period, benefit["code"]) in lumps_paid:
                return period, "ALREADY_PAID", ZERO, None, None, None
        elif (member, benefit["code"]) in lifetime_paid:
            return period, "ALREADY_PAID", ZERO, None, None, None
    reduced = None
    if benefit.get("waiting"):
        day_number = (day - continuous_since(member, item["code"], period)).days + 1
        for rule in benefit["waiting"]:
            first, last = rule["days"]
            if first <= day_number <= last:
                if money(rule["amount"]) == 0:
                    return period, "WAITING_PERIOD", ZERO, None, None, None
                reduced = money(rule["amount"])
                break

    if kind == "banded_expense":
        base = sum((claim["expenses"][f] for f in benefit["base"]), ZERO)
        deductible = money(benefit["deductible"]["amount"]) if benefit.get("deductible") else Decimal(0)
        per = benefit["deductible"].get("per", "period") if benefit.get("deductible") else "period"
        before = base_so_far.get((member, period, benefit["code"]), ZERO) if per == "period" else ZERO
        raw = banded(before + base, deductible, benefit["bands"]) - banded(before, deductible, benefit["bands"])
        amount = round_fen(raw) * shares
        reason = "BELOW_DEDUCTIBLE" if before + base <= deductible else ("ZERO_AMOUNT" if amount == 0 else None)
        return period, None, amount, reason, base, None
    if kind == "per_diem":
        days = max(1, (claim["discharge"] - claim["admission"]).days)
        payable = max(0, days - (int(benefit.get("from_day", 1)) - 1))
        used = days_so_far.get((member, period, benefit["code"]), 0)
        limit = benefit.get("max_days_per_period")
        paid_days = payable if limit is None else max(0, min(payable, int(limit) - used))
        amount = round_fen(paid_days * money(benefit["rate"]) * shares)
        reason = "SHORT_STAY" if payable == 0 else ("DAYS_EXHAUSTED" if paid_days == 0 else None)
        return period, None, amount, reason, None, paid_days
    amount = round_fen((money(benefit["amount"]) if reduced is None else reduced) * shares)
    return period, None, amount, None if reduced is None else "WAITING_REDUCED", None, None


if __name__ == "__main__":
    main(*sys.argv[1:6])
