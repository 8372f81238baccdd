"""Input columns of SPEC §3: English names, Chinese aliases, and which are required."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    chinese: str
    required: bool = True

    @property
    def label(self) -> str:
        return f"{self.chinese}（{self.name}）"


MEMBER_COLUMNS = (
    Column("member_id", "会员编号"),
    Column("name", "姓名"),
    Column("id_number", "身份证号"),
    Column("unit", "单位"),
    Column("bank_name", "开户行", False),
    Column("bank_account", "银行账号", False),
    Column("phone", "手机号", False),
)

ENROLLMENT_COLUMNS = (
    Column("member_id", "会员编号"),
    Column("item", "保障项目"),
    Column("period", "互助期"),
    Column("shares", "份数", False),
    Column("start_date", "保障起始日"),
)

CLAIM_COLUMNS = (
    Column("claim_id", "申请编号"),
    Column("member_id", "会员编号"),
    Column("event_type", "类别"),
    Column("admission_date", "入院日期"),
    Column("discharge_date", "出院日期"),
    Column("diagnosis_date", "确诊日期", False),
    Column("hospital_level", "医院等级"),
    Column("diagnoses", "诊断编码"),
    Column("procedures", "手术编码", False),
    Column("total_cost", "医疗总费用"),
    Column("insurance_paid", "医保统筹支付"),
    Column("self_pay_in_scope", "个人自付"),
    Column("self_pay_out_of_scope", "个人自费"),
    Column("invoice_no", "发票号", False),
    Column("submitted_date", "申请日期"),
)

KINDS = {"members": MEMBER_COLUMNS, "enrollments": ENROLLMENT_COLUMNS, "claims": CLAIM_COLUMNS}
KIND_NAMES = {"members": "会员名单", "enrollments": "参保名单", "claims": "补助申请"}


def normalize_header(text: object) -> str:
    return str(text or "").replace("\ufeff", "").strip().lower()


def alias_map(columns: tuple[Column, ...]) -> dict[str, str]:
    mapping = {}
    for column in columns:
        mapping[column.name] = column.name
        mapping[normalize_header(column.chinese)] = column.name
    return mapping
