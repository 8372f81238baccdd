"""`claims import settlements`: members matched by ID number, skipped rows counted, the same list twice
changes nothing, reversals before payout withdraw and after payout become a recovery (追回)."""

from __future__ import annotations

import csv
from decimal import Decimal

from sqlalchemy import func, select

from claims.store.models import Adjustment, AuditEntry, ClaimRow, ResultLineRow, SettlementRow
from claims.workflow.batches import create_batch, settled_ledger
from claims.workflow.imports import import_file
from claims.workflow.payouts import mark_paid
from claims.workflow.settlements import import_settlements, summary, write_unmatched
from tests.settle.scenarios import settlement_rows, write
from tests.store.helpers import CLERK, FINANCE, REVIEWER, SCENARIOS, add_users, policy

FOLDER = SCENARIOS / "hz_bands_caps_stacking"


def setup(store):
    add_users(store)
    loaded = policy("hangzhou")
    for kind in ("members", "enrollments"):
        with store.session() as s:
            assert not import_file(s, kind, FOLDER / f"{kind}.csv", CLERK, loaded.policy).problems


def load(store, path):
    with store.session() as s:
        done = import_settlements(s, path, CLERK)
        assert not done.problems, done.problems
        return done, summary(done)


def test_settlements_import_once_skip_strangers_and_write_the_unmatched(store, tmp_path):
    setup(store)
    rows = settlement_rows(FOLDER)
    stranger = dict(rows[0], setl_id="S-X", certno="11010519491231002X", psn_name="路人")
    clinic = dict(rows[0], setl_id="S-11", med_type="11")
    path = write(tmp_path / "list.csv", [stranger, *rows, clinic])
    done, said = load(store, path)
    assert (done.result.added, done.translated.skipped_count("非会员"), done.translated.skipped_count("医疗类别不在补助范围")) \
        == (4, 1, 1)
    assert "跳过（非会员）1" in said and "跳过（医疗类别不在补助范围）1" in said
    assert write_unmatched(done.translated, tmp_path / "unmatched.csv") == 2
    unmatched = list(csv.reader((tmp_path / "unmatched.csv").open(encoding="utf-8-sig")))
    assert [(r[0], r[1], r[2]) for r in unmatched[1:]] == [("2", "非会员", "S-X"), ("7", "医疗类别不在补助范围", "S-11")]
    with store.session() as s:
        a1 = s.get(ClaimRow, "A1")
        # begndate/enddate were date-times; medins_lv 31 is level 3; the invoice is bill_code-bill_no
        assert (str(a1.admission_date), str(a1.discharge_date), a1.hospital_level, a1.invoice_no, a1.state) == \
            ("2025-02-01", "2025-02-11", 3, "INV-A1", "received")
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
    again, _ = load(store, path)
    assert (again.result.added, again.result.unchanged, again.result.import_id) == (0, 4, None)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
        assert s.scalar(select(func.count()).select_from(SettlementRow)) == 4


def test_a_name_that_differs_is_a_warning_and_the_claim_waits_for_a_person(store, tmp_path):
    setup(store)
    rows = settlement_rows(FOLDER)
    rows[0]["psn_name"] = "王莉"
    done, _ = load(store, write(tmp_path / "list.csv", rows))
    assert done.name_mismatches == [("A1", "王莉", "王丽")]
    with store.session() as s:
        assert s.get(SettlementRow, "A1").name_mismatch


def test_a_reversal_before_payout_withdraws_the_claim(store, tmp_path):
    setup(store)
    rows = settlement_rows(FOLDER)
    load(store, write(tmp_path / "list.csv", rows))
    with store.session() as s:
        batch_id = create_batch(s, policy("hangzhou"), 2025, CLERK).id
    # the bureau's next list: A2 reversed by flag, A3 by a cancelling row (same setl_id, negative amounts)
    flagged = dict(rows[1], refd_setl_flag="1")
    cancelling = dict(rows[2], **{k: "-" + rows[2][k] for k in ("medfee_sumamt", "fund_pay_sumamt", "psn_selfpay",
                                                                 "psn_ownpay")})
    done, said = load(store, write(tmp_path / "next.csv", [*rows, flagged, cancelling]))
    assert done.withdrawn == ["A2", "A3"] and "冲销撤回 2" in said
    with store.session() as s:
        assert {c: s.get(ClaimRow, c).state for c in ("A1", "A2", "A3")} == \
            {"A1": "calculated", "A2": "withdrawn", "A3": "withdrawn"}
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "settlement.withdraw")) == 2
    again, _ = load(store, tmp_path / "next.csv")
    assert again.withdrawn == [] and again.unchanged_reversals == 2
    with store.session() as s:  # withdrawn claims are nothing to decide and pay nothing
        from claims.workflow.decisions import decide
        from claims.workflow.payouts import payout_data
        for claim_id in ("A1", "A4"):
            decide(s, claim_id, "approve", REVIEWER)
        paid = payout_data(s, batch_id, FINANCE)
        assert sorted(c.claim.claim_id for c in paid.claims) == ["A1", "A4"]


