"""Row schemas (SPEC §3) for pydantic: one validation call per file, the rules running in pydantic's core.

Most rules are native constraints (patterns, ranges, two decimals, dates); Python runs only where a rule
needs it — the ID number's check digit and birth date, and the code lists. ``messages.py`` turns what
pydantic reports into coded Chinese messages.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError
from stdnum.cn import ric
from typing_extensions import TypedDict

from claims.intake.lenient import (
    CellError,
    clean_code,
    clean_text,
    parse_date,
    parse_money,
    refuse_number_cell,
)

IDENT = r"^[0-9A-Za-z][0-9A-Za-z_\-./]{0,39}$"


def _lenient(function, *args):
    """A lenient parser of claims.intake.lenient as a pydantic before-validator: its CellError becomes a
    custom error whose type is the stable code (messages.py passes it through)."""
    def validate(value):
        try:
            return function(value, *args)
        except CellError as error:
            raise PydanticCustomError(error.code, error.message) from None
    return BeforeValidator(validate)


def _dated(value, info: ValidationInfo):
    """Dates of events (admission, discharge, diagnosis, submission) may not lie after today."""
    try:
        return parse_date(value, (info.context or {}).get("today"))
    except CellError as error:
        raise PydanticCustomError(error.code, error.message) from None


def _no_number(label: str):
    """Put after Code in an Annotated: pydantic runs before-validators last-declared first."""
    return _lenient(refuse_number_cell, label)


def _code(value):
    if value.__class__ is str and value.isascii() and value.isprintable():  # the common case, no wrapper
        return value.strip()
    try:
        return clean_code(value)
    except CellError as error:
        raise PydanticCustomError(error.code, error.message) from None


def _clean(value):
    if value.__class__ is str and value.isprintable():
        return value.strip()
    try:
        return clean_text(value)
    except CellError as error:
        raise PydanticCustomError(error.code, error.message) from None


Code = BeforeValidator(_code)
Clean = BeforeValidator(_clean)


def Ident(label: str):  # noqa: N802 - a type factory
    return Annotated[str, Code, _no_number(label), StringConstraints(pattern=IDENT)]


def Text(limit: int):  # noqa: N802 - a type factory
    return Annotated[str, Clean, StringConstraints(min_length=1, max_length=limit)]


def OptionalText(limit: int, code: bool = False):  # noqa: N802 - a type factory
    return Annotated[str, Code if code else Clean, StringConstraints(max_length=limit)]


# a date cell, a date-time or text in the forms of lenient.parse_date (never a Unix time such as 1740787200)
Day = Annotated[date, _lenient(parse_date), Strict()]
EventDay = Annotated[date, BeforeValidator(_dated), Strict()]
Money = Annotated[Decimal, _lenient(parse_money), Strict()]


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


# the lengths are those of the columns in claims/store/models.py: the same limits on SQLite and PostgreSQL,
# checked here with a located message instead of a database error
class MemberIn(TypedDict):
    __pydantic_config__ = CONFIG  # type: ignore[misc]
    member_id: Ident("会员编号")
    name: Text(100)
    id_number: Annotated[str, Code, _no_number("身份证号"), StringConstraints(pattern=r"^[0-9]{17}[0-9Xx]$"),
                         AfterValidator(check_id_number)]
    unit: Text(200)
    bank_name: NotRequired[OptionalText(200)]
    bank_account: NotRequired[Annotated[str, Code, _no_number("银行账号"), StringConstraints(pattern=r"^[0-9 ]{8,40}$")]]
    phone: NotRequired[Annotated[str, Code, _no_number("手机号"),
                                 StringConstraints(pattern=r"^\+?[0-9][0-9\- ]{4,19}$")]]


class EnrollmentIn(TypedDict):
    __pydantic_config__ = CONFIG  # type: ignore[misc]
    member_id: Ident("会员编号")
    item: Annotated[str, Code, StringConstraints(min_length=1, max_length=40)]
    period: Annotated[int, Code, Field(ge=1990, le=2200)]
    shares: NotRequired[Annotated[int, Code, Field(ge=1, le=99)]]
    start_date: Day


class ClaimIn(TypedDict):
    __pydantic_config__ = CONFIG  # type: ignore[misc]
    claim_id: Annotated[str, Code, StringConstraints(pattern=IDENT)]
    member_id: Ident("会员编号")
    event_type: Annotated[Literal["inpatient", "outpatient_special", "住院", "规定病种门诊"], Code]
    admission_date: EventDay
    discharge_date: EventDay
    diagnosis_date: NotRequired[EventDay]
    hospital_level: Annotated[Annotated[int, Field(ge=1, le=3)] | Literal["一级", "二级", "三级"], Code]
    diagnoses: Annotated[str, Code, StringConstraints(pattern=DIAGNOSES, max_length=400)]
    procedures: NotRequired[Annotated[str, Code, StringConstraints(pattern=PROCEDURES, max_length=400)]]
    total_cost: Money
    insurance_paid: Money
    self_pay_in_scope: Money
    self_pay_out_of_scope: Money
    invoice_no: NotRequired[OptionalText(60, code=True)]
    submitted_date: EventDay


SCHEMAS = {"members": MemberIn, "enrollments": EnrollmentIn, "claims": ClaimIn}
ROWS = {kind: TypeAdapter(list[schema]) for kind, schema in SCHEMAS.items()}
ROW = {kind: TypeAdapter(schema) for kind, schema in SCHEMAS.items()}
