"""Checks across rows and files: duplicated keys, unknown members and items, shares, dates, sums."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from claims.engine.model import Enrollment
from claims.engine.periods import period_end, period_of, period_start
from claims.engine.values import ValueNotInForce, value_at
from claims.intake.rows import ParsedTable, header_positions
from claims.intake.tables import Table
from claims.money import fmt
from claims.policy.schema import Policy
from claims.problems import Problem


def check_members(table: ParsedTable) -> list[Problem]:
    return _duplicates(table, ("member_id",), "会员编号")


def enrollment_problems(policy: Policy, e: Enrollment) -> list[tuple[str, str, str]]:
    """What ``policy`` forbids in one enrollment, as (column, code, Chinese message). The one rule used at
    import and again by every batch, against the policy that batch calculates with."""
    found = []
    item = policy.item(e.item)
    if item is None:
        codes = "、".join(i.code for i in policy.items)
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
    """``policy``: one policy for every row, or the policy of each row's period (None: no approved version)."""
    known = set(member_ids)
    problems = _duplicates(table, ("member_id", "item", "period"), "同一会员、同一项目、同一互助期的参保")
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
        for column, code, message in enrollment_problems(rules, e):
            problems.append(Problem(code, message, *table.where(parsed.row, column)))
    return problems


def check_claims(table: ParsedTable, member_ids: Iterable[str]) -> list[Problem]:
    known = set(member_ids)
    problems = []
    for parsed in table.rows:
        c = parsed.record
        where = lambda field, row=parsed.row: table.where(row, field)  # noqa: E731
        if c.member_id not in known:
            problems.append(Problem("INPUT_UNKNOWN_MEMBER", f"会员编号“{c.member_id}”不在会员名单中", *where("member_id")))
        parts = c.insurance_paid + c.self_pay_in_scope + c.self_pay_out_of_scope
        if parts != c.total_cost:
            problems.append(Problem(
                "INPUT_COST_SUM",
                f"医保统筹支付 {fmt(c.insurance_paid)} + 个人自付 {fmt(c.self_pay_in_scope)} + 个人自费 "
                f"{fmt(c.self_pay_out_of_scope)} = {fmt(parts)}，与医疗总费用 {fmt(c.total_cost)} 不符", *where("total_cost")))
        if c.discharge_date < c.admission_date:
            problems.append(Problem("INPUT_DISCHARGE_BEFORE_ADMISSION",
                                    f"出院日期 {c.discharge_date} 早于入院日期 {c.admission_date}", *where("discharge_date")))
        for field, label in (("admission_date", "入院日期"), ("discharge_date", "出院日期"),
                             ("diagnosis_date", "确诊日期")):
            day: date | None = getattr(c, field)
            if field == "diagnosis_date" and parsed.raw.get("diagnosis_date") in (None, ""):
                continue
            if day is not None and day > c.submitted_date:
                problems.append(Problem("INPUT_DATE_AFTER_SUBMISSION",
                                        f"{label} {day} 晚于申请日期 {c.submitted_date}", *where(field)))
    return problems


def duplicated_claims(table: ParsedTable | Table) -> list[Problem]:
    """Claim ids given twice — checked over the whole file, even when workers each validate a share."""
    return _duplicates(table, ("claim_id",), "申请编号")


def _duplicates(table: ParsedTable | Table, fields: tuple[str, ...], what: str) -> list[Problem]:
    """Duplicated keys among the cells as submitted, so a row with another problem is still compared."""
    if isinstance(table, Table):
        positions, header = header_positions(table, "claims"), table.header
        columns, rows = {f: header[i] for f, i in positions.items()}, table.rows
    else:
        positions, columns, rows = table.header_index, table.columns, table.raw_rows
    indexes = [positions.get(field) for field in fields]
    if None in indexes:
        return []
    first_row: dict[tuple, int] = {}
    problems = []
    located = fields[-1] if len(fields) == 1 else fields[1]
    for number, cells in rows:
        key = tuple(str(cells[i]).strip() if i < len(cells) and cells[i] is not None else "" for i in indexes)
        if not all(key):
            continue
        if key in first_row:
            problems.append(Problem("INPUT_DUPLICATE_KEY", f"{what}重复（第 {first_row[key]} 行已有）",
                                    table.file, number, columns.get(located, located)))
        else:
            first_row[key] = number
    return problems
