"""The one vocabulary of reason codes (SPEC §4), used alike by engine, review sheet and letters."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # claim level: the whole claim is paid nothing
    LATE_SUBMISSION = "LATE_SUBMISSION"
    DUPLICATE_INVOICE = "DUPLICATE_INVOICE"
    # checks, in this order; the first failure gives amount 0
    NOT_ENROLLED = "NOT_ENROLLED"
    INELIGIBLE_GENDER = "INELIGIBLE_GENDER"
    INELIGIBLE_AGE = "INELIGIBLE_AGE"
    HOSPITAL_LEVEL = "HOSPITAL_LEVEL"
    COVER_ENDED = "COVER_ENDED"
    ALREADY_PAID = "ALREADY_PAID"
    WAITING_PERIOD = "WAITING_PERIOD"
    NOT_CHOSEN = "NOT_CHOSEN"
    # amount
    WAITING_REDUCED = "WAITING_REDUCED"
    BELOW_DEDUCTIBLE = "BELOW_DEDUCTIBLE"
    ZERO_AMOUNT = "ZERO_AMOUNT"
    SHORT_STAY = "SHORT_STAY"
    DAYS_EXHAUSTED = "DAYS_EXHAUSTED"
    # caps
    CAPPED = "CAPPED"
    CAP_REACHED = "CAP_REACHED"

    @property
    def text(self) -> str:
        """Plain Chinese, as read to a member on the telephone and printed on letters."""
        return REASON_TEXT[self]

    @property
    def pays(self) -> bool:
        """Whether a line with this reason can carry money (a reduced or capped amount)."""
        return self in (Reason.WAITING_REDUCED, Reason.CAPPED)


REASON_TEXT = {
    Reason.LATE_SUBMISSION: "超过本互助期的申请截止日期后提交，不予补助",
    Reason.DUPLICATE_INVOICE: "发票号已在此前的申请中使用过，不予重复补助",
    Reason.NOT_ENROLLED: "事件发生日不在该项目的保障期内（未参加该项目或保障尚未开始）",
    Reason.INELIGIBLE_GENDER: "该项目仅限特定性别的会员参加",
    Reason.INELIGIBLE_AGE: "事件发生时的年龄不在该项目规定的范围内",
    Reason.HOSPITAL_LEVEL: "就诊医院等级低于该项目的要求",
    Reason.COVER_ENDED: "该项目本期已给付过补助，按规定本期保障已终止",
    Reason.ALREADY_PAID: "该补助已给付过，按规定不再重复给付",
    Reason.WAITING_PERIOD: "确诊日在等待期内，不予补助",
    Reason.NOT_CHOSEN: "同组补助择高给付，已按金额更高的一项给付",
    Reason.WAITING_REDUCED: "确诊日在等待期内，按规定减额给付",
    Reason.BELOW_DEDUCTIBLE: "本期累计自付费用未超过起付线",
    Reason.ZERO_AMOUNT: "可补助的费用为零",
    Reason.SHORT_STAY: "住院天数未达到给付起始天数",
    Reason.DAYS_EXHAUSTED: "本期可给付的住院天数已用完",
    Reason.CAPPED: "已达到本期最高补助限额，超出部分不予补助",
    Reason.CAP_REACHED: "本期最高补助限额已用完",
}
