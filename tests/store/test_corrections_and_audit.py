"""Corrections with top-up and recovery, an interrupted batch, and the audit log's hash chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select, text

from claims.problems import ProblemsFound
from claims.store.models import Adjustment, AuditEntry, Batch, ClaimRow, ClaimVersion, ResultLineRow
from claims.workflow.audit_log import verify
from claims.workflow.batches import settled_ledger
from claims.workflow.corrections import approve_correction, correct
from claims.workflow.errors import Refusal
from claims.workflow.ledger import check_ledger
from claims.workflow.payouts import mark_paid
from tests.conftest import cli_login
from tests.store.helpers import (
    CLERK,
    FINANCE,
    REVIEWER,
    SCENARIOS,
    add_users,
    batch_and_approve,
    count,
    import_folder,
)

FOLDER = SCENARIOS / "hz_bands_caps_stacking"


def test_correction_re_evaluates_later_claims_and_lists_top_ups_and_recoveries(store):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    first = batch_and_approve(store, "hangzhou")
    with store.session() as s:
        mark_paid(s, first, FINANCE)  # the money is out: differences are top-ups and recoveries
    # A1's in-scope self-pay was 8,000 and is corrected to 4,000 (total 24,000 + 4,000 + 88 = 28,088).
    #   A1: S(4,000) = 3,000 × 50% = 1,500                      (was 3,500: recover 2,000)
    #   A2: S(29,000) − S(4,000) = 14,800 − 1,500 = 13,300     (was 13,700: recover 400)
    #   A3: S(69,000) − S(29,000) = 40,600 − 14,800 = 25,800, capped at 30,200 − 14,800 = 15,400
    #                                                           (was 13,000: top up 2,400)
    #   A4: cap reached either way; the other items do not change.
    with store.session() as s:
        done = correct(s, "A1", {"self_pay_in_scope": "4000.00", "total_cost": "28088.00"}, "医院更正了发票", CLERK)
        adjustments = [(a.claim_id, a.benefit, a.before_fen, a.after_fen, a.kind) for a in done.adjustments]
        batch_id = done.batch.id
    assert adjustments == [("A1", "medical_subsidy", 350000, 150000, "recovery"),
                           ("A2", "medical_subsidy", 1370000, 1330000, "recovery"),
                           ("A3", "medical_subsidy", 1300000, 1540000, "top_up")]
    with store.session() as s:  # nothing takes effect before a reviewer (not the corrector) approves it
        assert s.get(ClaimRow, "A1").self_pay_in_scope_fen == 800000
        assert settled_ledger(s).member_period("HZ001", 2025).item_paid["medical"] == 30200
        assert s.get(Batch, batch_id).state == "pending"
    with store.session() as s, pytest.raises(Refusal) as refused:
        approve_correction(s, batch_id, CLERK)
    assert refused.value.code in ("MAKER_CHECKER", "ROLE_REFUSED")
    with store.session() as s:
        approve_correction(s, batch_id, REVIEWER)
    with store.session() as s:
        assert s.get(Batch, batch_id).kind == "correction"
        assert check_ledger(s) == []
        old = s.scalars(select(ResultLineRow).where(ResultLineRow.claim_id == "A1", ResultLineRow.current.is_(False),
                                                    ResultLineRow.benefit == "medical_subsidy")).one()
        assert old.amount_fen == 350000  # the paid line is kept as it was
        assert s.get(ClaimRow, "A1").self_pay_in_scope_fen == 400000
        assert s.scalars(select(ClaimVersion.reason).where(ClaimVersion.claim_id == "A1")).one() == "医院更正了发票"
        ledger = settled_ledger(s)
        assert ledger.member_period("HZ001", 2025).item_paid["medical"] == 30200
        assert count(store, Adjustment) == 3


def test_a_correction_is_validated_like_an_import_and_needs_a_settled_claim(store):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    batch_and_approve(store, "hangzhou")
    with store.session() as s, pytest.raises(ProblemsFound) as refused:
        correct(s, "A1", {"self_pay_in_scope": "4000.00"}, "试一下", CLERK)  # total no longer adds up
    assert [p.code for p in refused.value.problems] == ["INPUT_COST_SUM"]
    with store.session() as s, pytest.raises(Refusal):
        correct(s, "A1", {"hospital_level": "2"}, "", CLERK)


def test_a_batch_killed_while_writing_leaves_nothing_half_written(db_url, tmp_path):
    """Many claims make the write long; the process is killed once it says it is writing the results."""
    from claims.store.database import Store

    store = Store(db_url)
    add_users(store)
    members, enrollments, claims = tmp_path / "m.csv", tmp_path / "e.csv", tmp_path / "c.csv"
    _synthetic(members, enrollments, claims, 3000)
    env = cli_login(db_url, CLERK)
    cli = [sys.executable, "-m", "claims.cli"]
    policy = FOLDER.parent.parent.parent / "policies" / "hangzhou.yaml"
    for kind, path in (("members", members), ("enrollments", enrollments), ("claims", claims)):
        subprocess.run([*cli, "import", kind, path, "--policy", policy], env=env, check=True, capture_output=True)
    process = subprocess.Popen([*cli, "batch", "create", "--policy", policy, "--period", "2025"], env=env,
                               stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in process.stderr:
        if line.startswith("写入"):
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(60)
    assert process.returncode == -signal.SIGKILL
    store.dispose()
    store = Store(db_url)
    with store.session() as s:
        assert s.scalar(text("select count(*) from batches")) == 0
        assert s.scalar(text("select count(*) from result_lines")) == 0
        assert set(s.scalars(select(ClaimRow.state))) == {"received"}
    store.dispose()


def _synthetic(members, enrollments, claims, n):
    from stdnum.cn import ric

    with members.open("w", encoding="utf-8") as m, enrollments.open("w", encoding="utf-8") as e, \
            claims.open("w", encoding="utf-8") as c:
        m.write("member_id,name,id_number,unit\n")
        e.write("member_id,item,period,shares,start_date\n")
        c.write("claim_id,member_id,event_type,admission_date,discharge_date,hospital_level,diagnoses,total_cost,"
                "insurance_paid,self_pay_in_scope,self_pay_out_of_scope,submitted_date\n")
        for i in range(n):
            base = f"3301021980{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
            m.write(f"M{i},会员{i},{base}{ric.calc_check_digit(base + '0')},单位{i % 20}\n")
            e.write(f"M{i},medical,2025,1,2025-01-01\nM{i},critical,2025,1,2025-01-01\n")
            c.write(f"C{i:05d},M{i},inpatient,2025-03-01,2025-03-{2 + i % 20:02d},3,C34.1,30000.00,20000.00,"
                    f"9000.00,1000.00,2025-04-01\n")


def test_the_audit_log_verifies_and_finds_a_tampered_deleted_or_reordered_entry(store):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    batch_and_approve(store, "hangzhou")
    with store.session() as s:
        checked, breaks = verify(s)
    assert checked == count(store, AuditEntry) >= 11 and breaks == []

    with store.session() as s:  # someone edits an entry in the database
        s.execute(text("update audit_log set reason = '改过' where seq = 5"))
    with store.session() as s:
        assert [(b.seq, b.code) for b in verify(s)[1]] == [(5, "AUDIT_TAMPERED")]
        s.execute(text("update audit_log set reason = '' where seq = 5"))
        assert verify(s)[1] == []

    with store.session() as s:  # two entries swap places
        a, b = (s.get(AuditEntry, 3), s.get(AuditEntry, 4))
        fields = ("at", "user_name", "action", "entity", "entity_id", "details_json", "reason", "prev_sha256", "sha256")
        values_a, values_b = [getattr(a, f) for f in fields], [getattr(b, f) for f in fields]
        for f, va, vb in zip(fields, values_a, values_b, strict=True):
            setattr(a, f, vb)
            setattr(b, f, va)
    with store.session() as s:
        assert {b.seq for b in verify(s)[1]} >= {3, 4}

    with store.session() as s:  # put them back, then delete one
        a, b = (s.get(AuditEntry, 3), s.get(AuditEntry, 4))
        for f, va, vb in zip(fields, values_a, values_b, strict=True):
            setattr(a, f, va)
            setattr(b, f, vb)
    with store.session() as s:
        assert verify(s)[1] == []
        s.execute(text("delete from audit_log where seq = 7"))
    with store.session() as s:
        assert [(b.seq, b.code) for b in verify(s)[1]] == [(8, "AUDIT_GAP"), (8, "AUDIT_CHAIN")]
