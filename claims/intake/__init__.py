"""CSV/XLSX readers: header aliases, typed records, every row-level problem located as file:row:column."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from claims.engine.model import Claim, Enrollment, Member
from claims.intake.checks import check_claims, check_enrollments, check_members
from claims.intake.rows import ParsedTable, parse_table
from claims.intake.tables import Table, read_table
from claims.policy.schema import Policy
from claims.problems import Problem, ProblemsFound


@dataclass(frozen=True)
class Inputs:
    members: dict[str, Member]
    enrollments: list[Enrollment]
    claims: list[Claim]


def read_parsed(path: str | Path, kind: str, today: date | None = None) -> ParsedTable:
    """Read and validate one file row by row; a file-level problem (missing, unreadable) raises."""
    return parse_table(read_table(path), kind, today)


def read_inputs(policy: Policy, members: str | Path, enrollments: str | Path, claims: str | Path,
                today: date | None = None) -> Inputs:
    """The three input files, checked together; raises ProblemsFound with every problem of every file."""
    problems: list[Problem] = []
    tables: dict[str, Table] = {}
    for kind, path in (("members", members), ("enrollments", enrollments), ("claims", claims)):
        try:
            tables[kind] = read_table(path)
        except ProblemsFound as found:
            problems.extend(found.problems)
    if problems:
        raise ProblemsFound(problems)
    return check_tables(policy, tables, today)


def check_tables(policy: Policy, tables: dict[str, Table], today: date | None = None) -> Inputs:
    """Validate the rows of the three tables and the references between them."""
    parsed = {kind: parse_table(table, kind, today) for kind, table in tables.items()}
    problems = [problem for table in parsed.values() for problem in table.problems]
    members = parsed["members"]
    member_ids = members.keys("member_id")
    problems.extend(check_members(members))
    problems.extend(check_enrollments(parsed["enrollments"], policy, member_ids))
    problems.extend(check_claims(parsed["claims"], member_ids))
    if problems:
        raise ProblemsFound(problems)
    return Inputs(
        {p.record.member_id: p.record for p in members.rows},
        [p.record for p in parsed["enrollments"].rows],
        [p.record for p in parsed["claims"].rows],
    )
