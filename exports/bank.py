"""The bank transfer file: one row per member with an account — account, name, amount, memo.

Members without an account are not in the file; they are returned so the command lists them (and the
payout workbook shows them on its own sheet): nothing is dropped silently."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from claims.money import ZERO, fmt
from claims.workflow.payouts import PayoutClaim, PayoutData
from exports.safety import atomic_output, csv_text

HEADER = ["收款账号", "收款户名", "金额", "附言"]  # account, name, amount, memo


def write_bank_file(data: PayoutData, out: str | Path) -> tuple[int, Decimal, list[PayoutClaim]]:
    """Returns (rows written, control total, claims left out for want of an account)."""
    per_member: dict[str, list[PayoutClaim]] = defaultdict(list)
    without = []
    for claim in data.claims:
        if claim.total <= 0:
            continue
        if claim.has_account:
            per_member[claim.member.member_id].append(claim)
        else:
            without.append(claim)
    total, rows = ZERO, 0
    with atomic_output(out) as temporary, Path(temporary).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(HEADER)
        for claims in per_member.values():
            member = claims[0].member
            amount = sum((c.total for c in claims), ZERO)
            memo = f"职工互助补助 批次{data.batch.id} 申请{'、'.join(c.claim.claim_id for c in claims)}"
            writer.writerow([csv_text(member.bank_account), csv_text(member.name), fmt(amount), csv_text(memo)])
            total += amount
            rows += 1
    return rows, total, without
