"""Policy file → validated ``Policy``, or every problem of the file as ``file:line: message``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from claims.policy.rules import check_benefit, check_eligibility, raw_checks
from claims.policy.schema import BENEFIT_KINDS, Benefit, Eligibility, Policy
from claims.policy.yamlsource import Source, load_yaml
from claims.problems import Problem, ProblemsFound

_BENEFIT = TypeAdapter(Benefit)
_ELIGIBILITY = TypeAdapter(Eligibility | None)


@dataclass(frozen=True)
class LoadedPolicy:
    """A policy with the exact text it came from: batches store the text and its hash for re-runs."""

    policy: Policy
    text: str
    sha256: str
    name: str


def read_policy(path: str | Path) -> LoadedPolicy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        tried = path if path.is_absolute() else Path.cwd() / path  # say where we looked: a relative path is
        raise ProblemsFound([Problem("POLICY_NOT_FOUND",  # relative to the folder the command runs in
                                     f"找不到策略文件（查找的位置：{tried}；相对路径从当前文件夹算起）",
                                     str(path))]) from None
    except UnicodeDecodeError:
        raise ProblemsFound([Problem("POLICY_ENCODING", "策略文件须为 UTF-8 编码", str(path))]) from None
    return parse_policy(text, str(path))


def parse_policy(text: str, name: str) -> LoadedPolicy:
    source = load_yaml(text, name)
    problems = list(source.problems)
    policy = None
    if source.data is not None:
        policy, found = _validate(source)
        problems.extend(found)
    if problems or policy is None:
        raise ProblemsFound(_unique(problems))
    return LoadedPolicy(policy, text, hashlib.sha256(text.encode("utf-8")).hexdigest(), name)


def _validate(source: Source) -> tuple[Policy | None, list[Problem]]:
    data = source.data
    issues = list(raw_checks(data))
    problems: list[Problem] = []
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        policy = None
        problems.extend(_pydantic_problem(source, error) for error in exc.errors())
    issues.extend(_checks_of_valid_parts(data))
    problems.extend(Problem(code, message, source.file, source.line_of(path)) for path, code, message in issues)
    return (None if problems else policy), problems


def _checks_of_valid_parts(data: Any):
    """Check each item eligibility and each benefit that validates on its own, whatever its neighbours hold."""
    items = data.get("items") if isinstance(data, dict) else None
    for i, raw_item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(raw_item, dict):
            continue
        try:
            eligibility = _ELIGIBILITY.validate_python(raw_item.get("eligibility"))
        except ValidationError:
            eligibility = None
        if eligibility is not None:
            yield from check_eligibility(eligibility, ("items", i, "eligibility"))
        benefits = raw_item.get("benefits")
        for j, raw_benefit in enumerate(benefits if isinstance(benefits, list) else []):
            try:
                benefit = _BENEFIT.validate_python(raw_benefit)
            except ValidationError:
                continue
            yield from check_benefit(benefit, ("items", i, "benefits", j))


_MESSAGES = {
    "extra_forbidden": ("POLICY_UNKNOWN_KEY", "未知的键“{key}”（拼写错误？见 policies/README.md）"),
    "missing": ("POLICY_MISSING_KEY", "缺少必填项“{key}”"),
    "union_tag_not_found": ("POLICY_MISSING_KEY", "缺少必填项“kind”（保障类型）"),
    "union_tag_invalid": ("POLICY_UNKNOWN_KIND", "保障类型“{tag}”不存在，只能是 " + "、".join(BENEFIT_KINDS)),
    "literal_error": ("POLICY_BAD_VALUE", "取值“{input}”无效，应为 {expected}"),
    "int_parsing": ("POLICY_NOT_AN_INTEGER", "“{input}”不是整数"),
    "int_type": ("POLICY_NOT_AN_INTEGER", "“{input}”不是整数"),
    "int_from_float": ("POLICY_NOT_AN_INTEGER", "“{input}”不是整数"),
    "greater_than_equal": ("POLICY_OUT_OF_RANGE", "取值 {input} 过小（不能小于 {ge}）"),
    "less_than_equal": ("POLICY_OUT_OF_RANGE", "取值 {input} 过大（不能大于 {le}）"),
    "too_short": ("POLICY_EMPTY_LIST", "此处至少需要一项"),
    "too_long": ("POLICY_BAD_SHAPE", "此处项数过多"),
    "model_type": ("POLICY_BAD_SHAPE", "此处应为“键: 值”的映射"),
    "model_attributes_type": ("POLICY_BAD_SHAPE", "此处应为“键: 值”的映射"),
    "dict_type": ("POLICY_BAD_SHAPE", "此处应为“键: 值”的映射"),
    "list_type": ("POLICY_BAD_SHAPE", "此处应为列表"),
    "tuple_type": ("POLICY_BAD_SHAPE", "此处应为两个数，如 [1, 90]"),
    "bool_parsing": ("POLICY_BAD_VALUE", "应为 true 或 false"),
    "bool_type": ("POLICY_BAD_VALUE", "应为 true 或 false"),
    "string_type": ("POLICY_BAD_VALUE", "此处应为文字"),
}


def _pydantic_problem(source: Source, error: dict) -> Problem:
    loc = tuple(error["loc"])
    context = error.get("ctx") or {}
    path = source.data_path(loc)
    if "at" in context:
        path = path + (context["at"],)
    if error["type"] == "union_tag_invalid":
        path = path + ("kind",)
    known = _MESSAGES.get(error["type"])
    if error["type"] == "dict_type" and loc and loc[-1] == "age":
        known = ("POLICY_BAD_SHAPE", "年龄条件应写成 {{male: [0, 59], female: [0, 54]}} 或 {{any: [16, 60]}}（周岁，含两端）；"
                                     "不限年龄请不写 age")
    if known:
        code, template = known
        key = next((part for part in reversed(loc) if isinstance(part, str)), "")
        values = {"key": key, "input": _short(error.get("input")), **{k: str(v) for k, v in context.items()}}
        message = template.format(**values)
    elif error["type"].startswith("POLICY_"):
        code, message = error["type"], error["msg"]
    else:
        code, message = "POLICY_INVALID", f"取值无效（{error['type']}）"
    return Problem(code, message, source.file, source.line_of(path))


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, result = set(), []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return result
