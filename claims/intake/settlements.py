"""The medical-insurance settlement list (免申即享, SPEC §11) → a claims table, through a mapping file.

The mapping is data (``mappings/settlements/*.yaml``): which column feeds which claim field, sums and
differences of amount columns, text joins, which ``med_type`` codes are which event types, the hospital
level from ``medins_lv``. The rows it makes are then read by the ordinary claims reader (``parse_table``),
so every rule of SPEC §3 applies and every problem is located at the settlement file's own row and column.

Rows of people who are not members and rows whose ``med_type`` maps to no event type are skipped and
counted. A row with the reversal flag (``refd_setl_flag`` = 1), or a cancelling row (the same ``setl_id``
again with a negative total), reverses the settlement of that ``setl_id``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from claims.intake.columns import CLAIM_COLUMNS, normalize_header
from claims.intake.lenient import CellError, parse_money
from claims.intake.rows import ParsedTable, parse_table
from claims.intake.tables import Table
from claims.money import parse_decimal
from claims.problems import Problem, ProblemsFound

MAPPINGS = Path(__file__).resolve().parent.parent.parent / "mappings"
DEFAULT_MAPPING = "national"
CLAIM_FIELDS = [c.name for c in CLAIM_COLUMNS]
MONEY_FIELDS = {"total_cost", "insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope"}
DATE_FIELDS = {"admission_date", "discharge_date", "submitted_date", "diagnosis_date"}
EXTRA_FIELDS = {"certno", "psn_name", "reversal"}
REQUIRED = {"claim_id", "certno", "event_type", "admission_date", "discharge_date", "hospital_level", "diagnoses",
            "total_cost", "insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope", "submitted_date"}
DATE_TIME = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2})[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$")


def mappings_folder() -> Path:
    """The shipped mappings/ folder: next to the installed ``claims`` package (wheel or checkout)."""
    return MAPPINGS


@dataclass(frozen=True)
class Source:
    """How one claim field is made: one column, a sum/difference of columns, or a join of columns."""

    kind: str  # column | sum | join
    plus: tuple[str, ...]
    minus: tuple[str, ...] = ()
    sep: str = ""
    optional: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return self.plus + self.minus

    @property
    def label(self) -> str:
        if self.kind == "sum":
            return "+".join(self.plus) + "".join(f"−{c}" for c in self.minus)
        return self.plus[0] if self.kind == "column" else "+".join(self.plus)


@dataclass(frozen=True)
class Mapping:
    name: str
    file: str
    fields: dict[str, Source]
    event_types: dict[str, str]
    hospital_levels: dict[str, int]
    reversal_values: frozenset[str]


def find_mapping(name_or_path: str | Path | None) -> Path:
    if name_or_path is None:
        return MAPPINGS / "settlements" / f"{DEFAULT_MAPPING}.yaml"
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    return MAPPINGS / "settlements" / f"{name_or_path}.yaml"


def load_mapping(name_or_path: str | Path | None = None) -> Mapping:
    """Read and check a mapping file; every problem located at the file (and the field)."""
    path = find_mapping(name_or_path)
    where = str(path)
    if not path.exists():
        raise ProblemsFound([Problem("MAPPING_NOT_FOUND", "找不到映射文件", where)])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        raise ProblemsFound([Problem("MAPPING_SYNTAX", "映射文件不是有效的 YAML", where,
                                     None if line is None else line + 1)]) from None
    problems: list[Problem] = []
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise ProblemsFound([Problem("MAPPING_INVALID", "映射文件须有 fields: 一节（申请字段: 结算清单列名）", where)])
    fields: dict[str, Source] = {}
    for name, spec in data["fields"].items():
        if name not in CLAIM_FIELDS and name not in EXTRA_FIELDS:
            problems.append(Problem("MAPPING_UNKNOWN_FIELD", f"“{name}”不是申请字段（可用：{'、'.join(CLAIM_FIELDS)}、"
                                    "certno、psn_name、reversal）", where, None, str(name)))
            continue
        source = _source(spec)
        if source is None:
            problems.append(Problem("MAPPING_BAD_SOURCE", "应为列名，或 {column: 列名}、{sum: [...], minus: [...]}、"
                                    "{join: [...], sep: ...} 之一", where, None, str(name)))
        elif source.kind == "sum" and name not in MONEY_FIELDS:
            problems.append(Problem("MAPPING_BAD_SOURCE", "只有金额字段可以是列的和或差", where, None, str(name)))
        else:
            fields[name] = source
    for name in sorted(REQUIRED - set(fields)):
        problems.append(Problem("MAPPING_MISSING_FIELD", f"映射缺少必需的字段“{name}”", where, None, name))
    events = {str(k).strip(): str(v).strip() for k, v in (data.get("event_types") or {}).items()}
    for code, event in events.items():
        if event not in ("inpatient", "outpatient_special"):
            problems.append(Problem("MAPPING_BAD_EVENT_TYPE", f"医疗类别 {code} 映射到“{event}”，应为 inpatient 或 "
                                    "outpatient_special", where, None, "event_types"))
    levels: dict[str, int] = {}
    for key, value in (data.get("hospital_levels") or {"1": 1, "2": 2, "3": 3}).items():
        if value not in (1, 2, 3):
            problems.append(Problem("MAPPING_BAD_LEVEL", f"医院等级 {key} 映射到“{value}”，应为 1、2 或 3", where, None,
                                    "hospital_levels"))
        levels[str(key).strip()] = value
    if problems:
        raise ProblemsFound(problems)
    return Mapping(str(data.get("name") or path.stem), where, fields, events, levels,
                   frozenset(str(v).strip() for v in (data.get("reversal_values") or ["1"])))


def _source(spec: Any) -> Source | None:
    if isinstance(spec, str) and spec.strip():
        return Source("column", (spec.strip(),))
    if not isinstance(spec, dict):
        return None
    optional = bool(spec.get("optional", False))
    if isinstance(spec.get("column"), str):
        return Source("column", (spec["column"].strip(),), optional=optional)
    if isinstance(spec.get("sum"), list):
        return Source("sum", tuple(str(c) for c in spec["sum"]), tuple(str(c) for c in spec.get("minus") or ()),
                      optional=optional)
    if isinstance(spec.get("join"), list):
        return Source("join", tuple(str(c) for c in spec["join"]), sep=str(spec.get("sep", "")), optional=optional)
    return None


@dataclass
class Skipped:
    row: int
    reason: str
    setl_id: str
    certno: str
    cells: list[Any]


@dataclass
class Reversal:
    row: int
    setl_id: str


@dataclass
class Translated:
    """What a settlement list says: claim rows (as a claims table), reversals, and the rows skipped."""

    file: str
    mapping: Mapping
    header: list[str]
    claims: Table
    member_of_row: dict[int, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # setl_id → psn_name
    reversals: list[Reversal] = field(default_factory=list)
    reversed_in_file: list[str] = field(default_factory=list)  # originals reversed in the same file
    skipped: list[Skipped] = field(default_factory=list)
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    source_rows: list[tuple[int, list[Any]]] = field(default_factory=list)  # the rows as submitted

    def skipped_count(self, reason: str) -> int:
        return sum(1 for s in self.skipped if s.reason == reason)


NOT_MEMBER = "非会员"
NOT_COVERED = "医疗类别不在补助范围"
UNKNOWN_REVERSAL = "冲销的结算不在本文件或库中"


def members_by_id_number(pairs) -> dict[str, str | tuple[str, ...]]:
    """ID number (upper case) → member id; a number two members share → the tuple of their ids."""
    found: dict[str, list[str]] = {}
    for number, member_id in pairs:
        found.setdefault(str(number).upper(), []).append(member_id)
    return {number: ids[0] if len(ids) == 1 else tuple(sorted(ids)) for number, ids in found.items()}


def translate(table: Table, mapping: Mapping, member_by_certno: dict) -> Translated:
    """The settlement rows as claim rows (header: the claim field names), located at the settlement file."""
    positions = {normalize_header(h): i for i, h in enumerate(table.header)}
    header_text = {normalize_header(h): h for h in table.header}
    done = Translated(table.file, mapping, table.header, Table(table.file, [], []), source_rows=table.rows)
    for name, source in mapping.fields.items():
        missing = [c for c in source.columns if normalize_header(c) not in positions]
        if missing and not source.optional:
            done.problems.append(Problem("SETTLEMENT_MISSING_COLUMN",
                                         f"缺少结算清单的列“{'、'.join(missing)}”（映射 {Path(mapping.file).name} 的 {name}）",
                                         table.file, 1, missing[0]))
    if done.problems:
        return done
    out_fields = [f for f in CLAIM_FIELDS if f in mapping.fields]
    if "member_id" not in out_fields:
        out_fields.insert(1, "member_id")
    done.claims.header = out_fields

    def cell(cells: list[Any], column: str) -> Any:
        index = positions.get(normalize_header(column))
        if index is None or index >= len(cells):
            return None
        value = cells[index]
        return value.strip() if isinstance(value, str) else value

    def value_of(number: int, cells: list[Any], name: str) -> Any:
        source = mapping.fields.get(name)
        if source is None:
            return None
        if source.kind == "column":
            return cell(cells, source.plus[0])
        if source.kind == "join":
            parts = [_text(cell(cells, c)) for c in source.plus]
            return source.sep.join(p for p in parts if p)
        total = Decimal("0")
        for sign, columns in ((1, source.plus), (-1, source.minus)):
            for column in columns:
                raw = cell(cells, column)
                if raw in (None, ""):
                    continue
                try:
                    amount = parse_money(raw)  # the intake's lenient money: 1,234.50, ¥1,234.50, full-width digits
                except CellError as error:
                    done.problems.append(Problem(error.code, error.message, table.file,
                                                 number, header_text.get(normalize_header(column), column)))
                    return None
                total += sign * amount
        return str(total)

    seen: dict[str, int] = {}
    for number, cells in table.rows:
        done.rows += 1
        lost = _number_cell(done, number, cells, cell, header_text)
        if lost:
            continue
        setl_id = _text(value_of(number, cells, "claim_id"))
        certno = _text(value_of(number, cells, "certno")).upper()
        flag = _text(value_of(number, cells, "reversal"))
        total = parse_decimal(_text(value_of(number, cells, "total_cost")))
        if flag in mapping.reversal_values or (setl_id in seen and total is not None and total < 0):
            done.reversals.append(Reversal(number, setl_id))
            continue
        member_id = member_by_certno.get(certno)
        if isinstance(member_id, tuple):  # two members share this ID number: never guess which one
            done.problems.append(Problem("SETTLEMENT_AMBIGUOUS_MEMBER",
                                         f"证件号码 {certno} 对应多个会员（{'、'.join(member_id)}），无法确定是谁；请先核对会员名单",
                                         table.file, number, _column_label(done, "member_id")))
            continue
        if member_id is None:
            done.skipped.append(Skipped(number, NOT_MEMBER, setl_id, certno, cells))
            continue
        med_type = _code(value_of(number, cells, "event_type"))
        event = mapping.event_types.get(med_type)
        if event is None:
            done.skipped.append(Skipped(number, NOT_COVERED, setl_id, certno, cells))
            continue
        row: dict[str, Any] = {}
        for name in out_fields:
            if name == "member_id":
                row[name] = member_id
            elif name == "event_type":
                row[name] = event
            elif name == "hospital_level":
                level = _text(value_of(number, cells, name))
                row[name] = mapping.hospital_levels.get(level[:1], level) if level else None
            elif name in DATE_FIELDS:
                row[name] = _day(value_of(number, cells, name))
            else:
                row[name] = value_of(number, cells, name)
        done.claims.rows.append((number, [row[name] for name in out_fields]))
        done.member_of_row[number] = member_id
        seen[setl_id] = number
        name = _text(value_of(number, cells, "psn_name"))
        if name:
            done.names[setl_id] = name
    reversed_ids = {r.setl_id for r in done.reversals}
    if reversed_ids & set(seen):
        done.reversed_in_file = sorted(reversed_ids & set(seen))
        index = out_fields.index("claim_id")
        done.claims.rows = [(n, c) for n, c in done.claims.rows if _text(c[index]) not in reversed_ids]
    return done


def _number_cell(done: Translated, number: int, cells: list[Any], cell, header_text: dict[str, str]) -> bool:
    """An ID number typed into Excel as a number has lost its last digits (Excel keeps 15): refuse it, rather
    than skip the row as a non-member; a long settlement id likewise."""
    found = False
    for name, what, limit in (("certno", "证件号码", 0), ("claim_id", "结算 ID", 16)):
        source = done.mapping.fields.get(name)
        if source is None or source.kind != "column":
            continue
        value = cell(cells, source.plus[0])
        if isinstance(value, (int, float)) and not isinstance(value, bool) and len(str(int(value))) >= limit:
            done.problems.append(Problem(
                "INPUT_NUMBER_CELL", f"{what}被 Excel 存成了数字（{value}），末几位可能已丢失；请把该列设为文本后重新导出",
                done.file, number, header_text.get(normalize_header(source.plus[0]), source.plus[0])))
            found = True
    return found


def parse_claims(done: Translated, today: date | None) -> ParsedTable:
    """The translated rows through the ordinary claims reader; problems located at the settlement columns."""
    parsed = parse_table(done.claims, "claims", today)
    parsed.columns = {name: _column_label(done, name) for name in done.claims.header}
    parsed.problems = [_relocated(done, p) for p in parsed.problems]
    return parsed


def relocate(done: Translated, problems: list[Problem]) -> list[Problem]:
    return [_relocated(done, p) for p in problems]


def _relocated(done: Translated, problem: Problem) -> Problem:
    if problem.file != done.file or problem.column is None:
        return problem
    field_name = _field_of(problem.column)
    if field_name is None:
        return problem
    return Problem(problem.code, problem.message, problem.file, problem.line, _column_label(done, field_name))


def _field_of(column: str) -> str | None:
    for c in CLAIM_COLUMNS:
        if column in (c.name, c.chinese, c.label):
            return c.name
    return None


def _column_label(done: Translated, name: str) -> str:
    if name == "member_id":
        source = done.mapping.fields["certno"]
    else:
        source = done.mapping.fields.get(name)
    return source.label if source else name


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _code(value: Any) -> str:
    text = _text(value)
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def _day(value: Any) -> Any:
    """A date-time (cell or text ``2025-06-01 10:30:00``) is its date; anything else goes to the claims reader."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        match = DATE_TIME.match(value)
        if match:
            year, month, day = (int(p) for p in match.group(1).split("-"))
            try:
                return date(year, month, day)
            except ValueError:
                return value
    return value


