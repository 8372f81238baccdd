"""Batches, review workbook round trip, decisions, roles (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from claims.engine import Ledger
from claims.store.models import Batch, ClaimRow, ResultLineRow
from claims.store.snapshot import inputs_from
from claims.workflow.batches import batch_lines, create_batch, policy_of
from claims.workflow.decisions import decide
from claims.workflow.errors import Refusal
from claims.workflow.imports import import_file
from claims.workflow.review import export_review, import_review
from claims.workflow.users import add_user
from tests.store.helpers import (
    ADMIN,
    CLERK,
    FINANCE,
    REVIEWER,
    SCENARIOS,
    add_users,
    batch_and_approve,
    import_folder,
    policy,
)

FOLDER = SCENARIOS / "hz_bands_caps_stacking"


def expected_rows(folder):
    return [tuple(line.split(",")) for line in (folder / "expected.csv").read_text(encoding="utf-8").splitlines()[1:]]


def stored_rows(store, batch_id):
    with store.session() as s:
        return [(r.claim_id, r.member_id, str(r.period), r.item, r.benefit, f"{Decimal(r.amount_fen) / 100:.2f}", r.reason)
                for r in batch_lines(s, batch_id)]


@pytest.mark.parametrize("scenario,policy_name", [("hz_bands_caps_stacking", "hangzhou"),
                                                  ("bj_shares_waiting_cover_end", "beijing")])
def test_a_batch_stores_the_same_lines_as_the_stateless_calculation(store, scenario, policy_name):
    add_users(store)
    import_folder(store, SCENARIOS / scenario, policy_name)
    with store.session() as s:
        batch = create_batch(s, policy(policy_name), 2025, CLERK)
    assert stored_rows(store, batch.id) == expected_rows(SCENARIOS / scenario)


def test_a_batch_records_what_a_re_run_needs(store):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    loaded = policy()
    with store.session() as s:
        batch = create_batch(s, loaded, 2025, CLERK)
    with store.session() as s:
        stored = s.get(Batch, batch.id)
        assert (stored.policy_text, stored.policy_sha256) == (loaded.text, loaded.sha256)
        assert policy_of(stored).policy == loaded.policy
        members, enrollments, claims = inputs_from(json.loads(stored.inputs_json))
        assert sorted(members) == ["HZ001"] and len(enrollments) == 6 and len(claims) == 4
        assert Ledger.from_json(json.loads(stored.ledger_before_json)).to_json() == Ledger().to_json()
        assert stored.total_fen == (3500 + 500 + 13700 + 400 + 13000 + 1000 + 10000 + 20000) * 100
        assert {c.state for c in s.query(ClaimRow)} == {"calculated"}


def test_a_later_batch_continues_from_the_settled_claims(store, tmp_path):
    add_users(store)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    header, *rows = (FOLDER / "claims.csv").read_text(encoding="utf-8").splitlines()
    first.write_text("\n".join([header, *rows[:2]]) + "\n", encoding="utf-8")
    second.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    import_folder(store, FOLDER, "hangzhou", claims_file=first)
    batch_and_approve(store, "hangzhou")
    with store.session() as s:
        import_file(s, "claims", second, CLERK)
    with store.session() as s:
        batch = create_batch(s, policy(), 2025, CLERK)
    # A3 and A4 continue after A1 and A2: the same figures as one run of all four
    assert stored_rows(store, batch.id) == [r for r in expected_rows(FOLDER) if r[0] in ("A3", "A4")]


def test_review_round_trip_applies_every_decision(store, tmp_path):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s:
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    sheet_path = tmp_path / "review.xlsx"
    with store.session() as s:
        assert export_review(s, batch_id, sheet_path, CLERK) == 4
    book = load_workbook(sheet_path)
    sheet = book["审核表"]
    header = [c.value for c in sheet[3]]
    assert header[-2:] == ["审核结论", "备注"] and header[11] == "合计（元）"
    assert [sheet.cell(r, 12).value for r in range(4, 8)] == [4000, 14100, 44000, 0]  # hand sums per claim
    assert sheet.protection.sheet and not sheet.cell(4, 14).protection.locked and sheet.cell(4, 12).protection.locked
    assert sheet.data_validations.dataValidation[0].formula1 == '"通过,退回,不予补助"'
    for row, choice in zip(range(4, 8), ["通过", "通过", "退回", "不予补助"], strict=True):
        sheet.cell(row, 14).value = choice
    sheet.cell(7, 15).value = "额度已用完，无可补助金额"
    book.save(sheet_path)
    with store.session() as s:
        done = import_review(s, sheet_path, REVIEWER)
    # returning A3 gives its cap back: A4 (after it, nothing left) is recalculated and waits for a new sheet
    assert done.decided == {"approve": 2, "return": 1} and done.recalculated == ["A4"]
    with store.session() as s:
        assert {c.claim_id: c.state for c in s.query(ClaimRow)} == {
            "A1": "approved", "A2": "approved", "A3": "returned", "A4": "calculated"}


def _exported(store, tmp_path, name="review.xlsx"):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s:
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    path = tmp_path / name
    with store.session() as s:
        export_review(s, batch_id, path, CLERK)
    return batch_id, path


def test_a_tampered_review_sheet_is_refused_naming_the_cells(store, tmp_path):
    _, path = _exported(store, tmp_path)
    book = load_workbook(path)
    sheet = book["审核表"]
    for row in range(4, 8):
        sheet.cell(row, 14).value = "通过"
    sheet["L5"] = 99999  # 合计 of A2
    sheet["C4"] = "王小丽"
    sheet["N6"] = "同意"
    book.save(path)
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_review(s, path, REVIEWER)
    message = refused.value.message
    assert "L5（合计（元））被改动：表中为“99999”，系统中为“14100.00”" in message
    assert "C4（姓名）被改动" in message and "N6（申请 A3）：审核结论“同意”无效" in message
    with store.session() as s:
        assert {c.state for c in s.query(ClaimRow)} == {"calculated"}


def test_a_blank_decision_is_refused(store, tmp_path):
    _, path = _exported(store, tmp_path)
    book = load_workbook(path)
    book["审核表"]["N4"] = "通过"
    book.save(path)
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_review(s, path, REVIEWER)
    assert "N5（申请 A2）：审核结论为空" in refused.value.message


def test_a_sheet_of_another_batch_is_refused(store, tmp_path):
    batch_id, path = _exported(store, tmp_path)
    book = load_workbook(path)
    book["批次信息"]["B1"] = batch_id + 1
    book.save(path)
    with store.session() as s, pytest.raises(Refusal):
        import_review(s, path, REVIEWER)
    with store.session() as s:  # a batch whose results differ from the sheet's
        import_file(s, "members", SCENARIOS / "bj_shares_waiting_cover_end" / "members.csv", CLERK)
    book["批次信息"]["B1"] = batch_id
    book["批次信息"]["B2"] = "0" * 64
    book.save(path)
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_review(s, path, REVIEWER)
    assert refused.value.code == "REVIEW_OTHER_BATCH"


def test_roles_are_checked(store, tmp_path):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s, pytest.raises(Refusal) as refused:
        create_batch(s, policy(), 2025, REVIEWER)
    assert refused.value.code == "ROLE_REFUSED" and "只允许经办员" in refused.value.message
    with store.session() as s:
        create_batch(s, policy(), 2025, CLERK)
    for user in (CLERK, FINANCE):
        with store.session() as s, pytest.raises(Refusal) as refused:
            decide(s, "A1", "approve", user)
        assert refused.value.code == "ROLE_REFUSED"
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_file(s, "members", FOLDER / "members.csv", REVIEWER)
    assert refused.value.code == "ROLE_REFUSED"


def test_who_imported_or_created_the_batch_cannot_approve_it(store):
    add_users(store)
    with store.session() as s:
        add_user(s, ADMIN, CLERK, "reviewer")  # a small center: the clerk also reviews
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s:
        create_batch(s, policy(), 2025, CLERK)
    with store.session() as s, pytest.raises(Refusal) as refused:
        decide(s, "A1", "approve", CLERK)
    assert refused.value.code == "FOUR_EYES"
    with store.session() as s:
        decide(s, "A1", "approve", REVIEWER)
        decide(s, "A2", "return", CLERK, "缺材料")  # returning is not approving


def test_concurrent_decisions_on_one_claim_exactly_one_wins(store):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s:
        create_batch(s, policy(), 2025, CLERK)
    barrier, outcomes = threading.Barrier(2), []
    sessions = [store._sessions() for _ in range(2)]  # noqa: SLF001 — two clerks' separate connections
    for s in sessions:
        s.get(ClaimRow, "A1")  # both have read the claim at version 2

    def act(session, decision):
        try:
            barrier.wait()
            decide(session, "A1", decision, REVIEWER, "并发")
            session.commit()
            outcomes.append(decision)
        except Refusal as refusal:
            session.rollback()
            outcomes.append(refusal.code)
        finally:
            session.close()

    threads = [threading.Thread(target=act, args=(s, d)) for s, d in zip(sessions, ["approve", "refuse"], strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [o for o in outcomes if o in ("approve", "refuse")]
    assert len(outcomes) == 2 and len(winners) == 1, outcomes
    assert [o for o in outcomes if o not in winners] in (["CLAIM_CHANGED"], ["CLAIM_STATE"])
    with store.session() as s:
        assert s.get(ClaimRow, "A1").state == {"approve": "approved", "refuse": "refused"}[winners[0]]


def test_lines_keep_what_they_add_to_the_ledger(store):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s:
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    with store.session() as s:
        lines = {(row.claim_id, row.benefit): row for row in s.query(ResultLineRow).filter_by(batch_id=batch_id)}
    assert lines[("A3", "medical_subsidy")].base_fen == 4_000_000 and lines[("A3", "medical_subsidy")].counted
    assert lines[("A3", "living_allowance")].days == 20
    assert lines[("A4", "critical_illness")].counted is False  # ALREADY_PAID: failed a check


def test_batch_with_workers_stores_the_same_lines(store, tmp_path):
    """Two worker processes, each owning a share of the members, store exactly what one process stores."""
    from benchmarks.generate import generate

    paths = generate(600, tmp_path / "data", seed=5)
    add_users(store)
    loaded = policy()
    for kind in ("members", "enrollments", "claims"):
        with store.session() as s:
            assert not import_file(s, kind, paths[kind], CLERK, loaded.policy).problems
    with store.session() as s:
        one = create_batch(s, loaded, 2025, CLERK).id
    with store.session() as s:  # put the claims back and calculate them again with two workers
        s.execute(ResultLineRow.__table__.update().values(current=False, live_until=0))
        s.execute(ClaimRow.__table__.update().where(ClaimRow.batch_id == one).values(state="received", batch_id=None))
    with store.session() as s:
        two = create_batch(s, loaded, 2025, CLERK, workers=2).id

    def lines(batch_id):
        with store.session() as s:
            return [(r.position, r.claim_id, r.item, r.benefit, r.amount_fen, r.reason, r.explanation_json, r.counted,
                     r.base_fen, r.days) for r in batch_lines(s, batch_id)]

    assert len(lines(one)) > 900 and lines(one) == lines(two)
