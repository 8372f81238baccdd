"""Input columns of SPEC §3: English names, Chinese aliases, and which are required."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    chinese: str
    required: bool = True
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.chinese}（{self.name}）"


MEMBER_ID = Column("member_id", "会员编号", aliases=("会员号", "会员编码", "工号", "职工编号", "职工号", "会员卡号"))

MEMBER_COLUMNS = (
    MEMBER_ID,
    Column("name", "姓名", aliases=("会员姓名", "职工姓名", "名字")),
    Column("id_number", "身份证号", aliases=("身份证号码", "证件号码", "证件号", "身份证", "公民身份号码", "身份证件号码")),
    Column("unit", "单位", aliases=("工作单位", "所在单位", "单位名称", "基层工会", "所属工会")),
    Column("bank_name", "开户行", False, ("开户银行", "银行名称", "开户行名称", "开户网点")),
    Column("bank_account", "银行账号", False, ("银行帐号", "银行卡号", "收款账号", "收款帐号", "账号", "帐号", "卡号")),
    Column("phone", "手机号", False, ("手机号码", "手机", "联系电话", "电话", "电话号码")),
)

ENROLLMENT_COLUMNS = (
    MEMBER_ID,
    Column("item", "保障项目", aliases=("项目", "项目名称", "保障项目名称", "参保项目", "互助项目")),
    Column("period", "互助期", aliases=("年度", "互助年度", "保障年度", "参保年度")),
    Column("shares", "份数", False, ("参保份数", "份额")),
    Column("start_date", "保障起始日", aliases=("起始日期", "保障起始日期", "生效日期", "保障开始日期", "起保日期")),
)

CLAIM_COLUMNS = (
    Column("claim_id", "申请编号", aliases=("申请号", "申请单号", "受理编号", "申请单编号")),
    MEMBER_ID,
    Column("event_type", "类别", aliases=("就医类别", "就诊类别", "就医类型", "类型", "申请类别")),
    Column("admission_date", "入院日期", aliases=("入院时间", "住院日期", "就诊日期")),
    Column("discharge_date", "出院日期", aliases=("出院时间",)),
    Column("diagnosis_date", "确诊日期", False, ("确诊时间",)),
    Column("hospital_level", "医院等级", aliases=("医院级别", "医疗机构等级")),
    Column("diagnoses", "诊断编码", aliases=("诊断代码", "疾病编码", "疾病诊断编码", "诊断")),
    Column("procedures", "手术编码", False, ("手术代码", "手术操作编码", "手术")),
    Column("total_cost", "医疗总费用", aliases=("总费用", "医疗费用总额", "费用总额", "医疗费总额", "总金额")),
    Column("insurance_paid", "医保统筹支付", aliases=("统筹支付", "医保支付", "统筹基金支付", "基金支付", "医保统筹基金支付")),
    Column("self_pay_in_scope", "个人自付", aliases=("个人自付金额", "自付金额", "自付")),
    Column("self_pay_out_of_scope", "个人自费", aliases=("个人自费金额", "自费金额", "自费")),
    Column("invoice_no", "发票号", False, ("发票号码", "票据号", "票据号码", "发票编号")),
    Column("submitted_date", "申请日期", aliases=("申请时间", "提交日期", "受理日期")),
)

KINDS = {"members": MEMBER_COLUMNS, "enrollments": ENROLLMENT_COLUMNS, "claims": CLAIM_COLUMNS}
KIND_NAMES = {"members": "会员名单", "enrollments": "参保名单", "claims": "补助申请"}


def normalize_header(text: object) -> str:
    """Header text compared without case, spaces, full-width forms or a trailing note in brackets:
    “身份证号（必填）”, “ 身份证号 ” and “身份证号*” all name the same column."""
    text = unicodedata.normalize("NFKC", str(text if text is not None else "")).replace("\ufeff", "")
    text = "".join(text.split()).lower().rstrip("*:")
    for opening, closing in (("(", ")"), ("[", "]")):
        if text.endswith(closing) and opening in text and not text.startswith(opening):
            text = text[:text.rindex(opening)]
    return text


def alias_map(columns: tuple[Column, ...]) -> dict[str, str]:
    mapping = {}
    for column in columns:
        for known in (column.name, column.chinese, *column.aliases):
            mapping[normalize_header(known)] = column.name
    return mapping
