"""Importing members, enrollments and claims: atomic, idempotent, conflicts reported, never overwritten.

A file with any problem imports nothing. The same file twice changes nothing. A changed row for a key
that already exists is a conflict — except a claim that was returned (退回) for documents: its row is a
resubmission, which makes a new version and puts the claim back to ``received``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.engine import Claim, Enrollment, Member
from claims.intake.checks import check_claims, check_enrollments, check_members, duplicated_claims
from claims.intake.rows import Parsed, ParsedTable, parse_table
from claims.intake.tables import read_table
from claims.policy import LoadedPolicy
from claims.policy.schema import Policy
from claims.problems import Problem, ProblemsFound
from claims.store.bulk import insert_rows
from claims.store.models import ClaimRow, ClaimVersion, EnrollmentRow, ImportRecord, MemberRow
from claims.store.records import claim_fields, claim_record, member_record
from claims.workflow import audit_log
from claims.workflow.ledger import end_lines, new_event
from claims.workflow.policy_versions import check_named_file, loaded_of, version_in_force
from claims.workflow.units import agent_unit, scope_problems, unit_member_ids
from claims.workflow.users import require

KIND_NAMES = {"members": "会员", "enrollments": "参保", "claims": "申请"}


@dataclass
class ImportResult:
    kind: str
    file: str
    rows: int = 0
    added: int = 0
    unchanged: int = 0
    resubmitted: int = 0
    contact_updated: int = 0  # members whose bank account, bank or phone changed (nothing else)
    problems: list[Problem] = field(default_factory=list)
    import_id: int | None = None
    table: ParsedTable | None = None
    notices: list[Problem] = field(default_factory=list)  # told to the user (e.g. other sheets hold data)


def row_sha256(record: Claim | Member | Enrollment) -> str:
    """Hash of a row's meaning (not its spelling): the same member from CSV or XLSX hashes the same."""
    return hashlib.sha256(row_json(record).encode()).hexdigest()


# The hashed text is fixed by the rows already stored (an idempotent re-import compares it): it is what
# ``json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)`` gives for the row's fields — every
# member and claim field as text, an enrollment's period and shares as numbers. Written out here with the
# JSON encoder's own string escaping (a tenth of the cost of building a dict and an encoder per row);
# tests/store/test_columnar_imports.py checks it against that definition on generated and hostile rows.
_MEMBER_JSON = ('{"bank_account": %s, "bank_name": %s, "birth_date": %s, "gender": %s, "id_number": %s, '
                '"member_id": %s, "name": %s, "phone": %s, "unit": %s}')
_CLAIM_JSON = ('{"admission_date": %s, "claim_id": %s, "diagnoses": %s, "diagnosis_date": %s, "discharge_date": %s, '
               '"event_type": %s, "hospital_level": %s, "insurance_paid_fen": %s, "invoice_no": %s, "member_id": %s, '
               '"procedures": %s, "self_pay_in_scope_fen": %s, "self_pay_out_of_scope_fen": %s, '
               '"submitted_date": %s, "total_cost_fen": %s}')
_ENROLLMENT_JSON = '{"item": %s, "member_id": %s, "period": %s, "shares": %s, "start_date": %s}'


def claim_json_of(fields: dict[str, Any]) -> str:
    """The hashed text of a claim from its column values (``claim_record``), each as text."""
    text = encode_basestring
    return _CLAIM_JSON % tuple(text(str(fields[name])) for name in _CLAIM_FIELDS)


_CLAIM_FIELDS = ("admission_date", "claim_id", "diagnoses", "diagnosis_date", "discharge_date", "event_type",
                 "hospital_level", "insurance_paid_fen", "invoice_no", "member_id", "procedures",
                 "self_pay_in_scope_fen", "self_pay_out_of_scope_fen", "submitted_date", "total_cost_fen")


def row_json(record: Claim | Member | Enrollment) -> str:
    """The text ``row_sha256`` hashes."""
    text = encode_basestring
    if isinstance(record, Claim):
        return claim_json_of(claim_record(record))
    if isinstance(record, Member):
        return _MEMBER_JSON % (
            text(str(record.bank_account)), text(str(record.bank_name)), text(str(record.birth_date)),
            text(str(record.gender)), text(str(record.id_number)), text(str(record.member_id)), text(str(record.name)),
            text(str(record.phone)), text(str(record.unit)))
    return _ENROLLMENT_JSON % (text(record.item), text(record.member_id), int.__repr__(record.period),
                               int.__repr__(record.shares), text(record.start_date.isoformat()))


