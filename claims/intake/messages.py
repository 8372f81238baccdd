"""What pydantic reports about a cell → a stable code and a Chinese message, by field and error type."""

from __future__ import annotations

from typing import Any

DATES = {"admission_date", "discharge_date", "diagnosis_date", "submitted_date", "start_date"}
MONEY = {"total_cost", "insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope"}
IDS = {"member_id", "claim_id"}
RANGES = {"period": "互助期（年份）须在 1990 到 2200 之间", "shares": "份数须在 1 到 99 之间",
          "hospital_level": "医院等级须为 1、2、3 或 一级、二级、三级"}
PATTERNS = {"bank_account": ("INPUT_BAD_ACCOUNT", "银行账号应为 8–32 位数字：{value}"),
            "id_number": ("INPUT_BAD_ID_NUMBER", "身份证号须为 18 位（前 17 位数字，末位数字或 X）：{value}"),
            "diagnoses": ("INPUT_BAD_CODE", "“{value}”不是有效的 ICD-10 诊断编码（如 C50.9，多个用 ; 分隔）"),
            "procedures": ("INPUT_BAD_CODE", "“{value}”不是有效的 ICD-9-CM-3 手术编码（如 68.4，多个用 ; 分隔）"),
            "phone": ("INPUT_BAD_PHONE", "电话号码格式不正确：{value}")}


def message(field: str, errors: list[dict[str, Any]]) -> tuple[str, str]:
    """One (code, message) for all the errors pydantic gave about one cell (a union gives several)."""
    types = [e["type"] for e in errors]
    value = _shown(errors[0].get("input"))
    custom = next((e for e in errors if e["type"].startswith("INPUT_")), None)
    if custom is not None:
        return custom["type"], custom["msg"]
    if "missing" in types or (value == "" and "string_too_short" in types):
        return "INPUT_REQUIRED", "必填项为空"
    too_long = next((e for e in errors if e["type"] in ("string_too_long", "too_long")), None)
    if too_long is not None:
        limit = (too_long.get("ctx") or {}).get("max_length")
        return "INPUT_TOO_LONG", f"最长 {limit} 个字符，本格有 {len(str(too_long.get('input', '')))} 个：{value}"
    if field in DATES:
        return "INPUT_BAD_DATE", f"“{value}”不是有效日期（应为 YYYY-MM-DD，如 2025-03-01）"
    if field in MONEY:
        if "greater_than_equal" in types:
            return "INPUT_NEGATIVE_MONEY", f"金额不能为负数：{value}"
        if "decimal_max_places" in types:
            return "INPUT_MONEY_PRECISION", f"金额最多两位小数（到分）：{value}"
        return "INPUT_BAD_MONEY", f"“{value}”不是金额（应为如 1234.56 的数字，不带逗号和货币符号）"
    if field == "event_type":
        return "INPUT_BAD_EVENT_TYPE", f"类别“{value}”无效，应为 住院（inpatient）或 规定病种门诊（outpatient_special）"
    if field in RANGES:
        if any(t in ("int_parsing", "int_from_float", "int_type") for t in types) and field != "hospital_level":
            return "INPUT_NOT_INTEGER", f"“{value}”不是整数"
        return "INPUT_OUT_OF_RANGE", f"{RANGES[field]}：{value}"
    if field in IDS:
        return "INPUT_BAD_ID", f"编号“{value}”只能含字母、数字和 - _ . /，最长 40 个字符"
    if field in PATTERNS:
        code, template = PATTERNS[field]
        return code, template.format(value=value)
    return "INPUT_INVALID", f"取值“{value}”无效"


def _shown(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."
