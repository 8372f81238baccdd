"""The held-out scenarios rewritten as the bureau would send them: a settlement list (SPEC §11)."""

from __future__ import annotations

import csv
from pathlib import Path

HEADER = ["setl_id", "psn_no", "psn_name", "certno", "med_type", "begndate", "enddate", "medins_lv", "dise_codg",
          "oprn_oprt_code", "medfee_sumamt", "fund_pay_sumamt", "psn_selfpay", "psn_ownpay", "bill_code", "bill_no",
          "setl_time", "refd_setl_flag"]
MED_TYPE = {"inpatient": "21", "outpatient_special": "14"}
LEVEL = {"1": "11", "2": "21", "3": "31"}  # 一级/二级/三级 甲等 … : the leading digit is the level


def read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def settlement_rows(folder: Path, diagnosis_column: bool = False) -> list[dict]:
    members = {m["member_id"]: m for m in read(folder / "members.csv")}
    rows = []
    for number, c in enumerate(read(folder / "claims.csv")):
        member = members[c["member_id"]]
        code, _, serial = c["invoice_no"].rpartition("-")
        row = {"setl_id": c["claim_id"], "psn_no": f"PSN{number:04d}", "psn_name": member["name"],
               "certno": member["id_number"], "med_type": MED_TYPE[c["event_type"]],
               "begndate": f"{c['admission_date']} 08:30:00", "enddate": f"{c['discharge_date']} 10:00:00",
               "medins_lv": LEVEL[c["hospital_level"]], "dise_codg": c["diagnoses"],
               "oprn_oprt_code": c["procedures"], "medfee_sumamt": c["total_cost"],
               "fund_pay_sumamt": c["insurance_paid"], "psn_selfpay": c["self_pay_in_scope"],
               "psn_ownpay": c["self_pay_out_of_scope"], "bill_code": code, "bill_no": serial or c["invoice_no"],
               "setl_time": f"{c['submitted_date']} 16:45:12", "refd_setl_flag": "0"}
        if diagnosis_column:
            row["diag_date"] = c["diagnosis_date"] or c["admission_date"]
        rows.append(row)
    return rows


def write(path: Path, rows: list[dict], encoding: str = "utf-8-sig") -> Path:
    header = list(rows[0]) if rows else HEADER
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def claims_without_diagnosis_date(folder: Path, out: Path) -> Path:
    """The claims form of what a settlement list can say: no diagnosis date of its own (it is the admission date)."""
    rows = read(folder / "claims.csv")
    for row in rows:
        row["diagnosis_date"] = ""
    return write(out, rows)