def import_file(session: Session, kind: str, path: str | Path, user: str,
                policy: Policy | LoadedPolicy | None = None, today: date | None = None,
                columnar: bool = True) -> ImportResult:
    """Validate the whole file, then write all of it or nothing. Problems are returned, not raised.

    Enrollments are checked against ``policy``; without one, each row against the approved policy version
    in force for its period. A file named by the user (``LoadedPolicy``) must be an approved version once
    the database holds approved versions.

    A CSV file is first tried by the columnar intake (``_import_columnar``); whenever that cannot prove the
    whole file valid and every row new or unchanged, the row path below reads it and words every problem
    (``columnar`` false: the row path only, as the tests compare)."""
    require(session, user, "import")
    if isinstance(policy, LoadedPolicy):
        check_named_file(session, policy)
        policy = policy.policy
    if columnar:
        fast = _import_columnar(session, kind, path, user, policy, today or date.today())
        if fast is not None:
            return fast
    try:
        raw = read_table(path)
    except ProblemsFound as found:
        return ImportResult(kind, str(path), problems=found.problems)
    table = parse_table(raw, kind, today or date.today())
    result = import_parsed(session, kind, path, table, user, policy)
    result.notices = raw.notices
    return result


def import_parsed(session: Session, kind: str, path: str | Path, table: ParsedTable, user: str,
                  policy: Policy | None = None, record_kind: str | None = None) -> ImportResult:
    """Import rows already read and validated (``import_file``, or a settlement list through its mapping)."""
    result = ImportResult(kind, str(path))
    result.table, result.rows = table, len(table.raw_rows)
    problems = list(table.problems)
    unit = agent_unit(session, user)
    if not any(p.line == 1 for p in problems):  # one pass: row problems do not hide checks across rows
        if unit is not None:  # an agent: rows outside their unit first, and nothing of other units said
            problems += scope_problems(session, kind, table, unit)
            scoped = {(p.line, p.column) for p in problems}
            problems += [p for p in _cross_checks(session, kind, table, policy, unit)
                         if (p.line, p.column) not in scoped]
        else:
            problems += _cross_checks(session, kind, table, policy)
    plan = _plan(session, kind, table, result, user) if not problems else []
    problems += result.problems
    result.problems = sorted(problems, key=lambda p: (p.line or 0))
    if result.problems:
        result.added = result.unchanged = result.resubmitted = 0
        return result
    return _write(session, kind, path, result, plan, user, record_kind)


def _write(session: Session, kind: str, path: str | Path, result: ImportResult, plan: list, user: str,
           record_kind: str | None = None) -> ImportResult:
    """Carry out the plan of a file without problems, with its import record and audit entry."""
    if not plan:
        return result  # every row already stored as it is: nothing to write, not even an import record
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    record = ImportRecord(kind=record_kind or kind, file_name=Path(path).name, file_sha256=digest, rows=result.rows,
                          added=result.added, unchanged=result.unchanged, resubmitted=result.resubmitted,
                          imported_by=user, imported_at=audit_log.now())
    session.add(record)
    session.flush()
    result.import_id = record.id
    for action in plan:
        action(record.id)
    session.flush()
    audit_log.append(session, user, f"import.{record_kind or kind}", "import", record.id,
                     {"file": record.file_name, "sha256": digest, "rows": result.rows, "added": result.added,
                      "contact_updated": result.contact_updated,
                      "unchanged": result.unchanged, "resubmitted": result.resubmitted})
    return result


