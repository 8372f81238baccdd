"""CSV/XLSX readers: header aliases, typed records, every row-level problem located as file:row:column."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from claims.engine.model import Claim, Enrollment, Member
from claims.intake.checks import check_claims, check_enrollments, check_members, duplicated_claims
from claims.intake.lenient import CellError, key_text, parse_date
from claims.intake.rows import header_positions, parse_table
from claims.intake.tables import Table, read_table
from claims.policy.schema import Policy
from claims.problems import Problem, ProblemsFound


@dataclass(frozen=True)
class Inputs:
    members: dict[str, Member]
    enrollments: list[Enrollment]
    claims: list[Claim]
    invoice_holders: dict[str, str] | None = None  # with a share: each invoice's first holder among all claims


@dataclass(frozen=True)
class Share:
    """Worker ``index`` of ``count`` owns the members whose id hashes to it, with their enrollments and claims."""

    index: int
    count: int

    def owns(self, member_id: object) -> bool:
        return zlib.crc32(key_text(member_id).encode()) % self.count == self.index


def read_inputs(policy: Policy, members: str | Path, enrollments: str | Path, claims: str | Path,
                today: date | None = None, share: Share | None = None) -> Inputs:
    """The three input files, checked together; raises ProblemsFound with every problem of every file.
    With ``share``, only that share of the members is validated and returned (its problems, its records).

    Valid CSV files are read by the columnar path (``columnar.py``); whenever it cannot prove every row
    valid, the files are read and checked row by row, which words every problem."""
    if share is None:
        from claims.intake.columnar import read_inputs_fast

        fast = read_inputs_fast(policy, {"members": members, "enrollments": enrollments, "claims": claims}, today)
        if fast is not None:
            return fast
    tables = read_tables({"members": members, "enrollments": enrollments, "claims": claims})
    return check_tables(policy, tables, today, share)


def read_tables(paths: dict[str, str | Path]) -> dict[str, Table]:
    """Several files read together; raises ProblemsFound with the problems of all of them."""
    problems: list[Problem] = []
    tables: dict[str, Table] = {}
    for kind, path in paths.items():
        try:
            tables[kind] = read_table(path)
        except ProblemsFound as found:
            problems.extend(found.problems)
    if problems:
        raise ProblemsFound(problems)
    return tables


def check_tables(policy: Policy, tables: dict[str, Table], today: date | None = None,
                 share: Share | None = None) -> Inputs:
    """Validate the rows of the three tables and the references between them."""
    everything = tables
    holders = None
    if share is not None:
        tables = {kind: _owned(table, kind, share) for kind, table in tables.items()}
    parsed = {kind: parse_table(table, kind, today) for kind, table in tables.items()}
    problems = [problem for table in parsed.values() for problem in table.problems]
    members = parsed["members"]
    member_ids = members.keys("member_id")
    if share is not None:
        member_ids = column(everything["members"], "members", "member_id")
        holders = first_invoice_holders(everything["claims"])
    problems.extend(check_members(members))
    problems.extend(check_enrollments(parsed["enrollments"], policy, member_ids))
    owned_rows = {number for number, _ in tables["claims"].rows}
    problems.extend(p for p in duplicated_claims(everything["claims"]) if p.line in owned_rows)
    problems.extend(check_claims(parsed["claims"], member_ids))
    if problems:
        raise ProblemsFound(problems)
    return Inputs(
        {p.record.member_id: p.record for p in members.rows},
        [p.record for p in parsed["enrollments"].rows],
        [p.record for p in parsed["claims"].rows],
        holders,
    )


def _owned(table: Table, kind: str, share: Share) -> Table:
    index = header_positions(table, kind).get("member_id")
    if index is None:
        return table  # the missing column is reported by parse_table
    return Table(table.file, table.header,
                 [(n, cells) for n, cells in table.rows if share.owns(cells[index] if index < len(cells) else "")],
                 table.formulas, table.notices)


def column(table: Table, kind: str, field: str) -> set[str]:
    index = header_positions(table, kind).get(field)
    if index is None:
        return set()
    return {key_text(cells[index]) for _, cells in table.rows if index < len(cells) and cells[index] is not None}


def first_invoice_holders(table: Table) -> dict[str, str]:
    """Each invoice number's first holder in evaluation order (discharge date, claim id), from the cells as
    submitted: settled for every worker before the members are split."""
    positions = header_positions(table, "claims")
    try:
        discharge, claim_id, invoice = (positions[f] for f in ("discharge_date", "claim_id", "invoice_no"))
    except KeyError:
        return {}
    keyed = []
    for _, cells in table.rows:
        if invoice < len(cells) and cells[invoice]:
            keyed.append((_day_key(cells[discharge]),
                          key_text(cells[claim_id]), key_text(cells[invoice])))
    holders: dict[str, str] = {}
    for _, claim, number in sorted(keyed):
        holders.setdefault(number, claim)
    return holders


def _day_key(cell: object) -> str:
    """A discharge date as the row parser reads it (2025/6/1 sorts as 2025-06-01), or its text if invalid."""
    try:
        return parse_date(cell).isoformat()
    except CellError:
        return str(cell).strip()
