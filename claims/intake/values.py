"""Cell parsers for input files: each returns a typed value or raises a coded Chinese error."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainValidator, ValidationInfo
from pydantic_core import PydanticCustomError
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from claims.money import decimal_places, parse_decimal
from claims.policy.patterns import is_diagnosis_code, is_procedure_code, normalize

_IDENT = re.compile(r"[0-9A-Za-z][0-9A-Za-z_\-./]{0,39}")
_PHONE = re.compile(r"\+?[0-9][0-9\- ]{4,19}")
_ACCOUNT = re.compile(r"[0-9]{8,32}")


def _fail(code: str, message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(code, message, context or None)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    return str(value).strip()


def parse_required_text(value: Any) -> str:
    text = _text(value)
    if not text:
        raise _fail("INPUT_REQUIRED", "必填项为空")
    return text


def parse_optional_text(value: Any) -> str:
    return _text(value)


def parse_ident(value: Any) -> str:
    text = _text(value)
    if not text:
        raise _fail("INPUT_REQUIRED", "必填项为空")
    if not _IDENT.fullmatch(text):
        raise _fail("INPUT_BAD_ID", "编号“{value}”只能含字母、数字和 - _ . /，最长 40 个字符", value=text)
    return text


def parse_money(value: Any) -> Decimal:
    text = _text(value)
    if not text:
        raise _fail("INPUT_REQUIRED", "必填项为空")
    amount = parse_decimal(text)
    if amount is None:
        raise _fail("INPUT_BAD_MONEY", "“{value}”不是金额（应为如 1234.56 的数字，不带逗号和货币符号）", value=text)
    if amount < 0:
        raise _fail("INPUT_NEGATIVE_MONEY", "金额不能为负数：{value}", value=text)
    if decimal_places(amount) > 2:
        raise _fail("INPUT_MONEY_PRECISION", "金额最多两位小数（到分）：{value}", value=text)
    return amount.quantize(Decimal("0.01"))


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        raise _fail("INPUT_REQUIRED", "必填项为空")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise _fail("INPUT_BAD_DATE", "“{value}”不是有效日期（应为 YYYY-MM-DD，如 2025-03-01）", value=text)


def parse_optional_date(value: Any) -> date | None:
    if value is None or _text(value) == "":
        return None
    return parse_date(value)


def _integer(value: Any, low: int, high: int, what: str) -> int:
    text = _text(value)
    if not text:
        raise _fail("INPUT_REQUIRED", "必填项为空")
    number = parse_decimal(text)
    if number is None or number != number.to_integral_value():
        raise _fail("INPUT_NOT_INTEGER", "“{value}”不是整数", value=text)
    if not low <= number <= high:
        raise _fail("INPUT_OUT_OF_RANGE", "{what}须在 {low} 到 {high} 之间：{value}", what=what, low=low, high=high,
                    value=text)
    return int(number)


def parse_period(value: Any) -> int:
    return _integer(value, 1990, 2200, "互助期（年份）")


def parse_shares(value: Any) -> int:
    if value is None or _text(value) == "":
        return 1
    return _integer(value, 1, 99, "份数")


_LEVELS = {"一级": 1, "二级": 2, "三级": 3}


def parse_hospital_level(value: Any) -> int:
    text = _text(value)
    if text in _LEVELS:
        return _LEVELS[text]
    return _integer(value, 1, 3, "医院等级")


_EVENT_TYPES = {"inpatient": "inpatient", "住院": "inpatient",
                "outpatient_special": "outpatient_special", "规定病种门诊": "outpatient_special"}


def parse_event_type(value: Any) -> str:
    text = _text(value)
    if text.lower() in _EVENT_TYPES:
        return _EVENT_TYPES[text.lower()]
    if not text:
        raise _fail("INPUT_REQUIRED", "必填项为空")
    raise _fail("INPUT_BAD_EVENT_TYPE", "类别“{value}”无效，应为 住院（inpatient）或 规定病种门诊（outpatient_special）",
                value=text)


def _codes(value: Any, valid, what: str) -> tuple[str, ...]:
    text = _text(value).replace("；", ";")
    codes = tuple(normalize(part) for part in text.split(";") if part.strip())
    for code in codes:
        if not valid(code):
            raise _fail("INPUT_BAD_CODE", "“{value}”不是有效的{what}", value=code, what=what)
    return codes


def parse_diagnoses(value: Any) -> tuple[str, ...]:
    codes = _codes(value, is_diagnosis_code, "ICD-10 诊断编码（如 C50.9）")
    if not codes:
        raise _fail("INPUT_REQUIRED", "至少要有一个诊断编码")
    return codes


def parse_procedures(value: Any) -> tuple[str, ...]:
    return _codes(value, is_procedure_code, "ICD-9-CM-3 手术编码（如 68.4）")


def parse_id_number(value: Any, info: ValidationInfo) -> str:
    """GB 11643 resident ID: 18 characters, check digit, a real birth date not in the future.

    python-stdnum's ``validate`` also looks the birth place up in a table of county codes by the year
    each was assigned, and so refuses real people (a Hangzhou 330102 number of someone born before 1983);
    we use its check digit and birth date only.
    """
    text = ric.compact(_text(value))
    if not text:
        raise _fail("INPUT_REQUIRED", "必填项为空")
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise _fail("INPUT_BAD_ID_NUMBER", "身份证号须为 18 位（前 17 位数字，末位数字或 X）：{value}", value=text)
    if ric.calc_check_digit(text) != text[17]:
        raise _fail("INPUT_ID_CHECKSUM", "身份证号校验位不正确：{value}", value=text)
    try:
        birth = ric.get_birth_date(text)
    except StdnumError:
        raise _fail("INPUT_ID_BIRTH_DATE", "身份证号中的出生日期无效：{value}", value=text) from None
    today = (info.context or {}).get("today")
    if today is not None and birth > today:
        raise _fail("INPUT_ID_BIRTH_DATE", "身份证号中的出生日期 {birth} 晚于今天", birth=str(birth))
    return text


def parse_account(value: Any) -> str:
    text = _text(value).replace(" ", "")
    if text and not _ACCOUNT.fullmatch(text):
        raise _fail("INPUT_BAD_ACCOUNT", "银行账号应为 8–32 位数字：{value}", value=text)
    return text


def parse_phone(value: Any) -> str:
    text = _text(value)
    if text and not _PHONE.fullmatch(text):
        raise _fail("INPUT_BAD_PHONE", "电话号码格式不正确：{value}", value=text)
    return text


RequiredText = Annotated[str, PlainValidator(parse_required_text)]
OptionalText = Annotated[str, PlainValidator(parse_optional_text)]
Ident = Annotated[str, PlainValidator(parse_ident)]
Money = Annotated[Decimal, PlainValidator(parse_money)]
Day = Annotated[date, PlainValidator(parse_date)]
OptionalDay = Annotated[date | None, PlainValidator(parse_optional_date)]
Period = Annotated[int, PlainValidator(parse_period)]
Shares = Annotated[int, PlainValidator(parse_shares)]
HospitalLevel = Annotated[int, PlainValidator(parse_hospital_level)]
EventTypeValue = Annotated[str, PlainValidator(parse_event_type)]
Diagnoses = Annotated[tuple[str, ...], PlainValidator(parse_diagnoses)]
Procedures = Annotated[tuple[str, ...], PlainValidator(parse_procedures)]
IdNumber = Annotated[str, PlainValidator(parse_id_number)]
Account = Annotated[str, PlainValidator(parse_account)]
Phone = Annotated[str, PlainValidator(parse_phone)]