def _import_columnar(session: Session, kind: str, path: str | Path, user: str, policy: Policy | None,
                     today: date) -> ImportResult | None:
    """The fast path of a valid CSV file: rows read and proved valid column by column (``columnar.py``: the
    same field validators and checks across rows and files as the row path), each row's hash and key
    compared with what is stored, the new rows written. None — nothing read or written — when anything needs
    the row path's words or actions: a row it cannot prove valid, an agent (whose scope the row path
    checks), a conflict, a resubmission or a contact change."""
    from claims.intake.columnar import read_records_fast

    if agent_unit(session, user) is not None:
        return None
    known = set(session.scalars(select(MemberRow.member_id))) if kind != "members" else None
    rules = (policy if policy is not None else _approved_policies(session)) if kind == "enrollments" else None
    records = read_records_fast(path, kind, today, known, rules)
    if records is None:
        return None
    result = ImportResult(kind, str(path), rows=len(records))
    stored = _stored(session, kind, {record.period for record in records} if kind == "enrollments" else set())
    new_rows = []
    for record in records:
        fields = claim_record(record) if kind == "claims" else None  # worked out once: hashed and stored
        digest = hashlib.sha256((claim_json_of(fields) if fields else row_json(record)).encode()).hexdigest()
        found = stored.get(_key(kind, record))
        if found is None:
            new_rows.append(_row(kind, record, digest, fields))
        elif found[0] == digest and found[1] != "returned":
            result.unchanged += 1
        else:
            return None  # the row path words the conflict, or applies the resubmission or contact change
    result.added = len(new_rows)
    return _write(session, kind, path, result, [_inserter(session, kind, new_rows)] if new_rows else [], user)


def _cross_checks(session: Session, kind: str, table: ParsedTable, policy: Policy | None,
                  unit: str | None = None) -> list[Problem]:
    """``unit``: an agent's; only that unit's members are known (another unit's are never hinted at)."""
    if kind == "members":
        return check_members(table)
    known = set(session.scalars(select(MemberRow.member_id))) if unit is None else unit_member_ids(session, unit)
    if kind == "enrollments":
        return check_enrollments(table, policy if policy is not None else _approved_policies(session), known)
    return duplicated_claims(table) + check_claims(table, known)


def _approved_policies(session: Session):
    """period → the approved policy in force for it (None: no approved version), each version parsed once."""
    parsed: dict[int, Policy] = {}

    def policy_for(period: int) -> Policy | None:
        version = version_in_force(session, period)
        if version is None:
            return None
        if version.id not in parsed:
            parsed[version.id] = loaded_of(version).policy
        return parsed[version.id]

    return policy_for


def _plan(session: Session, kind: str, table: ParsedTable, result: ImportResult, user: str) -> list:
    """Decide, row by row, what to write; conflicts become problems. Nothing is written here.
    What is already stored is read once, as keys and hashes, not row by row."""
    stored = _stored(session, kind, {p.record.period for p in table.rows} if kind == "enrollments" else set())
    actions, new_rows = [], []
    for parsed in table.rows:
        digest = row_sha256(parsed.record)
        key = _key(kind, parsed.record)
        known = stored.get(key)
        if known is None:
            new_rows.append(_row(kind, parsed.record, digest))
            result.added += 1
            continue
        known_digest, state = known
        if known_digest == digest and state != "returned":
            result.unchanged += 1
            continue
        existing = _existing(session, kind, parsed.record)
        if kind == "claims" and state == "returned":
            actions.append(_resubmitter(session, existing, parsed, digest, user))
            result.resubmitted += 1
        elif kind == "members" and _contact_change(existing, parsed.record):
            actions.append(_contact_updater(session, existing, parsed.record, digest, user))
            result.contact_updated += 1
        else:
            result.problems.append(_conflict(kind, table, parsed, existing))
    if new_rows:
        actions.insert(0, _inserter(session, kind, new_rows))
    return actions


MODELS = {"members": MemberRow, "enrollments": EnrollmentRow, "claims": ClaimRow}


def _key(kind: str, record) -> tuple:
    if kind == "members":
        return (record.member_id,)
    if kind == "claims":
        return (record.claim_id,)
    return (record.member_id, record.item, record.period)


def _stored(session: Session, kind: str, periods: set[int]) -> dict[tuple, tuple[str, str]]:
    """Key → (row hash, claim state) of the stored rows this file could touch (enrollments: of ``periods``)."""
    if kind == "members":
        query = select(MemberRow.member_id, MemberRow.row_sha256)
    elif kind == "claims":
        query = select(ClaimRow.claim_id, ClaimRow.row_sha256, ClaimRow.state)
    else:
        query = select(EnrollmentRow.member_id, EnrollmentRow.item, EnrollmentRow.period, EnrollmentRow.row_sha256) \
            .where(EnrollmentRow.period.in_(periods))
    found = {}
    for row in session.execute(query):
        if kind == "claims":
            found[(row[0],)] = (row[1], row[2])
        else:
            found[tuple(row[:-1])] = (row[-1], "")
    return found


