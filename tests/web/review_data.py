"""A period of claims for the review pages: 30 members in three units, 120 claims of varied amounts, a
few submitted after the deadline (flagged) — written as the CSV files a clerk imports."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

from stdnum.cn import ric

UNITS = ("杭州市第一人民医院工会", "杭州钢铁集团工会", "西湖区教育局工会")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"


def id_number(n: int) -> str:
    body = f"330102{1970 + n % 30:04d}{1 + n % 12:02d}{1 + n % 28:02d}{100 + n:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum takes the whole number, check digit ignored


def write_period(folder: Path, members: int = 30, claims: int = 120, late_every: int = 10) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "members.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["member_id", "name", "id_number", "unit", "bank_name", "bank_account", "phone"])
        for n in range(members):
            out.writerow([f"M{n:03d}", SURNAMES[n % len(SURNAMES)] + "某" + "甲乙丙"[n % 3], id_number(n), UNITS[n % 3],
                          "中国工商银行杭州分行", f"62226384390{n:05d}", f"1380000{n:04d}"])
    with open(folder / "enrollments.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["member_id", "item", "period", "shares", "start_date"])
        for n in range(members):
            for period in (2024, 2025):
                out.writerow([f"M{n:03d}", "medical", period, 1, f"{period}-01-01"])
    with open(folder / "claims.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["claim_id", "member_id", "event_type", "admission_date", "discharge_date", "diagnosis_date",
                      "hospital_level", "diagnoses", "procedures", "total_cost", "insurance_paid", "self_pay_in_scope",
                      "self_pay_out_of_scope", "invoice_no", "submitted_date"])
        for n in range(claims):
            admitted = date(2025, 1, 5) + timedelta(days=(n * 3) % 330)
            discharged = admitted + timedelta(days=5)
            in_scope = 1500 + (n * 977) % 30000
            submitted = date(2026, 6, 1) if n % late_every == 7 else discharged + timedelta(days=10)
            out.writerow([f"C{n:04d}", f"M{n % members:03d}", "inpatient", admitted, discharged, "", 3, "I10", "",
                          f"{in_scope * 4 + 88}.00", f"{in_scope * 3}.00", f"{in_scope}.00", "88.00", f"INV-{n}", submitted])
    return folder
