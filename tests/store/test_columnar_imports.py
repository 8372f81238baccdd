"""Imports through the columnar intake (claims/workflow/imports.py: ``_import_columnar``): a valid CSV file
stores exactly what the row path stores — rows, hashes, import records, audit details — and a file with
anything to word or to apply (a bad row, a conflict) gets the row path's own answer (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from benchmarks.generate import generate
from claims.engine import Claim, Enrollment, Member
from claims.store.database import Store, init_database
from claims.store.models import AuditEntry, ClaimRow, EnrollmentRow, ImportRecord, MemberRow
from claims.workflow.imports import import_file, row_json, row_sha256
from tests.databases import new_database
from tests.store.helpers import CLERK, add_users, policy

TODAY = date(2026, 6, 30)  # after every generated submission
KINDS = ("members", "enrollments", "claims")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    return generate(300, folder)


@pytest.fixture
def second_store(db_url, request, tmp_path):
    """Another fresh database of the same kind, for the row path."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'row-path.db'}"
    else:
        url = new_database(request.getfixturevalue("postgres_server"))
    init_database(url)
    store = Store(url)
    yield store
    store.dispose()


def _import(store, files, columnar: bool) -> list:
    rules = policy().policy
    results = []
    for kind in KINDS:
        with store.session() as s:
            results.append(import_file(s, kind, files[kind], CLERK, rules, TODAY, columnar=columnar))
    return results


def _contents(store) -> dict:
    with store.session() as s:
        tables = {model.__tablename__: sorted(tuple(row) for row in s.execute(select(*model.__table__.c)))
                  for model in (MemberRow, EnrollmentRow, ClaimRow)}
        tables["imports"] = list(s.execute(select(ImportRecord.id, ImportRecord.kind, ImportRecord.file_name,
                                                  ImportRecord.file_sha256, ImportRecord.rows, ImportRecord.added,
                                                  ImportRecord.unchanged, ImportRecord.resubmitted)
                                           .order_by(ImportRecord.id)))
        tables["audit"] = list(s.execute(select(AuditEntry.action, AuditEntry.entity_id, AuditEntry.details_json)
                                         .where(AuditEntry.action.like("import.%")).order_by(AuditEntry.seq)))
    return tables


def test_a_valid_file_stores_exactly_what_the_row_path_stores(store, second_store, files):
    add_users(store)
    add_users(second_store)
    fast, rows = _import(store, files, True), _import(second_store, files, False)
    assert [r.table for r in fast] == [None] * 3  # the columnar path took every file
    assert all(r.table is not None for r in rows)  # … and the other store was written row by row
    lines = {kind: sum(1 for _ in csv.reader(files[kind].open(encoding="utf-8"))) - 1 for kind in KINDS}
    for result, kind in zip(fast, KINDS, strict=True):
        assert (result.rows, result.added, result.unchanged, result.problems) == (lines[kind], lines[kind], 0, [])
    assert [(r.rows, r.added, r.unchanged) for r in fast] == [(r.rows, r.added, r.unchanged) for r in rows]
    assert _contents(store) == _contents(second_store)


def test_a_file_imported_by_one_path_is_unchanged_for_the_other(store, second_store, files):
    """The hashes of both paths are equal: a re-import by the other path finds every row as stored."""
    add_users(store)
    add_users(second_store)
    _import(store, files, True)
    _import(second_store, files, False)
    before = (_contents(store), _contents(second_store))
    for target, columnar in ((store, False), (second_store, True)):
        for result in _import(target, files, columnar):
            assert (result.added, result.unchanged, result.problems, result.import_id) == (0, result.rows, [], None)
    assert (_contents(store), _contents(second_store)) == before


@pytest.mark.parametrize(("column", "change", "expected"), [
    ("name", lambda v: v + "改", ("IMPORT_CONFLICT", 4, "member_id")),  # a stored member under another name
    ("id_number", lambda v: "330102199007070375", ("INPUT_ID_CHECKSUM", 4, "id_number")),  # a wrong check digit
])
def test_a_bad_row_or_a_conflict_gets_the_row_paths_words(store, files, tmp_path, column, change, expected):
    add_users(store)
    _import(store, files, True)
    rows = list(csv.reader(files["members"].open(encoding="utf-8")))
    rows[3][rows[0].index(column)] = change(rows[3][rows[0].index(column)])
    changed = tmp_path / "members.csv"
    with changed.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    answers = []
    for columnar in (True, False):
        with store.session() as s:
            result = import_file(s, "members", changed, CLERK, today=TODAY, columnar=columnar)
            answers.append([(p.code, p.line, p.column, p.message) for p in result.problems])
            assert result.table is not None  # worded by the row path
            s.rollback()
    assert answers[0] == answers[1]
    assert [a[:3] for a in answers[0]] == [expected]


