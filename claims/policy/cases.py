"""Policy test cases: small scenarios written by a policy author in YAML, with their expected lines.

A case file (``policies/tests/<scheme>*.yaml``) holds ``cases``; each case lists members, enrollments,
claims and the complete list of result lines it expects. Claims take convenient defaults (see
policies/README.md), so a case stays short enough to check by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from claims.engine import calculate
from claims.intake import check_tables
from claims.intake.tables import Table
from claims.money import fmt
from claims.policy.schema import Policy
from claims.policy.yamlsource import load_yaml
from claims.problems import Problem, ProblemsFound

_MEMBER_DEFAULTS = {"unit": "测试单位"}
_CLAIM_DEFAULTS = {"event_type": "inpatient", "hospital_level": "3", "insurance_paid": "0",
                   "self_pay_in_scope": "0", "self_pay_out_of_scope": "0"}


@dataclass(frozen=True)
class CaseResult:
    name: str
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


def default_case_files(policy_file: Path, policy: Policy) -> list[Path]:
    folder = policy_file.parent / "tests"
    return sorted(folder.glob(f"{policy.scheme.code}*.yaml"))


def run_case_file(policy: Policy, path: Path) -> list[CaseResult]:
    source = load_yaml(path.read_text(encoding="utf-8"), str(path))
    if source.problems:
        raise ProblemsFound(source.problems)
    cases = source.data.get("cases") if isinstance(source.data, dict) else None
    if not isinstance(cases, list) or not cases:
        raise ProblemsFound([Problem("CASE_NO_CASES", "测试文件须有 cases 列表", str(path), 1)])
    return [_run_case(policy, source, index, case) for index, case in enumerate(cases)]


def _table(source, path: tuple, rows: Any, defaults: dict[str, str]) -> Table:
    rows = rows if isinstance(rows, list) else []
    header: list[str] = list(defaults)
    for row in rows:
        header += [key for key in (row if isinstance(row, dict) else {}) if key not in header]
    body = []
    for index, row in enumerate(rows):
        row = {**defaults, **(row if isinstance(row, dict) else {})}
        body.append((source.line_of(path + (index,)), [row.get(key) for key in header]))
    return Table(source.file, header, body)


def _claim_defaults(claims: Any) -> list[dict]:
    """Fill what a case need not say: the cost total, the submission date."""
    filled = []
    for claim in claims if isinstance(claims, list) else []:
        claim = {**_CLAIM_DEFAULTS, **claim} if isinstance(claim, dict) else claim
        if isinstance(claim, dict):
            if "total_cost" not in claim:
                parts = [claim.get(k) for k in ("insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope")]
                try:
                    claim["total_cost"] = str(sum(Decimal(str(p)) for p in parts))
                except ArithmeticError:
                    pass  # the row validation reports the bad amount
            claim.setdefault("submitted_date", claim.get("discharge_date"))
        filled.append(claim)
    return filled


def _run_case(policy: Policy, source, index: int, case: dict) -> CaseResult:
    path = ("cases", index)
    name = str(case.get("name", f"case {index + 1}"))
    members = [{**_MEMBER_DEFAULTS, "name": m.get("member_id"), **m} if isinstance(m, dict) else m
               for m in case.get("members", [])]
    tables = {
        "members": _table(source, path + ("members",), members, {}),
        "enrollments": _table(source, path + ("enrollments",), case.get("enrollments"), {}),
        "claims": _table(source, path + ("claims",), _claim_defaults(case.get("claims")), {}),
    }
    inputs = check_tables(policy, tables, today=date.max)
    result = calculate(policy, inputs.members, inputs.enrollments, inputs.claims)
    actual = [(line.claim_id, line.item, line.benefit, fmt(line.amount), line.reason.value if line.reason else "")
              for line in result.lines]
    expected = []
    for line in case.get("expect", []):
        amount = Decimal(str(line.get("amount", "0")))
        expected.append((str(line.get("claim_id", "")), str(line.get("item", "") or ""),
                         str(line.get("benefit", "") or ""), fmt(amount), str(line.get("reason", "") or "")))
    differences = [f"缺少：{_show(e)}" for e in expected if e not in actual]
    differences += [f"多出：{_show(a)}" for a in actual if a not in expected]
    return CaseResult(name, differences)


def _show(line: tuple) -> str:
    claim_id, item, benefit, amount, reason = line
    return f"{claim_id} {item or '-'} {benefit or '-'} {amount} {reason or '（全额）'}"
