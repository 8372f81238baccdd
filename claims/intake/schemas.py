"""Row schemas (SPEC §3) for pydantic: one validation call per file, the rules running in pydantic's core.

Most rules are native constraints (patterns, ranges, two decimals, dates); Python runs only where a rule
needs it — the ID number's check digit and birth date, and the code lists. ``messages.py`` turns what
pydantic reports into coded Chinese messages.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, NotRequired

from pydantic import AfterValidator, ConfigDict, Field, Strict, StringConstraints, TypeAdapter, ValidationInfo
from pydantic_core import PydanticCustomError
from stdnum.cn import ric
from typing_extensions import TypedDict

IDENT = r"^[0-9A-Za-z][0-9A-Za-z_\-./]{0,39}$"
DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"

Ident = Annotated[str, StringConstraints(pattern=IDENT)]
Text = Annotated[str, StringConstraints(min_length=1)]
OptionalText = Annotated[str, StringConstraints()]
# a real date cell, or text exactly YYYY-MM-DD (pydantic alone would also take a Unix time such as 1740787200)
Day = Annotated[date, Strict()] | Annotated[str, StringConstraints(pattern=DATE_TEXT), AfterValidator(date.fromisoformat)]
Money = Annotated[Decimal, Field(ge=0, decimal_places=2, allow_inf_nan=False)]


def _fail(code: str, message: str, **context) -> PydanticCustomError:
    return PydanticCustomError(code, message, context or None)


def birth_date(number: str) -> date:
    """Digits 7–14 of the ID number (stdnum's get_birth_date re-cleans the number first: 20× slower)."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def check_id_number(number: str, info: ValidationInfo) -> str:
    """GB 11643 resident ID: 18 characters, check digit, a real birth date not in the future.

    python-stdnum gives the check digit. Its ``validate`` also looks the birth place up in a table of county codes by the year each
    was assigned, and so refuses real people (a Hangzhou 330102 number of someone born before 1983)."""
    number = number.upper()
    if ric.calc_check_digit(number) != number[17]:
        raise _fail("INPUT_ID_CHECKSUM", "身份证号校验位不正确：{value}", value=number)
    try:
        birth = birth_date(number)
    except ValueError:
        raise _fail("INPUT_ID_BIRTH_DATE", "身份证号中的出生日期无效：{value}", value=number) from None
    today = (info.context or {}).get("today")
    if today is not None and birth > today:
        raise _fail("INPUT_ID_BIRTH_DATE", "身份证号中的出生日期 {birth} 晚于今天", birth=str(birth))
    return number


# code lists are checked by pattern (in pydantic's core); the record builder splits and upper-cases them
_ICD10 = r"[A-Za-z][0-9]{2}[0-9A-Za-z.+\-]*"
_ICD9 = r"[0-9]{2}(?:\.[0-9]{1,4})?"
DIAGNOSES = rf"^{_ICD10}(?:\s*[;；]\s*{_ICD10})*\s*[;；]?$"
PROCEDURES = rf"^(?:{_ICD9}(?:\s*[;；]\s*{_ICD9})*\s*[;；]?)?$"


def split_codes(text: str) -> tuple[str, ...]:
    if ";" not in text and "；" not in text:
        return (text.upper(),) if text else ()
    return tuple(code.strip() for code in text.upper().replace("；", ";").split(";") if code.strip())


CONFIG = ConfigDict(str_strip_whitespace=True, coerce_numbers_to_str=True)


class MemberIn(TypedDict):
    __pydantic_config__ = CONFIG  # type: ignore[misc]
    member_id: Ident
    name: Text
    id_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{17}[0-9Xx]$"), AfterValidator(check_id_number)]
    unit: Text
    bank_name: NotRequired[OptionalText]
    bank_account: NotRequired[Annotated[str, StringConstraints(pattern=r"^[0-9 ]{8,40}$")]]
    phone: NotRequired[Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9\- ]{4,19}$")]]


class EnrollmentIn(TypedDict):
    __pydantic_config__ = CONFIG  # type: ignore[misc]
    member_id: Ident
    item: Text
    period: Annotated[int, Field(ge=1990, le=2200)]
    shares: NotRequired[Annotated[int, Field(ge=1, le=99)]]
    start_date: Day


class ClaimIn(TypedDict):
    __pydantic_config__ = CONFIG  # type: ignore[misc]
    claim_id: Ident
    member_id: Ident
    event_type: Literal["inpatient", "outpatient_special", "住院", "规定病种门诊"]
    admission_date: Day
    discharge_date: Day
    diagnosis_date: NotRequired[Day]
    hospital_level: Annotated[int, Field(ge=1, le=3)] | Literal["一级", "二级", "三级"]
    diagnoses: Annotated[str, StringConstraints(pattern=DIAGNOSES)]
    procedures: NotRequired[Annotated[str, StringConstraints(pattern=PROCEDURES)]]
    total_cost: Money
    insurance_paid: Money
    self_pay_in_scope: Money
    self_pay_out_of_scope: Money
    invoice_no: NotRequired[OptionalText]
    submitted_date: Day


SCHEMAS = {"members": MemberIn, "enrollments": EnrollmentIn, "claims": ClaimIn}
ROWS = {kind: TypeAdapter(list[schema]) for kind, schema in SCHEMAS.items()}
ROW = {kind: TypeAdapter(schema) for kind, schema in SCHEMAS.items()}
