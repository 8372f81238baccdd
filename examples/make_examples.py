"""Writes the sample in examples/: four grassroots units, three dozen members, a season of claims in 2025
touching every benefit kind, with several refusals. Deterministic: run it again, get the same files.

    .venv/bin/python examples/make_examples.py
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from stdnum.cn import ric

HERE = Path(__file__).resolve().parent
UNITS = ["杭州市第一人民医院工会", "杭州某科技有限公司工会", "西湖区文新街道工会", "杭州公交集团第三分公司工会"]
REGIONS = ["330102", "330105", "330106", "330108", "330109", "330110"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN_F = ["丽", "静", "敏", "芳", "娟", "秀英", "晓燕", "雪梅", "玉兰", "佳怡", "欣怡", "海燕"]
GIVEN_M = ["伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "建华", "志强", "国平"]
BANKS = ["中国工商银行杭州分行", "中国建设银行杭州分行", "中国农业银行杭州分行", "招商银行杭州分行", "杭州银行"]


def id_number(rng: random.Random, birth: date, female: bool) -> str:
    sequence = rng.randrange(0, 100) * 10 + (rng.choice([0, 2, 4, 6, 8]) if female else rng.choice([1, 3, 5, 7, 9]))
    base = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{sequence:03d}"
    return base + ric.calc_check_digit(base + "0")


def members(rng: random.Random) -> list[dict]:
    out = []
    for index in range(36):
        female = index % 2 == 0
        birth = date(rng.randint(1966, 2000), rng.randint(1, 12), rng.randint(1, 28))
        has_account = index not in (7, 22)  # two members have not given an account yet
        out.append({
            "会员编号": f"HZ{2001 + index}",
            "姓名": rng.choice(SURNAMES) + rng.choice(GIVEN_F if female else GIVEN_M),
            "身份证号": id_number(rng, birth, female),
            "单位": UNITS[index % 4],
            "开户行": rng.choice(BANKS) if has_account else "",
            "银行账号": f"62{rng.randrange(10 ** 13, 10 ** 14)}{index:02d}" if has_account else "",
            "手机号": f"13{rng.randrange(10 ** 8, 10 ** 9)}",
            "_female": female,
        })
    return out


def enrollments(people: list[dict]) -> list[dict]:
    out = []
    for index, person in enumerate(people):
        new_joiner = index in (5, 14, 27, 30)  # joined in 2025: waiting periods apply
        items = ["medical", "critical"] + (["women"] if person["_female"] else [])
        for period in (2024, 2025):
            if new_joiner and period == 2024:
                continue
            start = date(2025, 3, 1) if new_joiner else date(period, 1, 1)
            for item in items:
                if index == 33 and item == "critical":
                    continue  # one member never took the critical-illness item
                out.append({"会员编号": person["会员编号"], "保障项目": item, "互助期": period, "份数": 1,
                            "保障起始日": start})
    return out


# (member index, event type, admission month/day, nights, level, diagnoses, procedures, in-scope self-pay range)
TEMPLATES = [
    (0, "住院", (2, 3), 14, 3, "C50.9", "85.43", (15000, 22000)),
    (0, "规定病种门诊", (4, 10), 0, 3, "C50.9", "", (2500, 4000)),
    (1, "住院", (3, 5), 7, 2, "I21.0", "36.06", (8000, 12000)),
    (2, "住院", (5, 1), 3, 2, "K35.8", "47.09", (600, 900)),
    (3, "住院", (6, 10), 3, 1, "J18.9", "", (1200, 2000)),
    (4, "住院", (4, 20), 12, 3, "N80.0", "68.49", (5000, 8000)),
    (5, "住院", (4, 2), 9, 3, "C53.9", "68.6", (9000, 14000)),  # new joiner: day 33 of cover
    (6, "住院", (7, 1), 50, 3, "C34.1;C44.3", "32.41", (55000, 70000)),
    (7, "住院", (3, 15), 3, 3, "I63.9", "", (2400, 3200)),  # no bank account
    (8, "住院", (3, 15), 3, 3, "D06.9", "67.2", (2400, 3200)),
    (9, "住院", (9, 2), 7, 3, "I63.9", "", (6500, 8000)),
    (9, "住院", (9, 2), 7, 3, "I63.9", "", (6500, 8000)),  # the same invoice sent twice
    (10, "住院", (10, 12), 3, 2, "O80.0", "", (800, 1000)),
    (11, "住院", (11, 20), 12, 3, "I50.0", "", (4800, 5600)),  # submitted after the deadline
    (12, "住院", (1, 8), 95, 3, "C16.9", "43.7", (40000, 52000)),
    (12, "住院", (6, 2), 20, 3, "C16.9", "", (9000, 12000)),  # days run out at 100
    (13, "住院", (2, 18), 4, 2, "S72.0", "79.35", (3000, 5000)),
    (14, "住院", (5, 6), 6, 3, "D05.1", "85.21", (4000, 6000)),  # new joiner, in situ within 90 days
    (15, "规定病种门诊", (3, 1), 0, 2, "N18.0", "", (5000, 7000)),
    (15, "规定病种门诊", (6, 1), 0, 2, "N18.0", "", (5000, 7000)),
    (16, "住院", (7, 14), 10, 3, "D25.9", "68.41", (6000, 9000)),
    (17, "住院", (8, 8), 5, 2, "E11.9", "", (1500, 2500)),
    (18, "住院", (2, 25), 16, 3, "C56", "65.61", (16000, 24000)),
    (19, "住院", (3, 3), 8, 3, "G35", "", (7000, 9000)),
    (20, "住院", (9, 9), 2, 3, "C50.1", "", (2000, 3000)),
    (21, "住院", (4, 4), 6, 3, "I10", "", (1800, 2600)),
    (22, "住院", (5, 20), 10, 3, "C18.7", "45.73", (12000, 16000)),  # no bank account
    (23, "住院", (6, 6), 4, 3, "K80.2", "51.23", (3500, 4500)),
    (24, "住院", (7, 7), 21, 3, "C54.1", "68.49", (14000, 18000)),
    (25, "住院", (8, 18), 3, 2, "J44.1", "", (1100, 1600)),
    (26, "住院", (10, 2), 12, 3, "C73", "06.4", (8000, 10000)),
    (27, "住院", (4, 15), 5, 3, "C61", "60.5", (9000, 12000)),  # new joiner, in waiting
    (28, "住院", (9, 20), 8, 3, "D07.1", "", (3000, 4500)),
    (30, "住院", (10, 28), 6, 3, "C50.4", "85.41", (11000, 15000)),  # new joiner, after waiting
    (31, "住院", (3, 30), 4, 2, "I20.0", "", (2500, 3500)),
    (33, "住院", (5, 5), 9, 3, "C22.0", "", (10000, 13000)),  # has no critical item
    (34, "住院", (11, 3), 5, 3, "M32.1", "", (4000, 6000)),
    (35, "住院", (6, 16), 2, 2, "N20.0", "55.04", (2800, 3600)),
]


def claims(rng: random.Random, people: list[dict]) -> list[dict]:
    out, invoice_of_previous = [], None
    for number, (index, kind, (month, day), nights, level, diagnoses, procedures, spread) in enumerate(TEMPLATES, 1):
        admission = date(2025, month, day)
        discharge = admission + timedelta(days=nights)
        in_scope = Decimal(rng.randrange(spread[0] * 100, spread[1] * 100)) / 100
        out_scope = Decimal(rng.randrange(20_000, 300_000)) / 100
        insurance = (in_scope * Decimal(rng.randrange(250, 450)) / 100).quantize(Decimal("0.01"))
        invoice = f"3301{2025:04d}{number:06d}"
        if number == 12:
            invoice = invoice_of_previous
        submitted = discharge + timedelta(days=rng.randint(8, 40))
        if number == 14:
            submitted = date(2026, 4, 10)
        out.append({
            "申请编号": f"2025-{number:04d}", "会员编号": people[index]["会员编号"], "类别": kind,
            "入院日期": admission, "出院日期": discharge, "确诊日期": None, "医院等级": level,
            "诊断编码": diagnoses, "手术编码": procedures or None,
            "医疗总费用": insurance + in_scope + out_scope, "医保统筹支付": insurance, "个人自付": in_scope,
            "个人自费": out_scope, "发票号": invoice, "申请日期": submitted,
        })
        invoice_of_previous = invoice
    return out


def write(path: Path, rows: list[dict]) -> None:
    book = Workbook()
    sheet = book.active
    header = [key for key in rows[0] if not key.startswith("_")]
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[key] for key in header])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(cell.value, Decimal):
                cell.number_format = "0.00"
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = max(10, max(len(str(c.value or "")) for c in column) + 4)
    sheet.freeze_panes = "A2"
    book.save(path)


def main() -> None:
    rng = random.Random(20250101)
    people = members(rng)
    write(HERE / "members.xlsx", people)
    write(HERE / "enrollments.xlsx", enrollments(people))
    write(HERE / "claims.xlsx", claims(rng, people))
    print(f"examples written: {len(people)} members, {len(TEMPLATES)} claims")


if __name__ == "__main__":
    main()
