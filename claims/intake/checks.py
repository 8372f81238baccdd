"""Checks across rows and files: duplicated keys, unknown members and items, shares, dates, sums."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from datetime import date

from claims.engine.model import Enrollment
from claims.engine.periods import period_end, period_of, period_start
from claims.engine.values import ValueNotInForce, value_at
from claims.intake.lenient import key_text
from claims.intake.rows import Parsed, ParsedTable, header_positions
from claims.intake.tables import Table
from claims.money import fmt
from claims.policy.schema import Policy
from claims.problems import Problem


def check_members(table: ParsedTable) -> list[Problem]:
    return _duplicates(table, ("member_id",), "会员编号")


def resolve_items(table: ParsedTable, policy: Policy | Callable[[int], Policy | None]) -> None:
    """Enrollments may name the item by its Chinese name (医疗互助) as well as its code (medical): the
    record keeps the code. ``policy``: one policy, or the policy of each row's period."""
    for index, parsed in enumerate(table.rows):
        rules = policy(parsed.record.period) if callable(policy) else policy
        if rules is None:
            continue
        item = parsed.record.item
        by_name = {unicodedata.normalize("NFKC", i.name).strip(): i.code for i in rules.items}
        if rules.item(item) is None and unicodedata.normalize("NFKC", item) in by_name:
            record = parsed.record._replace(item=by_name[unicodedata.normalize("NFKC", item)])
            table.rows[index] = Parsed(parsed.row, record, parsed.raw)


def enrollment_problems(policy: Policy, e: Enrollment) -> list[tuple[str, str, str]]:
    """What ``policy`` forbids in one enrollment, as (column, code, Chinese message). The one rule used at
    import and again by every batch, against the policy that batch calculates with."""
    found = []
    item = policy.item(e.item)
    if item is None:
        codes = "、".join(f"{i.name}（{i.code}）" for i in policy.items)
        found.append(("item", "INPUT_UNKNOWN_ITEM",
                      f"保障项目“{e.item}”不在策略“{policy.scheme.name}”中（可用：{codes}）"))
    else:
        start = period_start(policy, e.period)
        try:
            limit = value_at(item.max_shares, start, f"{item.code}.max_shares")[0]
        except ValueNotInForce as error:
            found.append(("shares", "POLICY_VALUE_NOT_IN_FORCE", str(error)))
        else:
            if e.shares > limit:
                found.append(("shares", "INPUT_TOO_MANY_SHARES",
                              f"份数 {e.shares} 超过策略“{policy.scheme.name}”中“{item.name}”{e.period} 年度的上限 {limit} 份"))
    if period_of(policy, e.start_date) != e.period:
        found.append(("start_date", "INPUT_START_OUTSIDE_PERIOD",
                      f"保障起始日 {e.start_date} 不在互助期 {e.period}（{period_start(policy, e.period)} 至 "
                      f"{period_end(policy, e.period)}）内"))
    return found


def check_enrollments(table: ParsedTable, policy: Policy | Callable[[int], Policy | None],
                      member_ids: Iterable[str]) -> list[Problem]:
    """Items, shares and start dates against the policy; items given by Chinese name are resolved first.
    ``policy``: one policy for every row, or the policy of each row's period (None: no approved version)."""
    resolve_items(table, policy)
    known = set(member_ids)
    problems = _duplicates(table, ("member_id", "item", "period"), "同一会员、同一项目、同一互助期的参保")
    reported = {p.line for p in problems}
    answers: dict[tuple, list] = {}
    first: dict[tuple, int] = {}
    for parsed in table.rows:  # the same item once by code and once by name
        key = (parsed.record.member_id, parsed.record.item, parsed.record.period)
        if key in first and parsed.row not in reported:
            problems.append(Problem("INPUT_DUPLICATE_KEY", f"同一会员、同一项目、同一互助期的参保重复（第 {first[key]} 行已有）",
                                    *table.where(parsed.row, "item")))
        first.setdefault(key, parsed.row)
    for parsed in table.rows:
        e = parsed.record
        if e.member_id not in known:
            problems.append(Problem("INPUT_UNKNOWN_MEMBER", f"会员编号“{e.member_id}”不在会员名单中",
                                    *table.where(parsed.row, "member_id")))
        rules = policy(e.period) if callable(policy) else policy
        if rules is None:
            problems.append(Problem("POLICY_NOT_APPROVED",
                                    f"互助期 {e.period} 没有已批准的策略版本，无法核对保障项目和份数；请经办员发布"
                                    "（claims policy publish）、另一位审核员批准适用于该互助期的策略后再导入",
                                    *table.where(parsed.row, "period")))
            continue
        # the answer depends on the policy and the row's item, period, shares and start only: worked out once
        key = (id(rules), e.item, e.period, e.shares, e.start_date)
        found = answers.get(key)
        if found is None:
            found = answers[key] = enrollment_problems(rules, e)
        for column, code, message in found:
            problems.append(Problem(code, message, *table.where(parsed.row, column)))
    return problems