def test_a_reversal_after_payout_becomes_a_recovery(store, tmp_path):
    setup(store)
    rows = settlement_rows(FOLDER)
    load(store, write(tmp_path / "list.csv", rows))
    with store.session() as s:
        batch_id = create_batch(s, policy("hangzhou"), 2025, CLERK).id
    with store.session() as s:
        from claims.workflow.decisions import decide
        for claim_id in ("A1", "A2", "A3", "A4"):
            decide(s, claim_id, "approve", REVIEWER)
    with store.session() as s:
        mark_paid(s, batch_id, FINANCE)
    done, said = load(store, write(tmp_path / "next.csv", [dict(rows[0], refd_setl_flag="1")]))
    # A1 paid 3,500 (medical) + 500 (critical living allowance): both are recovered
    assert done.recovered == [("A1", 400000)] and "转为追回 1 件 4,000.00 元" in said
    with store.session() as s:
        claim = s.get(ClaimRow, "A1")
        assert claim.state == "reversed"
        recoveries = {(a.item, a.before_fen, a.after_fen, a.kind) for a in s.scalars(select(Adjustment))}
        assert recoveries == {("medical", 350000, 0, "recovery"), ("critical", 50000, 0, "recovery")}
        assert not list(s.scalars(select(ResultLineRow).where(ResultLineRow.claim_id == "A1",
                                                               ResultLineRow.current.is_(True))))
        ledger = settled_ledger(s)
        paid = sum(c.item_paid.get("medical", Decimal(0)) for c in ledger.periods.values())
        assert paid == Decimal("3500") + Decimal("13700") + Decimal("13000") - Decimal("3500")
    again, _ = load(store, tmp_path / "next.csv")
    assert again.recovered == [] and again.unchanged_reversals == 1


def test_the_reversal_batch_re_runs_identically_and_an_xlsx_list_with_date_time_cells_reads(store, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    from claims.audit.rerun import rerun, snapshot_of_batch
    from claims.store.models import Batch
    from tests.store.helpers import AUDITOR

    setup(store)
    rows = settlement_rows(FOLDER)
    book = Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        cells = dict(row)
        for key in ("begndate", "enddate", "setl_time"):
            cells[key] = datetime.fromisoformat(row[key])  # real date-time cells, as the bureau's XLSX has them
        sheet.append(list(cells.values()))
    book.save(tmp_path / "list.xlsx")
    done, _ = load(store, tmp_path / "list.xlsx")
    assert done.result.added == 4
    with store.session() as s:
        batch_id = create_batch(s, policy("hangzhou"), 2025, CLERK).id
    with store.session() as s:
        from claims.workflow.decisions import decide
        for claim_id in ("A1", "A2", "A3", "A4"):
            decide(s, claim_id, "approve", REVIEWER)
    with store.session() as s:
        mark_paid(s, batch_id, FINANCE)
    load(store, write(tmp_path / "next.csv", [dict(rows[2], refd_setl_flag="1")]))
    with store.session() as s:
        reversal = s.scalars(select(Batch).where(Batch.kind == "correction")).one()
        assert reversal.claim_count == 0 and reversal.total_fen == 0
        for batch in (batch_id, reversal.id):
            assert rerun(snapshot_of_batch(s, batch, AUDITOR)).identical


def test_auto_approve_leaves_flagged_mismatched_and_corrected_claims_waiting(store, tmp_path):
    from claims.settings import auto_approve_rule
    from claims.workflow.autoapprove import auto_approve
    from claims.workflow.errors import Refusal

    setup(store)
    rows = settlement_rows(FOLDER)
    rows[1]["psn_name"] = "王莉"  # A2: the list's name differs from the member list
    load(store, write(tmp_path / "list.csv", rows))
    with store.session() as s:
        batch_id = create_batch(s, policy("hangzhou"), 2025, CLERK).id
    settings = tmp_path / "settings.yaml"
    settings.write_text("auto_approve:\n  max_amount: 50000.00\n  flags: [CAPPED, CAP_REACHED]\n", encoding="utf-8")
    rule = auto_approve_rule(settings)
    with store.session() as s:
        try:
            auto_approve(s, batch_id, CLERK, rule)
        except Refusal as refusal:
            assert refusal.code == "ROLE_REFUSED"
    with store.session() as s:
        done = auto_approve(s, batch_id, REVIEWER, rule)
    # A1 4,000.00 qualifies; A2 name differs; A3 44,000.00 has its medical subsidy CAPPED (scenario); A4 pays 0
    assert done.approved == ["A1"] and done.total == Decimal("4000.00")
    waiting = {claim for claims in done.waiting.values() for claim in claims}
    assert waiting == {"A2", "A3", "A4"}
    assert any("结算清单姓名" in why and claims == ["A2"] for why, claims in done.waiting.items())
    with store.session() as s:
        a1 = s.get(ClaimRow, "A1")
        assert (a1.state, a1.decided_by) == ("approved", REVIEWER) and "自动审核通过" in a1.decision_note
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "batch.auto_approve")).one()
        assert entry.user_name == REVIEWER and '"approved": ["A1"]' in entry.details_json


def test_an_id_number_stored_by_excel_as_a_number_is_refused_not_skipped(store, tmp_path):
    from openpyxl import Workbook

    setup(store)
    rows = settlement_rows(FOLDER)
    book = Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for number, row in enumerate(rows):
        values = list(row.values())
        if number == 1:
            values[3] = 330102198005120142  # Excel keeps 15 digits: 330102198005120000
        sheet.append(values)
    book.save(tmp_path / "list.xlsx")
    with store.session() as s:
        done = import_settlements(s, tmp_path / "list.xlsx", CLERK)
    assert [(p.code, p.line, p.column) for p in done.problems] == [("INPUT_NUMBER_CELL", 3, "certno")]
