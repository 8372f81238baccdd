"""Row models (pydantic, at the edge) and the conversion of a table into typed records with located problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from claims.engine.model import Claim, Enrollment, Member
from claims.intake.columns import KINDS, Column, alias_map, normalize_header
from claims.intake.tables import Table
from claims.intake.values import (
    Account,
    Day,
    Diagnoses,
    EventTypeValue,
    HospitalLevel,
    Ident,
    IdNumber,
    Money,
    OptionalDay,
    OptionalText,
    Period,
    Phone,
    Procedures,
    RequiredText,
    Shares,
)
from claims.problems import Problem


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class MemberRow(_Row):
    member_id: Ident
    name: RequiredText
    id_number: IdNumber
    unit: RequiredText
    bank_name: OptionalText = ""
    bank_account: Account = ""
    phone: Phone = ""

    def record(self) -> Member:
        from stdnum.cn import ric

        gender = "male" if int(self.id_number[16]) % 2 == 1 else "female"
        return Member(self.member_id, self.name, self.id_number, gender, ric.get_birth_date(self.id_number),
                      self.unit, self.bank_name, self.bank_account, self.phone)


class EnrollmentRow(_Row):
    member_id: Ident
    item: RequiredText
    period: Period
    shares: Shares = 1
    start_date: Day

    def record(self) -> Enrollment:
        return Enrollment(self.member_id, self.item, self.period, self.shares, self.start_date)


class ClaimRow(_Row):
    claim_id: Ident
    member_id: Ident
    event_type: EventTypeValue
    admission_date: Day
    discharge_date: Day
    diagnosis_date: OptionalDay = None
    hospital_level: HospitalLevel
    diagnoses: Diagnoses
    procedures: Procedures = ()
    total_cost: Money
    insurance_paid: Money
    self_pay_in_scope: Money
    self_pay_out_of_scope: Money
    invoice_no: OptionalText = ""
    submitted_date: Day

    def record(self) -> Claim:
        return Claim(
            self.claim_id, self.member_id, self.event_type, self.admission_date, self.discharge_date,
            self.diagnosis_date or self.admission_date, self.hospital_level, self.diagnoses, self.procedures,
            self.total_cost, self.insurance_paid, self.self_pay_in_scope, self.self_pay_out_of_scope,
            self.invoice_no, self.submitted_date,
        )


MODELS = {"members": MemberRow, "enrollments": EnrollmentRow, "claims": ClaimRow}


@dataclass(frozen=True)
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


def parse_table(table: Table, kind: str, today: date | None = None) -> ParsedTable:
    """Every row validated; problems carry ``file:row:column``. Rows with problems are left out."""
    columns_spec: tuple[Column, ...] = KINDS[kind]
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
            problems.append(Problem("INPUT_MISSING_COLUMN", f"缺少必需的列“{column.label}”", table.file, 1,
                                    column.chinese))
    parsed = ParsedTable(kind, table.file, table.header, columns, [], problems, table.rows, positions)
    if problems:
        return parsed
    model = MODELS[kind]
    context = {"today": today}
    for number, cells in table.rows:
        raw = {field: cells[index] if index < len(cells) else None for field, index in positions.items()}
        try:
            row = model.model_validate(raw, context=context)
        except ValidationError as exc:
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                code = error["type"] if error["type"].startswith("INPUT_") else "INPUT_INVALID"
                problems.append(Problem(code, error["msg"] if code != "INPUT_INVALID" else "取值无效",
                                        *parsed.where(number, field)))
            continue
        parsed.rows.append(Parsed(number, row.record(), raw))
    return parsed