def read_settlement_inputs(policy, members: str | Path, enrollments: str | Path, settlements: str | Path,
                           mapping: Mapping, today: date | None = None):
    """``claims calculate --settlements``: members and enrollments as usual, claims from the settlement list.
    Returns (Inputs, Translated); raises ProblemsFound with every problem of every file."""
    from claims.intake import Inputs, read_tables
    from claims.intake.checks import check_claims, check_enrollments, check_members, duplicated_claims

    tables = read_tables({"members": members, "enrollments": enrollments, "settlements": settlements})
    parsed_members = parse_table(tables["members"], "members", today)
    by_certno = members_by_id_number((p.record.id_number, p.record.member_id) for p in parsed_members.rows)
    done = translate(tables["settlements"], mapping, by_certno)
    if done.problems:
        raise ProblemsFound(done.problems)
    claims = parse_claims(done, today)
    enrolled = parse_table(tables["enrollments"], "enrollments", today)
    member_ids = parsed_members.keys("member_id")
    problems = parsed_members.problems + enrolled.problems + claims.problems
    problems += check_members(parsed_members) + check_enrollments(enrolled, policy, member_ids)
    problems += duplicated_claims(claims) + check_claims(claims, member_ids)
    if problems:
        raise ProblemsFound(problems)
    return Inputs({p.record.member_id: p.record for p in parsed_members.rows}, [p.record for p in enrolled.rows],
                  [p.record for p in claims.rows]), done
