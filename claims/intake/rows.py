"""A table's rows → typed engine records, validated by pydantic in one call, every problem located."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from pydantic import ValidationError

from claims.engine.model import Claim, Enrollment, Member
from claims.intake.columns import KINDS, Column, alias_map, normalize_header
from claims.intake.lenient import CellError, clean_code, key_text, parse_date, parse_money
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
    partial: list[tuple[int, dict[str, Any]]] = dataclass_field(default_factory=list)  # rows with problems: cells that parsed

    def keys(self, field: str) -> set[str]:
        """Every value of ``field`` as submitted, valid rows or not: a reference to a row that has its own
        problem is not reported a second time as unknown."""
        position = self.header_index.get(field)
        found = {str(getattr(p.record, field)) for p in self.rows}
        if position is not None:
            found |= {key_text(cells[position]) for _, cells in self.raw_rows
                      if position < len(cells) and cells[position] is not None}
        return found

    def where(self, row: int, field: str) -> tuple[str, int, str]:
        return self.file, row, self.columns.get(field, field)


def header_positions(table: Table, kind: str) -> dict[str, int]:
    """Field name → column index, for the columns the file has."""
    return _header(table, KINDS[kind])[0]


def _header(table: Table, columns_spec: tuple[Column, ...]) -> tuple[dict[str, int], dict[str, str], list[Problem]]:
    """Field → column index. Missing required columns and unknown headers that look like a known column
    are reported once, at the header, naming the headers found and the nearest known name."""
    aliases = alias_map(columns_spec)
    positions: dict[str, int] = {}
    columns: dict[str, str] = {}
    problems: list[Problem] = []
    unknown: list[tuple[int, str]] = []
    for index, header in enumerate(table.header):
        field = aliases.get(normalize_header(header))
        if field is None:
            if header:
                unknown.append((index, header))
            continue  # extra columns (备注 …) are ignored
        if field in positions:
            problems.append(Problem("INPUT_DUPLICATE_COLUMN", f"列“{header}”与“{columns[field]}”是同一项，只能出现一次",
                                    table.file, 1, header))
            continue
        positions[field] = index
        columns[field] = header
    found = "、".join(f"“{h}”" for h in table.header if h) or "（无）"
    labels = {column.name: column for column in columns_spec}
    claimed: set[str] = set()
    for _, header in unknown:
        nearest = _nearest(header, columns_spec, set(positions))
        if nearest is not None and nearest.name not in claimed:
            claimed.add(nearest.name)
            if not nearest.required:  # a misspelt optional column would silently lose its data
                problems.append(Problem("INPUT_UNKNOWN_COLUMN",
                                        f"不认识的列“{header}”，是否应为“{nearest.chinese}”？请改用该列名；不需要的列请删除",
                                        table.file, 1, header))
    for column in columns_spec:
        if column.required and column.name not in positions:
            guess = next((h for _, h in unknown if _nearest(h, columns_spec, set(positions)) is labels[column.name]),
                         None)
            hint = f"；最接近的是“{guess}”，如是同一列请改为“{column.chinese}”" if guess else ""
            problems.append(Problem("INPUT_MISSING_COLUMN",
                                    f"缺少必需的列“{column.label}”{hint}（文件中的列：{found}）",
                                    table.file, 1, column.chinese))
    return positions, columns, problems


def _nearest(header: str, columns_spec: tuple[Column, ...], present: set[str]) -> Column | None:
    """The known column (not already present) whose name or alias is most like ``header``, if close enough."""
    text = normalize_header(header)
    best, score = None, 0.0
    for column in columns_spec:
        if column.name in present:
            continue
        for known in (column.name, column.chinese, *column.aliases):
            ratio = SequenceMatcher(None, text, normalize_header(known)).ratio()
            if ratio > score:
                best, score = column, ratio
    return best if score >= 0.6 else None


def parse_table(table: Table, kind: str, today: date | None = None) -> ParsedTable:
    """Every row validated; problems carry ``file:row:column`` in the SPEC's column order within a row.
    A header problem is reported alone: the rows are not read against a header that is not understood."""
    positions, columns, problems = _header(table, KINDS[kind])
    parsed = ParsedTable(kind, table.file, table.header, columns, [], problems, table.rows, positions)
    if problems:
        return parsed
    fields = list(positions.items())
    raws = [{field: cell for field, index in fields if index < len(cells)
             and (cell := cells[index]) is not None and cell != "" and not (cell.__class__ is str and cell.isspace())}
            for _, cells in table.rows]
    context = {"today": today}
    to_record = RECORDS[kind]
    formulas = _formula_cells(table, fields)
    try:
        valid = ROWS[kind].validate_python(raws, context=context)
    except ValidationError as error:
        _report(parsed, error.errors(), raws, kind, context, formulas)
        return parsed
    if formulas:
        _report(parsed, [], raws, kind, context, formulas)
        return parsed
    parsed.rows = [Parsed(number, to_record(row), raw) for (number, _), row, raw in zip(table.rows, valid, raws, strict=True)]
    return parsed


def _formula_cells(table: Table, fields: list[tuple[str, int]]) -> dict[tuple[int, str], str]:
    """(row index, field) → cell name, for every formula in a column the import reads."""
    if not table.formulas:
        return {}
    field_of = {index: field for field, index in fields}
    index_of = {number: index for index, (number, _) in enumerate(table.rows)}
    return {(index_of[row], field_of[column]): name for (row, column), name in table.formulas.items()
            if column in field_of and row in index_of}


# the cells the checks across columns need (sums, date order): parsed alone for a row with other problems,
# so that one pass reports every problem of the file
PARTIAL = {"member_id": clean_code, "total_cost": parse_money, "insurance_paid": parse_money,
           "self_pay_in_scope": parse_money, "self_pay_out_of_scope": parse_money, "admission_date": parse_date,
           "discharge_date": parse_date, "diagnosis_date": parse_date, "submitted_date": parse_date}


def _report(parsed: ParsedTable, errors: list[dict], raws: list[dict], kind: str, context: dict,
            formulas: dict[tuple[int, str], str]) -> None:
    """The slow path, only for a file with problems: keep the valid rows, locate every problem."""
    by_cell: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for (index, field), name in formulas.items():
        by_cell[(index, field)].append({"type": "INPUT_FORMULA", "msg": (
            f"单元格 {name} 是公式；导入只接受数值，公式保存的结果可能与公式不一致。"
            "请复制该列后“选择性粘贴 → 数值”再提交")})
    for item in errors:
        index, field = item["loc"][0], str(item["loc"][1]) if len(item["loc"]) > 1 else ""
        if (index, field) not in formulas:
            by_cell[(index, field)].append(item)
    order = {column.name: i for i, column in enumerate(KINDS[kind])}
    bad_rows = {index for index, _ in by_cell}
    for (index, field), cell_errors in sorted(by_cell.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99))):
        code, text = message(field, cell_errors)
        parsed.problems.append(Problem(code, text, *parsed.where(parsed.raw_rows[index][0], field)))
    to_record = RECORDS[kind]
    for index, ((number, _), raw) in enumerate(zip(parsed.raw_rows, raws, strict=True)):
        if index not in bad_rows:
            parsed.rows.append(Parsed(number, to_record(ROW[kind].validate_python(raw, context=context)), raw))
        elif kind == "claims":
            values = {}
            for field, parse in PARTIAL.items():
                if field in raw and (index, field) not in by_cell:
                    try:
                        values[field] = parse(raw[field])
                    except CellError:
                        pass
            parsed.partial.append((number, values))
