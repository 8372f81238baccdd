"""The service center's settings file (YAML): rules that are the center's choice, not the policy's.

Found at ``--settings FILE``, else ``$CLAIMS_SETTINGS``, else ``claims-settings.yaml`` in the working folder.
Sections used today: ``auto_approve`` (the rule of ``claims batch auto-approve``), ``sms`` (the
signature of member SMS) and ``review`` (the 会审 threshold of every approval, CLI and web alike). ``examples/claims-settings.yaml`` is a documented example.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from claims.money import parse_decimal
from claims.problems import Problem, ProblemsFound

DEFAULT_NAME = "claims-settings.yaml"
DEFAULT_FLAGS = ("LATE_SUBMISSION", "DUPLICATE_INVOICE", "CAPPED", "CAP_REACHED")


def settings_path(given: str | Path | None = None) -> Path:
    return Path(given or os.environ.get("CLAIMS_SETTINGS") or DEFAULT_NAME)


def read_settings(given: str | Path | None = None, required: bool = False) -> tuple[Path, dict[str, Any]]:
    path = settings_path(given)
    if not path.exists():
        if required or given:
            raise ProblemsFound([Problem("SETTINGS_NOT_FOUND", f"找不到设置文件（用 --settings、环境变量 CLAIMS_SETTINGS "
                                         f"或当前文件夹的 {DEFAULT_NAME}；示例见 examples/{DEFAULT_NAME}）", str(path))])
        return path, {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        raise ProblemsFound([Problem("SETTINGS_SYNTAX", "设置文件不是有效的 YAML", str(path),
                                     None if mark is None else mark.line + 1)]) from None
    if not isinstance(data, dict):
        raise ProblemsFound([Problem("SETTINGS_INVALID", "设置文件应为 键: 值 的形式", str(path))])
    return path, data


@dataclass(frozen=True)
class AutoApproveRule:
    max_amount: Decimal
    flags: tuple[str, ...]
    allow_corrected: bool
    file: str

    def describe(self) -> str:
        return (f"补助合计大于 0 且不超过 {self.max_amount:,.2f} 元、无提示（{'、'.join(flag_name(f) for f in self.flags)}、"
                "结算姓名不符）"
                + ("" if self.allow_corrected else "、未经更正或退回重报"))


FLAG_NAMES = {"LATE_SUBMISSION": "逾期申请", "DUPLICATE_INVOICE": "发票重复", "CAPPED": "封顶削减",
              "CAP_REACHED": "已达封顶", "WAITING_REDUCED": "等待期减付", "NOT_ENROLLED": "未参保",
              "HOSPITAL_LEVEL": "医院等级不符", "BELOW_DEDUCTIBLE": "未超起付线", "INELIGIBLE_GENDER": "性别不符",
              "INELIGIBLE_AGE": "年龄不符", "COVER_ENDED": "保障已终止", "ALREADY_PAID": "已给付过",
              "WAITING_PERIOD": "等待期内", "NOT_CHOSEN": "未选中", "ZERO_AMOUNT": "金额为零", "SHORT_STAY": "住院天数不足",
              "DAYS_EXHAUSTED": "天数已用完"}


def flag_name(code: str) -> str:
    """A reason's short Chinese name for reviewers (the code stays in the settings file)."""
    return FLAG_NAMES.get(code, code)


def auto_approve_rule(given: str | Path | None = None) -> AutoApproveRule:
    path, data = read_settings(given, required=True)
    section = data.get("auto_approve")
    where = str(path)
    if not isinstance(section, dict):
        raise ProblemsFound([Problem("SETTINGS_NO_RULE", "设置文件中没有 auto_approve: 一节（自动审核规则）", where)])
    amount = parse_decimal(str(section.get("max_amount", "")))
    if amount is None or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ProblemsFound([Problem("SETTINGS_BAD_AMOUNT", "auto_approve.max_amount 应为不小于 0、到分的金额",
                                     where, None, "auto_approve.max_amount")])
    flags = section.get("flags", list(DEFAULT_FLAGS))
    if not isinstance(flags, list) or any(str(f) not in FLAG_NAMES for f in flags):
        raise ProblemsFound([Problem("SETTINGS_BAD_FLAGS", f"auto_approve.flags 应为原因代码列表，可用：{'、'.join(FLAG_NAMES)}", where, None,
                                     "auto_approve.flags")])
    return AutoApproveRule(amount.quantize(Decimal("0.01")), tuple(str(f) for f in flags),
                           bool(section.get("allow_corrected", False)), where)


def sms_signature(given: str | Path | None, fallback: str) -> str:
    _, data = read_settings(given)
    sms = data.get("sms") if isinstance(data.get("sms"), dict) else {}
    return str(sms.get("signature") or fallback)


def second_review_above(given: str | Path | None = None) -> tuple[Decimal | None, str]:
    """The 会审 threshold: a claim whose total is above ``review.second_reviewer_above`` needs two different
    reviewers' approvals (the first records 会审待复核, the second completes it). ``(None, file)``: no
    threshold set. Read at every decision, so a change of the file takes effect at once; a bad value refuses
    the decision with the file named (never a silent default)."""
    path = settings_path(given)
    try:
        stamp = path.stat()
    except OSError:
        return None, str(path)
    key = (str(path.resolve()), stamp.st_mtime_ns, stamp.st_size)
    global _threshold_read
    known = _threshold_read  # one read of a shared name: threads of the web server may replace it meanwhile
    if known is not None and known[0] == key:  # a review import decides thousands of claims: parse once per change
        return known[1]
    value = _read_threshold(given)
    _threshold_read = (key, value)
    return value


_threshold_read: tuple[tuple, tuple[Decimal | None, str]] | None = None


def _read_threshold(given: str | Path | None) -> tuple[Decimal | None, str]:
    from claims.workflow.errors import Refusal

    try:
        path, data = read_settings(given)
    except ProblemsFound as found:
        problem = found.problems[0]
        raise Refusal(problem.code, f"设置文件 {problem.file} 有误：{problem.message}") from None
    section = data.get("review")
    value = section.get("second_reviewer_above") if isinstance(section, dict) else None
    if value is None or value == "":
        return None, str(path)
    amount = parse_decimal(str(value))
    if amount is None or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise Refusal("SETTINGS_BAD_THRESHOLD", f"设置文件 {path} 的 review.second_reviewer_above（会审金额）应为不小于 0、"
                      "到分的金额，如 50000.00")
    return amount.quantize(Decimal("0.01")), str(path)