def _existing(session: Session, kind: str, record):
    if kind == "members":
        return session.get(MemberRow, record.member_id)
    if kind == "claims":
        return session.get(ClaimRow, record.claim_id)
    return session.scalars(select(EnrollmentRow).where(
        EnrollmentRow.member_id == record.member_id, EnrollmentRow.item == record.item,
        EnrollmentRow.period == record.period)).first()


def _row(kind: str, record, digest: str, fields: dict[str, Any] | None = None) -> dict:
    """The row to insert; ``fields``: a claim's ``claim_record`` when already worked out."""
    if kind == "members":
        return {**member_record(record), "row_sha256": digest}
    if kind == "enrollments":
        return {"member_id": record.member_id, "item": record.item, "period": record.period,
                "shares": record.shares, "start_date": record.start_date, "row_sha256": digest}
    return {**(fields or claim_record(record)), "state": "received", "version": 1, "row_sha256": digest,
            "decision_note": ""}


def _inserter(session: Session, kind: str, rows: list[dict]):
    def insert_all(import_id: int) -> None:
        for row in rows:
            row["import_id"] = import_id
        insert_rows(session, MODELS[kind].__table__, rows)
    return insert_all


def _resubmitter(session: Session, existing: ClaimRow, parsed: Parsed, digest: str, user: str):
    def resubmit(import_id: int) -> None:
        session.add(ClaimVersion(claim_id=existing.claim_id, version=existing.version,
                                 fields_json=json.dumps(claim_fields(existing), ensure_ascii=False),
                                 reason="退回后重新提交", created_by=user, created_at=audit_log.now()))
        for name, value in claim_record(parsed.record).items():
            setattr(existing, name, value)
        existing.state, existing.batch_id, existing.row_sha256, existing.import_id = "received", None, digest, import_id
        existing.decided_by, existing.decision_note = None, ""
        # the returned version's lines are no longer current (nor live): the new version is calculated afresh
        end_lines(session, [existing.claim_id], new_event(session, "claim.resubmit", existing.claim_id, user),
                  superseded=True)
    return resubmit


CONTACT = ("bank_name", "bank_account", "phone")


def _contact_change(existing: MemberRow, record: Member) -> bool:
    """Only the bank account, bank or phone differ: a correction the member asks for (a failed transfer's
    account, a new phone), taken as an update; any other difference stays a conflict."""
    stored = {k: str(v) for k, v in _member_columns(existing).items()}
    new = {k: str(v) for k, v in member_record(record).items()}
    changed = {k for k in new if stored[k] != new[k]}
    return bool(changed) and changed <= set(CONTACT)


def _contact_updater(session: Session, existing: MemberRow, record: Member, digest: str, user: str):
    def update_contact(import_id: int) -> None:
        before = {k: getattr(existing, k) for k in CONTACT}
        for name in CONTACT:
            setattr(existing, name, getattr(record, name))
        existing.row_sha256, existing.import_id = digest, import_id
        changed = {k: [_masked(k, before[k]), _masked(k, getattr(record, k))] for k in CONTACT
                   if before[k] != getattr(record, k)}
        audit_log.append(session, user, "member.update_contact", "member", existing.member_id, changed,
                         "会员名单中的银行账号、开户行或手机号更新")
    return update_contact


def _masked(field: str, value: str) -> str:
    text = str(value or "")
    return text if field == "bank_name" or len(text) <= 4 else "*" * (len(text) - 4) + text[-4:]


def _conflict(kind: str, table: ParsedTable, parsed: Parsed, existing) -> Problem:
    record = parsed.record
    if kind == "claims":
        from claims.workflow.decisions import STATE_NAMES

        state = STATE_NAMES.get(existing.state, existing.state)
        what = f"申请编号“{record.claim_id}”已存在（状态：{state}），内容与本次不同；已受理的申请只能用 claims claim correct 更正"
        return Problem("IMPORT_CONFLICT", what, *table.where(parsed.row, "claim_id"))
    if kind == "members":
        stored = {k: str(v) for k, v in _member_columns(existing).items()}
        new = {k: str(v) for k, v in member_record(record).items()}
        changed = "、".join(f"{name}（原为“{stored[name]}”，本次“{new[name]}”）" for name in new if stored[name] != new[name])
        return Problem("IMPORT_CONFLICT", f"会员编号“{record.member_id}”已存在，内容不同：{changed}；不会覆盖，请核实",
                       *table.where(parsed.row, "member_id"))
    return Problem("IMPORT_CONFLICT",
                   f"会员“{record.member_id}”在 {record.period} 年度“{record.item}”的参保已存在（{existing.shares} 份，"
                   f"{existing.start_date} 起），内容不同；不会覆盖，请核实", *table.where(parsed.row, "member_id"))