def check_claims(table: ParsedTable, member_ids: Iterable[str]) -> list[Problem]:
    """Checks across the columns of a row: the member is known, the cost parts add up, the dates are in order.
    A row with problems in other cells is still checked on the cells that parsed (one pass finds all)."""
    known = set(member_ids)
    problems = []
    rows = [(p.row, _values(p.record), p.raw) for p in table.rows]
    rows += [(number, values, values) for number, values in table.partial]
    for number, values, raw in sorted(rows, key=lambda r: r[0]):
        where = lambda field, row=number: table.where(row, field)  # noqa: E731
        member = values.get("member_id")
        if member is not None and member not in known:
            problems.append(Problem("INPUT_UNKNOWN_MEMBER", f"会员编号“{member}”不在会员名单中", *where("member_id")))
        amounts = [values.get(f) for f in ("insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope", "total_cost")]
        if None not in amounts:
            insurance, in_scope, out_of_scope, total = amounts
            parts = insurance + in_scope + out_of_scope
            if parts != total:
                problems.append(Problem(
                    "INPUT_COST_SUM",
                    f"医保统筹支付 {fmt(insurance)} + 个人自付 {fmt(in_scope)} + 个人自费 "
                    f"{fmt(out_of_scope)} = {fmt(parts)}，与医疗总费用 {fmt(total)} 不符", *where("total_cost")))
        admission, discharge, submitted = (values.get(f) for f in ("admission_date", "discharge_date", "submitted_date"))
        if admission is not None and discharge is not None and discharge < admission:
            problems.append(Problem("INPUT_DISCHARGE_BEFORE_ADMISSION",
                                    f"出院日期 {discharge} 早于入院日期 {admission}", *where("discharge_date")))
        if submitted is None:
            continue
        for field, label in (("admission_date", "入院日期"), ("discharge_date", "出院日期"),
                             ("diagnosis_date", "确诊日期")):
            day: date | None = values.get(field)
            if field == "diagnosis_date" and raw.get("diagnosis_date") in (None, ""):
                continue
            if day is not None and day > submitted:
                problems.append(Problem("INPUT_DATE_AFTER_SUBMISSION",
                                        f"{label} {day} 晚于申请日期 {submitted}", *where(field)))
    return problems


def _values(claim) -> dict:
    return {"member_id": claim.member_id, "total_cost": claim.total_cost, "insurance_paid": claim.insurance_paid,
            "self_pay_in_scope": claim.self_pay_in_scope, "self_pay_out_of_scope": claim.self_pay_out_of_scope,
            "admission_date": claim.admission_date, "discharge_date": claim.discharge_date,
            "diagnosis_date": claim.diagnosis_date, "submitted_date": claim.submitted_date}


def duplicated_claims(table: ParsedTable | Table) -> list[Problem]:
    """Claim ids given twice — checked over the whole file, even when workers each validate a share."""
    return _duplicates(table, ("claim_id",), "申请编号")


def _duplicates(table: ParsedTable | Table, fields: tuple[str, ...], what: str) -> list[Problem]:
    """Duplicated keys among the cells as submitted, so a row with another problem is still compared."""
    if isinstance(table, Table):
        positions, header = header_positions(table, "claims"), table.header
        columns, rows = {f: header[i] for f, i in positions.items()}, table.rows
    else:
        if any(problem.line == 1 for problem in table.problems):
            return []  # a header not understood is reported alone, not followed by a flood about its rows
        positions, columns, rows = table.header_index, table.columns, table.raw_rows
    indexes = [positions.get(field) for field in fields]
    if None in indexes:
        return []
    first_row: dict[tuple, int] = {}
    problems = []
    located = fields[-1] if len(fields) == 1 else fields[1]
    for number, cells in rows:
        key = tuple(key_text(cells[i]) if i < len(cells) and cells[i] is not None else "" for i in indexes)
        if not all(key):
            continue
        if key in first_row:
            problems.append(Problem("INPUT_DUPLICATE_KEY", f"{what}重复（第 {first_row[key]} 行已有）",
                                    table.file, number, columns.get(located, located)))
        else:
            first_row[key] = number
    return problems

