"""Deterministic synthetic data at any size: members across units, enrollments over two periods with new
joiners and lapses, and a year of claims of every kind with realistic amounts, stays and diagnoses.

    python -m benchmarks.generate --claims 200000 --out /tmp/bench [--xlsx]

The same arguments always give the same files (a seeded random generator, no clock)."""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

from stdnum.cn import ric

REGIONS = ("330102", "330105", "330106", "330108", "330109", "330110", "330122", "330127")
ORDINARY = ("I10", "J18.9", "K35.8", "S72.0", "E11.9", "K80.2", "J44.1", "N20.0", "I20.0", "M17.1", "O80.0")
CRITICAL = ("C34.1", "C16.9", "C18.7", "C22.0", "I21.0", "I63.9", "N18.0", "G35", "C50.9", "C44.3", "D61")
IN_SITU = ("D05.1", "D06.9", "D07.1", "D02.2", "D09.0")
WOMEN = ("C53.9", "C54.1", "C56", "C50.4", "N80.0", "D25.9")
PROCEDURES = ("", "", "", "47.09", "51.23", "79.35", "36.06", "68.49", "68.41", "55.69", "85.43")
MEMBER_HEADER = ["member_id", "name", "id_number", "unit", "bank_name", "bank_account", "phone"]
ENROLLMENT_HEADER = ["member_id", "item", "period", "shares", "start_date"]
CLAIM_HEADER = ["claim_id", "member_id", "event_type", "admission_date", "discharge_date", "diagnosis_date",
                "hospital_level", "diagnoses", "procedures", "total_cost", "insurance_paid", "self_pay_in_scope",
                "self_pay_out_of_scope", "invoice_no", "submitted_date"]


def _id_number(rng: random.Random, female: bool) -> str:
    birth = date(rng.randint(1966, 2003), rng.randint(1, 12), rng.randint(1, 28))
    sequence = rng.randrange(0, 100) * 10 + rng.choice((0, 2, 4, 6, 8) if female else (1, 3, 5, 7, 9))
    base = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{sequence:03d}"
    return base + ric.calc_check_digit(base + "0")


def _money(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def generate(claims: int, out: Path, seed: int = 7) -> dict[str, Path]:
    """Write members.csv, enrollments.csv and claims.csv for ``claims`` claims of 2025 into ``out``."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    member_count = max(10, claims * 2 // 3)
    units = max(3, member_count // 250)
    paths = {name: out / f"{name}.csv" for name in ("members", "enrollments", "claims")}
    female: list[bool] = []
    covered: list[bool] = []
    with paths["members"].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MEMBER_HEADER)
        for index in range(member_count):
            is_female = rng.random() < 0.48
            female.append(is_female)
            account = f"62{rng.randrange(10 ** 15, 10 ** 16)}" if rng.random() > 0.01 else ""
            writer.writerow([f"M{index:07d}", f"会员{index}", _id_number(rng, is_female), f"第{index % units:04d}基层工会",
                             "中国工商银行杭州分行" if account else "", account, f"13{rng.randrange(10 ** 8, 10 ** 9)}"])
    with paths["enrollments"].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ENROLLMENT_HEADER)
        for index in range(member_count):
            roll = rng.random()
            joined_2024, in_2025 = roll > 0.08, roll < 0.95  # 8% joined in 2025, 5% lapsed after 2024
            start_2025 = date(2025, 1, 1) if joined_2024 else date(2025, rng.randint(1, 9), 1)
            covered.append(in_2025)
            items = ("medical", "critical", "women") if female[index] else ("medical", "critical")
            for item in items:
                if joined_2024:
                    writer.writerow([f"M{index:07d}", item, 2024, 1, "2024-01-01"])
                if in_2025:
                    writer.writerow([f"M{index:07d}", item, 2025, 1, start_2025.isoformat()])
    with paths["claims"].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CLAIM_HEADER)
        for number in range(claims):
            member = rng.randrange(member_count)
            roll = rng.random()
            event_type = "outpatient_special" if roll < 0.12 else "inpatient"
            if roll < 0.62:
                diagnoses = rng.choice(ORDINARY)
            elif roll < 0.85:
                diagnoses = rng.choice(CRITICAL)
            elif roll < 0.92:
                diagnoses = rng.choice(IN_SITU)
            else:
                diagnoses = rng.choice(WOMEN if female[member] else ORDINARY)
            if rng.random() < 0.1:
                diagnoses += ";" + rng.choice(ORDINARY)
            admission = date(2025, 1, 1) + timedelta(days=rng.randrange(0, 350))
            nights = 0 if event_type == "outpatient_special" else min(int(rng.expovariate(1 / 9)), 120)
            discharge = admission + timedelta(days=nights)
            in_scope = int(rng.lognormvariate(8.6, 1.0) * 100)
            out_scope = int(in_scope * rng.uniform(0.02, 0.3))
            insurance = int(in_scope * rng.uniform(1.5, 4.0))
            late = rng.random() < 0.005
            submitted = date(2026, 4, 15) if late else discharge + timedelta(days=rng.randint(5, 60))
            invoice = f"INV{rng.randrange(claims):08d}" if rng.random() < 0.002 else f"INV{number:08d}"
            writer.writerow([f"C{number:08d}", f"M{member:07d}", event_type, admission.isoformat(), discharge.isoformat(),
                             "", rng.choice((1, 2, 2, 3, 3, 3)), diagnoses, rng.choice(PROCEDURES),
                             _money(insurance + in_scope + out_scope), _money(insurance), _money(in_scope),
                             _money(out_scope), invoice, min(submitted, date(2026, 4, 15)).isoformat()])
    return paths


def to_xlsx(csv_path: Path, xlsx_path: Path) -> Path:
    """The same rows as an XLSX sheet (text cells), as a grassroots union would send them."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    book.save(xlsx_path)
    return xlsx_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("bench-data"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    paths = generate(args.claims, args.out, args.seed)
    print(f"written: {', '.join(str(p) for p in paths.values())}")


if __name__ == "__main__":
    main()
