"""A table's rows → typed engine records, validated by pydantic in one call, every problem located."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from claims.engine.model import Claim, Enrollment, Member
from claims.intake.columns import KINDS, Column, alias_map, normalize_header
from claims.intake.messages import message
from claims.intake.schemas import ROW, ROWS, birth_date, split_codes
from claims.intake.tables import Table
from claims.problems import Problem

EVENT_TYPES = {"住院": "inpatient", "规定病种门诊": "outpatient_special"}
LEVELS = {"一级": 1, "二级": 2, "三级": 3}


def member_of(row: dict) -> Member:
    number = row["id_number"].upper()
    return Member(row["member_id"], row["name"], number, "male" if int(number[16]) % 2 else "female",
                  birth_date(number), row["unit"], row.get("bank_name", ""),
                  row.get("bank_account", "").replace(" ", ""), row.get("phone", ""))


def enrollment_of(row: dict) -> Enrollment:
    return Enrollment(row["member_id"], row["item"], row["period"], row.get("shares", 1), row["start_date"])


def claim_of(row: dict) -> Claim:
    event_type = row["event_type"]
    level = row["hospital_level"]
    return Claim(row["claim_id"], row["member_id"], EVENT_TYPES.get(event_type, event_type), row["admission_date"],
                 row["discharge_date"], row.get("diagnosis_date") or row["admission_date"],
                 LEVELS.get(level, level), split_codes(row["diagnoses"]), split_codes(row.get("procedures", "")),
                 row["total_cost"], row["insurance_paid"], row["self_pay_in_scope"], row["self_pay_out_of_scope"],
                 row.get("invoice_no", ""), row["submitted_date"])


RECORDS = {"members": member_of, "enrollments": enrollment_of, "claims": claim_of}


@dataclass(frozen=True, slots=True)
class Parsed:
    """One valid row: its record, where it came from, and the cells as submitted (for error workbooks)."""

    row: int
    record: Any
    raw: dict[str, Any]


@dataclass
class ParsedTable:
    kind: str
    file: str
    header: list[str]
    columns: dict[str, str]  # field name → header text as written in the file
    rows: list[Parsed]
    problems: list[Problem]
    raw_rows: list[tuple[int, list[Any]]]
    header_index: dict[str, int]

    def keys(self, field: str) -> set[str]:
        """Every value of ``field`` as submitted, valid rows or not: a reference to a row that has its own
        problem is not reported a second time as unknown."""
        position = self.header_index.get(field)
        found = {str(getattr(p.record, field)) for p in self.rows}
        if position is not None:
            found |= {str(cells[position]).strip() for _, cells in self.raw_rows
                      if position < len(cells) and cells[position] is not None}
        return found

    def where(self, row: int, field: str) -> tuple[str, int, str]:
        return self.file, row, self.columns.get(field, field)


def header_positions(table: Table, kind: str) -> dict[str, int]:
    """Field name → column index, for the columns the file has."""
    return _header(table, KINDS[kind])[0]


def _header(table: Table, columns_spec: tuple[Column, ...]) -> tuple[dict[str, int], dict[str, str], list[Problem]]:
    aliases = alias_map(columns_spec)
    positions: dict[str, int] = {}
    columns: dict[str, str] = {}
    problems: list[Problem] = []
    for index, header in enumerate(table.header):
        field = aliases.get(normalize_header(header))
        if field is None:
            continue  # extra columns are ignored
        if field in positions:
            problems.append(Problem("INPUT_DUPLICATE_COLUMN", f"列“{header}”与“{columns[field]}”是同一项，只能出现一次",
                                    table.file, 1, header))
            continue
        positions[field] = index
        columns[field] = header
    for column in columns_spec:
        if column.required and column.name not in positions:
            problems.append(Problem("INPUT_MISSING_COLUMN", f"缺少必需的列“{column.label}”", table.file, 1, column.chinese))
    return positions, columns, problems


def parse_table(table: Table, kind: str, today: date | None = None) -> ParsedTable:
    """Every row validated; problems carry ``file:row:column`` in the SPEC's column order within a row."""
    positions, columns, problems = _header(table, KINDS[kind])
    parsed = ParsedTable(kind, table.file, table.header, columns, [], problems, table.rows, positions)
    if problems:
        return parsed
    fields = list(positions.items())
    raws = [{field: cells[index] for field, index in fields if index < len(cells) and cells[index] not in ("", None)}
            for _, cells in table.rows]
    context = {"today": today}
    to_record = RECORDS[kind]
    try:
        valid = ROWS[kind].validate_python(raws, context=context)
    except ValidationError as error:
        _report(parsed, error, raws, kind, context)
        return parsed
    parsed.rows = [Parsed(number, to_record(row), raw) for (number, _), row, raw in zip(table.rows, valid, raws, strict=True)]
    return parsed


def _report(parsed: ParsedTable, error: ValidationError, raws: list[dict], kind: str, context: dict) -> None:
    """The slow path, only for a file with problems: keep the valid rows, locate every problem."""
    by_cell: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for item in error.errors():
        index, field = item["loc"][0], str(item["loc"][1]) if len(item["loc"]) > 1 else ""
        by_cell[(index, field)].append(item)
    order = {column.name: i for i, column in enumerate(KINDS[kind])}
    bad_rows = {index for index, _ in by_cell}
    for (index, field), errors in sorted(by_cell.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99))):
        code, text = message(field, errors)
        parsed.problems.append(Problem(code, text, *parsed.where(parsed.raw_rows[index][0], field)))
    to_record = RECORDS[kind]
    for index, ((number, _), raw) in enumerate(zip(parsed.raw_rows, raws, strict=True)):
        if index not in bad_rows:
            parsed.rows.append(Parsed(number, to_record(ROW[kind].validate_python(raw, context=context)), raw))