# ── the hashed text, against its definition ──────────────────────────────────────────────────────────

def _defined(record) -> str:
    """The definition the stored hashes were made with (before the text was written out by hand)."""
    if isinstance(record, Claim):
        values = {"claim_id": record.claim_id, "member_id": record.member_id, "event_type": record.event_type,
                  "admission_date": record.admission_date, "discharge_date": record.discharge_date,
                  "diagnosis_date": record.diagnosis_date, "hospital_level": record.hospital_level,
                  "diagnoses": ";".join(record.diagnoses), "procedures": ";".join(record.procedures),
                  **{f"{name}_fen": int(getattr(record, name) * 100) for name in
                     ("total_cost", "insurance_paid", "self_pay_in_scope", "self_pay_out_of_scope")},
                  "invoice_no": record.invoice_no, "submitted_date": record.submitted_date}
        data = {k: str(v) for k, v in values.items()}
    elif isinstance(record, Member):
        data = {k: str(v) for k, v in record._asdict().items()}
    else:
        data = {"member_id": record.member_id, "item": record.item, "period": record.period,
                "shares": record.shares, "start_date": record.start_date.isoformat()}
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # quotes, backslashes, control characters, CJK
DAYS = st.dates(date(1900, 1, 1), date(2100, 12, 31))
MONEY = st.integers(0, 10**11).map(lambda fen: Decimal(fen) / 100)
CODES = st.lists(TEXT, max_size=3).map(tuple)


@settings(max_examples=300, deadline=None)
@given(st.builds(Member, TEXT, TEXT, TEXT, TEXT, DAYS, TEXT, TEXT, TEXT, TEXT))
def test_member_text_is_the_defined_json(member):
    assert row_json(member) == _defined(member)
    assert row_sha256(member) == hashlib.sha256(_defined(member).encode()).hexdigest()


@settings(max_examples=300, deadline=None)
@given(st.builds(Enrollment, TEXT, TEXT, st.integers(-10**6, 10**6), st.integers(-10**6, 10**6), DAYS))
def test_enrollment_text_is_the_defined_json(enrollment):
    assert row_json(enrollment) == _defined(enrollment)


@settings(max_examples=300, deadline=None)
@given(st.builds(Claim, TEXT, TEXT, TEXT, DAYS, DAYS, DAYS, st.integers(1, 3), CODES, CODES, MONEY, MONEY, MONEY,
                 MONEY, TEXT, DAYS))
def test_claim_text_is_the_defined_json(claim):
    assert row_json(claim) == _defined(claim)


# ── the insert itself (claims/store/bulk.py) ─────────────────────────────────────────────────────────

def _members(prefix: str) -> list[dict]:
    return [{"member_id": f"{prefix}{n}", "name": f"会员\"{n}\\", "id_number": "330102199007070374", "gender": "male",
             "birth_date": date(1990, 7, 7 + n), "unit": "单位", "row_sha256": "0" * 64,
             "import_id": 1} for n in range(3)]


def test_bulk_insert_stores_what_a_core_insert_stores_and_rolls_back_with_the_session(store):
    from datetime import datetime

    from sqlalchemy import text

    from claims.store.bulk import insert_rows

    add_users(store)
    with store.session() as s:
        s.add(ImportRecord(kind="members", file_name="m.csv", file_sha256="0" * 64, rows=3, added=3, unchanged=0,
                           resubmitted=0, imported_by=CLERK, imported_at=datetime(2026, 1, 1)))
    with store.session() as s:
        insert_rows(s, MemberRow.__table__, _members("A"))  # bank name, account and phone left to their defaults
        s.execute(MemberRow.__table__.insert(), _members("B"))
    with store.session() as s:
        stored = [tuple(row) for row in s.execute(text("select * from members order by member_id"))]
    assert len(stored) == 6
    assert [row[1:] for row in stored[:3]] == [row[1:] for row in stored[3:]]  # the database holds the same values
    with store.session() as s:
        insert_rows(s, MemberRow.__table__, _members("C"))
        s.rollback()
    with store.session() as s:
        assert s.scalar(select(MemberRow.member_id).where(MemberRow.member_id.like("C%"))) is None
