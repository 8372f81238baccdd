"""`audit rerun` compares with what the audit log recorded when the batch was created (and at approvals),
not only with the stored rows — which someone with database access can forge consistently."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from claims.audit.rerun import rerun, snapshot_of_batch
from claims.engine import Ledger, calculate
from claims.money import to_fen
from claims.policy import parse_policy
from claims.store.models import Batch
from claims.store.snapshot import inputs_from
from tests.conftest import login_once
from tests.store.helpers import AUDITOR


def _rerun_cli(db_url, batch_id):
    env = login_once({**os.environ, "CLAIMS_DB": db_url}, AUDITOR)
    return subprocess.run([sys.executable, "-m", "claims.cli", "audit", "rerun", str(batch_id)], env=env,
                          capture_output=True, text=True)


def test_an_untouched_batch_agrees_with_the_log(store, batch, db_url):
    done = _rerun_cli(db_url, batch)
    assert done.returncode == 0 and "identical" in done.stdout and "与审计日志当时记录" in done.stdout, done.stderr


def test_a_stored_claim_edited_in_the_database_is_found(store, batch, db_url):
    """The batch's snapshot still says 8,000.00; the claims row was changed behind the system's back."""
    with store.session() as s:
        s.execute(text("update claims set self_pay_in_scope_fen = 900000 where claim_id = 'A1'"))
    with store.session() as s:
        report = rerun(snapshot_of_batch(s, batch, AUDITOR))
    assert not report.identical
    assert [code for code, _ in report.findings] == ["INPUT_ROW_CHANGED"]
    assert "A1 的 self_pay_in_scope：库中现为 9000.00，批次 1 计算时为 8000.00" in report.findings[0][1]
    done = _rerun_cli(db_url, batch)
    assert done.returncode == 1 and "[INPUT_ROW_CHANGED]" in done.stdout


def test_a_consistently_forged_snapshot_lines_and_total_disagree_with_the_log(store, batch, db_url):
    """Inputs, result lines and the batch total rewritten together so that they agree with each other (a
    line-by-line re-run says identical); the audit log recorded the original total of 62,100.00."""
    with store.session() as s:
        stored = s.get(Batch, batch)
        inputs = json.loads(stored.inputs_json)
        a2 = next(c for c in inputs["claims"] if c["claim_id"] == "A2")
        a2["discharge_date"] = "2025-04-21"  # 8 days in hospital become 20: a larger living allowance
        policy = parse_policy(stored.policy_text, stored.policy_name).policy
        result = calculate(policy, *inputs_from(inputs), Ledger.from_json(json.loads(stored.ledger_before_json)))
        for line in result.lines:
            s.execute(text("update result_lines set amount_fen = :a where batch_id = :b and claim_id = :c and "
                           "item = :i and benefit = :n"),
                      {"a": to_fen(line.amount), "b": batch, "c": line.claim_id, "i": line.item, "n": line.benefit})
        forged_total = to_fen(sum((line.amount for line in result.lines), Decimal(0)))
        assert forged_total != 6210000  # the forgery moves money
        s.execute(text("update batches set total_fen = :t, inputs_json = :j where id = :b"),
                  {"t": forged_total, "j": json.dumps(inputs, ensure_ascii=False), "b": batch})
        s.execute(text("update claims set discharge_date = :d where claim_id = 'A2'"), {"d": date(2025, 4, 21)})
    with store.session() as s:
        report = rerun(snapshot_of_batch(s, batch, AUDITOR))
    assert report.differences == [] and report.policy_intact  # the forgery agrees with itself
    assert not report.identical
    codes = [code for code, _ in report.findings]
    assert "RECORD_TOTAL_MISMATCH" in codes and codes.count("RECORD_HASH_MISMATCH") == 2  # inputs and results
    assert "DECISION_AMOUNT_CHANGED" in codes  # A2 was approved at its original amount
    total_message = next(m for c, m in report.findings if c == "RECORD_TOTAL_MISMATCH")
    assert "审计日志记录的合计 62,100.00 元" in total_message or "审计日志记录的合计 62100.00 元" in total_message
    done = _rerun_cli(db_url, batch)
    assert done.returncode == 1 and "[RECORD_TOTAL_MISMATCH]" in done.stdout


def test_a_batch_whose_creation_record_was_deleted_is_not_identical(store, batch):
    with store.session() as s:
        s.execute(text("delete from audit_log where action = 'batch.create'"))
    with store.session() as s:
        report = rerun(snapshot_of_batch(s, batch, AUDITOR))
    assert [code for code, _ in report.findings] == ["AUDIT_RECORD_MISSING"]
