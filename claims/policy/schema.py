"""The policy language (SPEC §2) as pydantic v2 models: structure, value ranges and unknown keys.

Relations between parts (band order, duplicated codes, choose groups, waiting rules) are checked in
``rules.py`` so that every problem of a file is reported at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from claims.policy.dated import Dated
from claims.policy.values import (
    Code,
    CodePattern,
    DatedCount,
    DatedLevel,
    DatedMoney,
    DatedMonths,
    DatedRate,
    DatedShares,
    StartMonth,
    Text,
)

EventType = Literal["inpatient", "outpatient_special"]
ExpenseField = Literal["total_cost", "insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope"]
Gender = Literal["female", "male"]

KIND_NAMES = {"banded_expense": "按费用分档补助", "per_diem": "按天补助", "lump_sum": "定额补助"}
EVENT_TYPE_NAMES = {"inpatient": "住院", "outpatient_special": "规定病种门诊"}
EXPENSE_FIELD_NAMES = {
    "total_cost": "医疗总费用",
    "insurance_paid": "医保统筹支付",
    "self_pay_in_scope": "个人自付",
    "self_pay_out_of_scope": "个人自费",
}
GENDER_NAMES = {"female": "女", "male": "男"}


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Scheme(Part):
    code: Code
    name: Text
    issuer: Text = Field(description="签发机构，印在通知书上")
    source: Text = Field(description="所依据的实施细则")
    notes: str = ""
    contact: str = Field("", description="咨询与申诉方式，印在通知书上")
    telephone: str = Field("", description="服务中心咨询电话，印在通知书上")
    address: str = Field("", description="服务中心地址，印在通知书上")


class PeriodRule(Part):
    start_month: StartMonth = 1


class ClaimDeadline(Part):
    months_after_period_end: DatedMonths


class Eligibility(Part):
    gender: Gender | None = None
    age: dict[Literal["male", "female", "any"], tuple[DatedCount, DatedCount]] | None = None
    min_hospital_level: dict[EventType, DatedLevel] | None = None

    def merged_over(self, outer: Eligibility | None) -> Eligibility:
        """This (benefit-level) eligibility with the item's rules filling what it leaves unset."""
        if outer is None:
            return self
        return Eligibility(
            gender=self.gender if self.gender is not None else outer.gender,
            age=self.age if self.age is not None else outer.age,
            min_hospital_level=(self.min_hospital_level if self.min_hospital_level is not None
                                else outer.min_hospital_level),
        )


class WaitingRule(Part):
    """Days ``[first, last]`` of continuous coverage (day 1 = its start) pay ``amount`` × shares (0: nothing)."""

    days: tuple[DatedCount, DatedCount]
    amount: DatedMoney


class Deductible(Part):
    amount: DatedMoney
    per: Literal["period", "claim"]


class Band(Part):
    lower: DatedMoney = Field(alias="from")
    upper: DatedMoney | None = Field(None, alias="to")
    rate: DatedRate


class BenefitBase(Part):
    code: Code
    name: Text
    reference: Text
    eligibility: Eligibility | None = None
    waiting: list[WaitingRule] = []


class BandedExpense(BenefitBase):
    kind: Literal["banded_expense"]
    event_types: list[EventType] = Field(min_length=1)
    base: list[ExpenseField] = Field(min_length=1)
    deductible: Deductible | None = None
    bands: list[Band] = Field(min_length=1)


class PerDiem(BenefitBase):
    kind: Literal["per_diem"]
    event_types: list[EventType] = Field(min_length=1)
    rate: DatedMoney
    from_day: DatedCount = Dated.always(1)
    max_days_per_period: DatedCount | None = None


class LumpSum(BenefitBase):
    kind: Literal["lump_sum"]
    amount: DatedMoney
    diagnoses: list[CodePattern] = []
    procedures: list[CodePattern] = []
    exclude: list[CodePattern] = []
    once_per: Literal["period", "lifetime"] = "period"


Benefit = Annotated[BandedExpense | PerDiem | LumpSum, Field(discriminator="kind")]
BENEFIT_KINDS = ("banded_expense", "per_diem", "lump_sum")


class ChooseGroup(Part):
    choose: Literal["highest"]
    benefits: list[Code] = []


class Item(Part):
    code: Code
    name: Text
    reference: Text
    contribution: DatedMoney = Field(description="每份每期缴费")
    max_shares: DatedShares = Dated.always(1)
    cap_per_share: DatedMoney
    eligibility: Eligibility | None = None
    ends_cover_on_payout: bool = False
    benefits: list[Benefit] = Field(min_length=1)
    groups: list[ChooseGroup] = []

    def benefit_eligibility(self, benefit: BenefitBase) -> Eligibility:
        if benefit.eligibility is not None:
            return benefit.eligibility.merged_over(self.eligibility)
        return self.eligibility or Eligibility()

    def group_of(self, benefit_code: str) -> int | None:
        for index, group in enumerate(self.groups):
            if benefit_code in group.benefits:
                return index
        return None


class Policy(Part):
    scheme: Scheme
    period: PeriodRule = PeriodRule()
    claim_deadline: ClaimDeadline
    renewal_grace_days: DatedCount = Dated.always(0)
    scheme_cap: DatedMoney | None = None
    items: list[Item] = Field(min_length=1)

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)
