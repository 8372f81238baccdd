"""Imports: atomic, idempotent, conflicts reported, errors workbook for the union (SQLite and PostgreSQL)."""

from __future__ import annotations

from openpyxl import load_workbook

from claims.store.models import AuditEntry, ClaimRow, ClaimVersion, EnrollmentRow, ImportRecord, MemberRow
from claims.workflow.imports import import_file, write_errors_workbook
from tests.store.helpers import CLERK, SCENARIOS, add_users, count, import_folder, policy

FOLDER = SCENARIOS / "hz_bands_caps_stacking"


def test_a_file_with_one_invalid_row_imports_nothing_and_explains_in_a_workbook(store, tmp_path):
    add_users(store)
    lines = (SCENARIOS / "hz_waiting_level_deductible" / "members.csv").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("330102199007070374", "330102199007070375")  # wrong check digit on row 3
    bad = tmp_path / "members.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with store.session() as s:
        result = import_file(s, "members", bad, CLERK)
    assert [(p.line, p.column, p.code) for p in result.problems] == [(3, "id_number", "INPUT_ID_CHECKSUM")]
    assert count(store, MemberRow) == 0 and count(store, ImportRecord) == 0
    out = tmp_path / "errors.xlsx"
    write_errors_workbook(result, out)
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][-1].startswith("错误说明")
    assert rows[1][0] == "HZ002" and rows[1][-1] in ("", None)  # the good row is there, without a message
    assert rows[2][0] == "HZ003" and "校验位不正确" in rows[2][-1] and rows[2][-1].startswith("id_number：")


def test_importing_the_same_files_twice_changes_nothing(store):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    before = (count(store, ImportRecord), count(store, AuditEntry), count(store, ClaimRow))
    loaded = policy()
    for kind in ("members", "enrollments", "claims"):
        with store.session() as s:
            result = import_file(s, kind, FOLDER / f"{kind}.csv", CLERK, loaded.policy)
        assert (result.added, result.problems, result.import_id) == (0, [], None)
        assert result.unchanged == {"members": 1, "enrollments": 6, "claims": 4}[kind]
    assert (count(store, ImportRecord), count(store, AuditEntry), count(store, ClaimRow)) == before


def test_a_changed_row_for_an_existing_key_is_a_conflict_and_nothing_is_overwritten(store, tmp_path):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    changed = tmp_path / "members.csv"
    changed.write_text((FOLDER / "members.csv").read_text(encoding="utf-8").replace("王丽", "王莉"), encoding="utf-8")
    with store.session() as s:
        result = import_file(s, "members", changed, CLERK)
    [conflict] = result.problems
    assert (conflict.code, conflict.line, conflict.column) == ("IMPORT_CONFLICT", 2, "member_id")
    assert "name（原为“王丽”，本次“王莉”）" in conflict.message
    with store.session() as s:
        assert s.get(MemberRow, "HZ001").name == "王丽"


def test_enrollments_without_a_policy_and_without_an_approved_version_are_refused_per_row(store):
    add_users(store)
    with store.session() as s:
        import_file(s, "members", FOLDER / "members.csv", CLERK)
    with store.session() as s:
        result = import_file(s, "enrollments", FOLDER / "enrollments.csv", CLERK, None)
    rows = len((FOLDER / "enrollments.csv").read_text(encoding="utf-8-sig").strip().splitlines()) - 1
    assert [p.code for p in result.problems] == ["POLICY_NOT_APPROVED"] * rows
    assert {p.column for p in result.problems} == {"period"}
    assert count(store, EnrollmentRow) == 0


def test_claims_of_unknown_members_are_refused(store):
    add_users(store)
    with store.session() as s:
        result = import_file(s, "claims", FOLDER / "claims.csv", CLERK)
    assert {(p.code, p.column) for p in result.problems} == {("INPUT_UNKNOWN_MEMBER", "member_id")}
    assert len(result.problems) == 4 and count(store, ClaimRow) == 0


def test_a_returned_claim_is_resubmitted_by_a_later_import(store, tmp_path):
    from claims.workflow.batches import create_batch
    from claims.workflow.decisions import decide
    from tests.store.helpers import REVIEWER

    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s:
        create_batch(s, policy(), 2025, CLERK)
    with store.session() as s:
        decide(s, "A1", "return", REVIEWER, "缺发票原件")
    resubmitted = tmp_path / "claims.csv"
    resubmitted.write_text((FOLDER / "claims.csv").read_text(encoding="utf-8").replace(
        "2025-03-03", "2025-03-20"), encoding="utf-8")  # A1 comes back with a later submission date
    with store.session() as s:
        result = import_file(s, "claims", resubmitted, CLERK)
    assert (result.resubmitted, result.unchanged, result.problems) == (1, 3, [])
    with store.session() as s:
        claim = s.get(ClaimRow, "A1")
        assert (claim.state, claim.batch_id, str(claim.submitted_date)) == ("received", None, "2025-03-20")
        assert s.query(ClaimVersion).filter_by(claim_id="A1").one().reason == "退回后重新提交"
