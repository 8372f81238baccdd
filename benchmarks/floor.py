"""The I/O floor for ``claims calculate``: read and parse the same three files into typed values (the same
intake code, every row validated) and write a result CSV — one row per claim — with no calculation."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

from claims.bulk import collector_paused
from claims.intake import read_inputs
from claims.policy import read_policy
from exports.lines import CSV_COLUMNS


def main(policy: str, members: str, enrollments: str, claims: str, out: str) -> None:
    loaded = read_policy(policy)
    with collector_paused():
        inputs = read_inputs(loaded.policy, Path(members), Path(enrollments), Path(claims), date.today())
        with open(out, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            writer.writerows([c.claim_id, c.member_id, str(c.discharge_date.year), "", "", "0.00", ""]
                             for c in sorted(inputs.claims, key=lambda c: c.claim_id))


if __name__ == "__main__":
    main(*sys.argv[1:6])