def _member_columns(row: MemberRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in member_record(Member("", "", "", "", date.min, "")).keys()}


def write_errors_workbook(result: ImportResult, out: str | Path) -> None:
    """The submitted rows with a column of Chinese messages, for the union to correct and resubmit; the cells
    a message names are red.

    Streamed (openpyxl write-only): time and memory grow linearly with the rows. Cells are written as the
    union sent them, but always as values: text that Excel would take for a formula stays text, and
    characters a workbook cannot hold (NUL and other control characters) are shown as ``\x00``."""
    from copy import copy

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    from exports.safety import atomic_output
    from exports.sheetxml import Styled, expand_rows

    by_row: dict[int, list[str]] = {}
    bad_cells: dict[int, set[str]] = {}
    for problem in result.problems:
        by_row.setdefault(problem.line or 1, []).append(
            f"{problem.column}：{problem.message}" if problem.column else problem.message)
        bad_cells.setdefault(problem.line or 1, set()).add(problem.column or "")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("错误说明")
    table = result.table
    header = [_safe(h) for h in (table.header if table else [])] + ["错误说明（请按说明改正后重新提交）"]
    width = len(header)
    sheet.column_dimensions[_letter(width)].width = 80
    sheet.freeze_panes = "A2"
    # styles are registered once on template cells and their style arrays copied: setting a style per cell
    # hashes it against the workbook's style lists, which was most of the time
    templates = {}
    for name, styles in (("bold", {"font": Font(bold=True)}), ("red", {"fill": PatternFill("solid", fgColor="FFE0E0")}),
                         ("note", {"fill": PatternFill("solid", fgColor="FFE0E0"),
                                   "alignment": Alignment(wrap_text=True)})):
        template = WriteOnlyCell(sheet)
        for attribute, style in styles.items():
            setattr(template, attribute, style)
        templates[name] = template._style

    def cell(value: Any, style: str | None = None) -> Any:
        value = _cell(value)
        if style is None and not (isinstance(value, str) and value.startswith("=")):
            return value
        written = WriteOnlyCell(sheet, value=value)
        if written.data_type == "f":
            written.data_type = "s"  # text such as =HYPERLINK(...) is written as text, never as a formula
        if style is not None:
            written._style = copy(templates[style])
        return written

    sheet.append([cell(h, "bold") for h in header])
    if 1 in by_row:
        sheet.append([None] * (width - 1) + [cell("；".join(by_row[1]), "note")])
    # openpyxl writes the header, the styles and a sample row holding each style (red in A, note in B);
    # exports/sheetxml.py then writes every row in its place, as XML (openpyxl's cells took ~70 µs each:
    # over a minute for 100,000 refused rows of 16 columns)
    first = 3 if 1 in by_row else 2
    sheet.append([cell("", "red"), cell("", "note")])

    def rows():
        for number, cells in (table.raw_rows if table else []):
            messages = by_row.get(number)
            padded = [_cell(c) for c in cells[:width - 1]] + [None] * (width - 1 - len(cells))
            if messages:  # the cells named by a message are red, and the message
                named = bad_cells[number]
                yield ([Styled(c, "red") if header[i] in named else c for i, c in enumerate(padded)]
                       + [Styled("；".join(messages), "note")])
            else:
                yield padded

    with atomic_output(out) as temporary:  # whole or not at all
        book.save(temporary)
        expand_rows(temporary, {"xl/worksheets/sheet1.xml": (first, rows(), {"red": "A", "note": "B"})})


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(index)


def _safe(text: Any) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    text = str(text)
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text) if ILLEGAL_CHARACTERS_RE.search(text) \
        else text


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (int, date)) and not isinstance(value, bool):
        return value
    return _safe(value)
