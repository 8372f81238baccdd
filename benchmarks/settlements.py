"""The settlement list (免申即享) at size: the synthetic claims rewritten as the bureau sends them, calculated
with ``claims calculate --settlements`` and compared line by line with ``--claims``.

    python -m benchmarks.settlements --claims 100000 [--work bench-data]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.generate import generate

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "hangzhou.yaml"
HEADER = ["setl_id", "psn_name", "certno", "med_type", "begndate", "enddate", "medins_lv", "dise_codg",
          "oprn_oprt_code", "medfee_sumamt", "fund_pay_sumamt", "psn_selfpay", "psn_ownpay", "bill_code", "bill_no",
          "setl_time", "diag_date"]
MED_TYPE = {"inpatient": "21", "outpatient_special": "14"}


def to_settlements(folder: Path) -> tuple[Path, Path]:
    """The settlement list, and the claims form of the same claims. The generator's random ID numbers now and
    then repeat; a settlement of a shared ID number is refused (which member?), so those claims are left out."""
    with (folder / "members.csv").open(encoding="utf-8-sig", newline="") as handle:
        members = {row["member_id"]: row for row in csv.DictReader(handle)}
    holders = Counter(m["id_number"] for m in members.values())
    out, claims_out = folder / "settlements.csv", folder / "claims-unique.csv"
    with (folder / "claims.csv").open(encoding="utf-8-sig", newline="") as source, \
            out.open("w", encoding="utf-8", newline="") as handle, \
            claims_out.open("w", encoding="utf-8", newline="") as claims_handle:
        reader = csv.DictReader(source)
        writer, same = csv.writer(handle), csv.DictWriter(claims_handle, reader.fieldnames)
        writer.writerow(HEADER)
        same.writeheader()
        for c in reader:
            m = members[c["member_id"]]
            if holders[m["id_number"]] > 1:
                continue
            same.writerow(c)
            writer.writerow([c["claim_id"], m["name"], m["id_number"], MED_TYPE[c["event_type"]],
                             f"{c['admission_date']} 08:00:00", f"{c['discharge_date']} 10:00:00", f"{c['hospital_level']}1",
                             c["diagnoses"], c["procedures"], c["total_cost"], c["insurance_paid"], c["self_pay_in_scope"],
                             c["self_pay_out_of_scope"], "", c["invoice_no"], f"{c['submitted_date']} 12:00:00",
                             c["diagnosis_date"] or c["admission_date"]])
    return out, claims_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-data")
    args = parser.parse_args()
    folder = args.work / f"settlements-{args.claims}"
    if not (folder / "claims.csv").exists():
        generate(args.claims, folder)
    listed, claims_form = to_settlements(folder)
    mapping = folder / "region.yaml"
    text = (ROOT / "mappings" / "settlements" / "national.yaml").read_text(encoding="utf-8")
    mapping.write_text(text.replace("fields:\n", "fields:\n  diagnosis_date: diag_date\n", 1), encoding="utf-8")
    common = [sys.executable, "-m", "claims.cli", "calculate", "--policy", POLICY, "--members", folder / "members.csv",
              "--enrollments", folder / "enrollments.csv"]
    timings = {}
    for label, extra, out in (("claims", ["--claims", claims_form], folder / "from-claims.csv"),
                              ("settlements", ["--settlements", listed, "--mapping", mapping], folder / "from-list.csv")):
        start = time.perf_counter()
        subprocess.run([*map(str, common), *map(str, extra), "--out", str(out)], check=True, capture_output=True)
        timings[label] = time.perf_counter() - start
    same = (folder / "from-claims.csv").read_bytes() == (folder / "from-list.csv").read_bytes()
    print(f"{args.claims:,} claims: --claims {timings['claims']:.1f} s, --settlements {timings['settlements']:.1f} s "
          f"({args.claims / timings['settlements']:,.0f} settlements/s); identical lines: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
