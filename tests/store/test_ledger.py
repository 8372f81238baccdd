"""The period ledger across batches, returns, corrections, exports and concurrent work (issue 10), on SQLite
and PostgreSQL. Each case of the issue is reproduced here; ``check_ledger`` is the invariants' one checker."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from claims.engine import calculate
from claims.money import to_fen
from claims.store.models import Batch, ClaimRow, ResultLineRow
from claims.workflow.batches import create_batch, inputs_for
from claims.workflow.corrections import approve_correction, correct
from claims.workflow.decisions import decide
from claims.workflow.errors import Refusal
from claims.workflow.imports import import_file
from claims.workflow.ledger import check_ledger, live_ledger
from claims.workflow.payouts import mark_paid
from exports.commands import export_bank, export_payouts
from tests.conftest import ROOT, cli_login
from tests.store.helpers import ADMIN, AUDITOR, CLERK, FINANCE, REVIEWER, add_users, policy

SMALL = ROOT / "tests" / "fixtures" / "small"


def quiet(_message: str) -> None:
    pass


def _import(store, folder=SMALL, claims=None):
    loaded = policy()
    for kind in ("members", "enrollments", "claims"):
        path = claims if kind == "claims" and claims else folder / f"{kind}.csv"
        with store.session() as s:
            assert not import_file(s, kind, path, CLERK, loaded.policy).problems


def _batch(store, claim_ids=None) -> int:
    with store.session() as s:
        return create_batch(s, policy(), 2025, CLERK, claim_ids=claim_ids).id


def _decide(store, claim_id, decision="approve", note="") -> None:
    with store.session() as s:
        decide(s, claim_id, decision, REVIEWER, note or "缺发票")


def _approved_batch(store) -> int:
    """The small fixture imported, one batch of all its claims, every claim approved."""
    add_users(store)
    _import(store)
    batch_id = _batch(store)
    with store.session() as s:
        for claim_id in s.scalars(select(ClaimRow.claim_id).where(ClaimRow.batch_id == batch_id)):
            decide(s, claim_id, "approve", REVIEWER)
    return batch_id


def _live(store, member_id):
    """(claim, item, benefit, amount fen, batch) of the member's live lines."""
    with store.session() as s:
        return [(r.claim_id, r.item, r.benefit, r.amount_fen, r.batch_id) for r in s.scalars(
            select(ResultLineRow).where(ResultLineRow.member_id == member_id, ResultLineRow.live_from.is_not(None),
                                        ResultLineRow.live_until.is_(None)).order_by(ResultLineRow.id))]


def _clean(store):
    with store.session() as s:
        assert [str(v) for v in check_ledger(s)] == []


def test_case1_two_open_batches_never_spend_one_cap_twice(store):
    add_users(store)
    _import(store)
    first, second = _batch(store, ["2025-0001"]), _batch(store)
    for claim_id in ("2025-0001", "2025-0002"):
        _decide(store, claim_id)
    lumps = [(c, b) for c, item, benefit, amount, b in _live(store, "HZ1001") if item in ("critical", "women") and amount > 0]
    # 2025-0001 took the critical-illness lump sum (10,000) and the women's cap (20,000); 2025-0002 gets neither
    assert sorted(lumps) == [("2025-0001", first)] * len(lumps) and lumps
    paid = defaultdict(int)
    for _, item, _, amount, _ in _live(store, "HZ1001"):
        paid[item] += amount
    assert paid["women"] <= to_fen(Decimal("20000"))  # the women's cap, 1 share
    _clean(store)  # every cap and once-rule, from the policy
    from claims.audit.rerun import rerun, snapshot_of_batch

    with store.session() as s:
        for batch_id in (first, second):
            assert rerun(snapshot_of_batch(s, batch_id, REVIEWER)).identical


def test_case1_audit_rerun_and_the_checker_find_a_batch_calculated_without_an_open_batch(store, db_url):
    add_users(store)
    _import(store)
    _batch(store, ["2025-0001"])
    second = _batch(store)
    with store.session() as s:  # as the old code did: the second batch's ledger-before left the open batch out
        b = s.get(Batch, second)
        b.ledger_before_json = '{"periods": [], "lifetime_lump": {}, "invoices": {}}'
    from claims.audit.rerun import rerun, snapshot_of_batch

    with store.session() as s:
        report = rerun(snapshot_of_batch(s, second, REVIEWER))
        assert not report.identical and any(code == "LEDGER_BEFORE_MISMATCH" for code, _ in report.findings)
        assert any(v.code == "LEDGER_BEFORE_MISMATCH" for v in check_ledger(s))
    cli_login(db_url, AUDITOR)
    audited = subprocess.run([sys.executable, "-m", "claims.cli", "--db", db_url, "--user", AUDITOR, "audit", "ledger",
                              "--period", "2025"], capture_output=True, text=True)
    assert audited.returncode == 1 and "[LEDGER_BEFORE_MISMATCH]" in audited.stdout and "Traceback" not in audited.stderr
    assert "会员 HZ1001 2025 年度计算时的台账与当时有效的结果行不符" in audited.stdout
    rerun_cli = subprocess.run([sys.executable, "-m", "claims.cli", "--db", db_url, "--user", AUDITOR, "audit", "rerun",
                                str(second)], capture_output=True, text=True)
    assert rerun_cli.returncode == 1 and "identical" not in rerun_cli.stdout


def test_case2_a_returned_claim_resubmitted_counts_once(store):
    add_users(store)
    _import(store)
    first = _batch(store, ["2025-0001"])
    _decide(store, "2025-0001", "return")
    _import(store)  # the same row again: its resubmission
    with store.session() as s:
        assert s.get(ClaimRow, "2025-0001").state == "received"
    second = _batch(store, ["2025-0001"])
    _decide(store, "2025-0001")
    live = _live(store, "HZ1001")
    assert {b for c, *_, b in live if c == "2025-0001"} == {second} and first != second
    with store.session() as s:
        base = live_ledger(s).member_period("HZ1001", 2025).base
        assert sum(base.values()) == Decimal("18000.00")  # the in-scope self-pay of 2025-0001, once
    _clean(store)


def test_case2_a_return_re_evaluates_the_later_claims(store):
    add_users(store)
    _import(store)
    _batch(store, ["2025-0001"])
    _batch(store, ["2025-0002"])
    before = {(i, b): a for c, i, b, a, _ in _live(store, "HZ1001") if c == "2025-0002"}
    _decide(store, "2025-0001", "return")
    after = {(i, b): a for c, i, b, a, _ in _live(store, "HZ1001") if c == "2025-0002"}
    assert before != after  # 2025-0002 no longer comes after 2025-0001: recalculated in place
    with store.session() as s:
        lone = inputs_for(s, list(s.execute(select(*ClaimRow.__table__.c).where(ClaimRow.claim_id == "2025-0002"))))
        fresh = calculate(policy().policy, lone.members, lone.enrollments, lone.claims)
        assert after == {(line.item, line.benefit): to_fen(line.amount) for line in fresh.lines}
        assert s.get(ClaimRow, "2025-0002").state == "calculated"
    _clean(store)


def _halves(tmp_path, n=160):
    from tests.store.test_corrections_and_audit import _synthetic

    members, enrollments, claims = tmp_path / "m.csv", tmp_path / "e.csv", tmp_path / "c.csv"
    _synthetic(members, enrollments, claims, n)
    header, *rows = list(csv.reader(claims.open(encoding="utf-8")))
    # two claims per member: each member's second claim is discharged later
    extra = [[f"D{r[0][1:]}", r[1], r[2], "2025-05-01", f"2025-05-{2 + int(r[0][1:]) % 20:02d}", *r[5:-1], "2025-06-01"]
             for r in rows]
    every = sorted(rows + extra, key=lambda r: (r[4], r[0]))
    parts = []
    for index, chunk in enumerate((every[: len(every) // 2], every[len(every) // 2:])):
        path = tmp_path / f"claims{index}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *chunk])
        parts.append(path)
    return members, enrollments, parts


def test_case4_two_open_batches_pay_what_one_calculation_pays(store, tmp_path):
    add_users(store)
    members, enrollments, parts = _halves(tmp_path)
    loaded = policy()
    for kind, path in (("members", members), ("enrollments", enrollments)):
        with store.session() as s:
            assert not import_file(s, kind, path, CLERK, loaded.policy).problems
    for path in parts:
        with store.session() as s:
            assert not import_file(s, "claims", path, CLERK, loaded.policy).problems
        _batch(store)
    with store.session() as s:
        for claim_id in s.scalars(select(ClaimRow.claim_id)):
            decide(s, claim_id, "approve", REVIEWER)
    with store.session() as s:
        everything = inputs_for(s, list(s.execute(select(*ClaimRow.__table__.c))))
        once = calculate(loaded.policy, everything.members, everything.enrollments, everything.claims)
        expected = {(line.claim_id, line.item, line.benefit): to_fen(line.amount) for line in once.lines}
        stored = {(r.claim_id, r.item, r.benefit): r.amount_fen for r in s.scalars(
            select(ResultLineRow).where(ResultLineRow.live_until.is_(None)))}
    assert stored == expected
    _clean(store)


def test_case5_a_claim_is_paid_once_and_exports_follow_corrections(store, tmp_path):
    batch_id = _approved_batch(store)
    with store.session() as s:  # corrected before anything went out: the batch's files pay the new amount
        done = correct(s, "2025-0003", {"self_pay_in_scope": "7000.00", "total_cost": "53500.00"}, "医院退费", CLERK)
        correction = done.batch.id
    with store.session() as s:
        approve_correction(s, correction, REVIEWER)
    with store.session() as s:
        current = sum(r.amount_fen for r in s.scalars(select(ResultLineRow).where(
            ResultLineRow.claim_id == "2025-0003", ResultLineRow.current.is_(True))))
        first = export_bank(s, batch_id, tmp_path / "bank.csv", FINANCE, quiet)
    rows = list(csv.reader((tmp_path / "bank.csv").open(encoding="utf-8-sig")))[1:]
    paid = {row[1]: Decimal(row[2]) for row in rows}
    assert paid["李强"] == Decimal(current) / 100  # HZ1002's only claim is 2025-0003
    with store.session() as s:  # again: nothing already in a bank file (at most claims still lacking an account)
        try:
            again = export_bank(s, batch_id, tmp_path / "bank2.csv", FINANCE, quiet)
            assert (again.count, again.total) == (0, 0)
        except Refusal as refused:
            assert refused.code == "NOTHING_TO_PAY"
    assert first.count > 0
    with store.session() as s:
        redo = export_bank(s, batch_id, tmp_path / "bank3.csv", FINANCE, quiet, reexport=True)
    assert redo.files[0].name == "bank3（重新导出）.csv" and redo.total == first.total
    with store.session() as s:
        mark_paid(s, batch_id, FINANCE)
    with store.session() as s, pytest.raises(Refusal):
        export_bank(s, batch_id, tmp_path / "bank4.csv", FINANCE, quiet, reexport=True)  # paid: never again
    with store.session() as s, pytest.raises(Refusal):
        export_payouts(s, batch_id, tmp_path / "p.xlsx", FINANCE, False, quiet)
    _clean(store)


def test_case5_a_correction_after_payment_is_a_top_up_exported_like_a_batch(store, tmp_path):
    batch_id = _approved_batch(store)
    with store.session() as s:
        mark_paid(s, batch_id, FINANCE)
    with store.session() as s:  # 9,000 → 11,000 in scope: (11,000 − 1,000) × 50% = 5,000, was 4,000 → top up 1,000
        done = correct(s, "2025-0003", {"self_pay_in_scope": "11000.00", "total_cost": "57500.00"}, "漏报", CLERK)
        correction = done.batch.id
        assert [(a.kind, a.after_fen - a.before_fen) for a in done.adjustments] == [("top_up", 100000)]
    with store.session() as s, pytest.raises(Refusal) as pending:
        export_bank(s, correction, tmp_path / "early.csv", FINANCE, quiet)
    assert pending.value.code == "CORRECTION_PENDING"
    with store.session() as s:
        approve_correction(s, correction, REVIEWER)
    with store.session() as s:
        written = export_bank(s, correction, tmp_path / "topup.csv", FINANCE, quiet)
    assert (written.count, written.total) == (1, Decimal("1000.00"))
    with store.session() as s:
        listed = export_payouts(s, correction, tmp_path / "topup.xlsx", FINANCE, False, quiet)
    assert (listed.count, listed.total) == (1, Decimal("1000.00"))
    with store.session() as s:
        assert mark_paid(s, correction, FINANCE) == (1, Decimal("1000.00"))
    _clean(store)


def test_maker_checker_the_corrector_cannot_approve_their_own_correction(store):
    from claims.workflow.users import add_user

    _approved_batch(store)
    with store.session() as s:
        add_user(s, ADMIN, CLERK, "reviewer")  # a clerk who also reviews
    with store.session() as s:
        correction = correct(s, "2025-0003", {"hospital_level": "3"}, "等级录错", CLERK).batch.id
    with store.session() as s, pytest.raises(Refusal) as refused:
        approve_correction(s, correction, CLERK)
    assert refused.value.code == "MAKER_CHECKER"


SLOW_BATCH = """
import sys, time
from claims.store.database import Store
from claims.policy import read_policy
from claims.workflow.batches import create_batch
store = Store(sys.argv[1])
def progress(message):
    if message.startswith("计算中"):
        print("calculating", flush=True)
        time.sleep(3)
with store.session() as s:
    create_batch(s, read_policy(sys.argv[2]), 2025, sys.argv[3], claim_ids=["2025-0002"], progress=progress)
print("done", flush=True)
"""


@pytest.mark.parametrize("decision", ["approve", "return"])
def test_case3_a_decision_during_a_batch_waits_for_it(store, db_url, decision):
    """Two real processes: one calculates 2025-0002 (after 2025-0001's live lines) and is slow; the other
    approves or returns 2025-0001 meanwhile. The decision waits for the batch's lock; an approval leaves
    2025-0002 as calculated after 2025-0001, a return re-evaluates it as if 2025-0001 had never been."""
    add_users(store)
    _import(store)
    _batch(store, ["2025-0001"])
    slow = subprocess.Popen([sys.executable, "-c", SLOW_BATCH, db_url, str(ROOT / "policies" / "hangzhou.yaml"), CLERK],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert slow.stdout.readline().strip() == "calculating"
    started = time.monotonic()
    _decide(store, "2025-0001", decision)
    waited = time.monotonic() - started
    assert slow.wait(60) == 0, slow.stderr.read()
    assert waited > 1.0  # it waited for the batch's lock
    _clean(store)
    wanted = ["2025-0002"] if decision == "return" else ["2025-0001", "2025-0002"]
    with store.session() as s:
        rows = list(s.execute(select(*ClaimRow.__table__.c).where(ClaimRow.claim_id.in_(wanted))))
        both = inputs_for(s, rows)
        fresh = calculate(policy().policy, both.members, both.enrollments, both.claims)
    live = {(i, b): a for c, i, b, a, _ in _live(store, "HZ1001") if c == "2025-0002"}
    assert live == {(line.item, line.benefit): to_fen(line.amount) for line in fresh.lines
                    if line.claim_id == "2025-0002"}


def test_an_approval_against_a_ledger_that_moved_is_refused(store):
    from claims.store.models import LedgerHead

    add_users(store)
    _import(store)
    _batch(store, ["2025-0001"])
    with store.session() as s:  # the member-period's ledger moved on without this claim being re-checked
        s.get(LedgerHead, ("HZ1001", 2025)).generation += 1
    with store.session() as s, pytest.raises(Refusal) as refused:
        decide(s, "2025-0001", "approve", REVIEWER)
    assert refused.value.code == "LEDGER_STALE" and "重新" in refused.value.message


def test_the_review_sheet_shows_a_recalculated_claim_and_refuses_the_old_sheet(store, tmp_path):
    from openpyxl import load_workbook

    from claims.workflow.review import export_review, import_review

    add_users(store)
    _import(store)
    _batch(store, ["2025-0001"])
    second = _batch(store, ["2025-0002"])
    old = tmp_path / "old.xlsx"
    with store.session() as s:
        export_review(s, second, old, REVIEWER)
    _decide(store, "2025-0001", "return")
    new = tmp_path / "new.xlsx"
    with store.session() as s:
        export_review(s, second, new, REVIEWER)
    row = [c.value for c in load_workbook(new)["审核表"][4]]
    assert any("已重新计算" in str(v) for v in row if v)
    book = load_workbook(old)
    book["审核表"].cell(4, len(row) - 1).value = "通过"
    book.save(old)
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_review(s, old, REVIEWER)
    assert refused.value.code == "REVIEW_OTHER_BATCH"


TAKE_ALL = """
import sys
from claims.store.database import Store
from claims.policy import read_policy
from claims.workflow.batches import create_batch
from claims.workflow.errors import Refusal
store = Store(sys.argv[1])
try:
    with store.session() as s:
        print(create_batch(s, read_policy(sys.argv[2]), 2025, sys.argv[3]).id, flush=True)
except Refusal as refusal:
    print(refusal.code, flush=True)
"""


def test_two_batch_creates_at_once_never_share_a_claim(store, db_url):
    add_users(store)
    _import(store)
    runs = [subprocess.Popen([sys.executable, "-c", TAKE_ALL, db_url, str(ROOT / "policies" / "hangzhou.yaml"), CLERK],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    said = sorted(run.communicate(timeout=120)[0].strip() for run in runs)
    assert all(run.returncode == 0 for run in runs), said
    with store.session() as s:
        batches = {b for b in s.scalars(select(ClaimRow.batch_id))}
        per_claim = s.execute(select(ResultLineRow.claim_id, ResultLineRow.batch_id).distinct()).all()
    assert len(batches) == 1 and len({c for c, _ in per_claim}) == len(per_claim)
    assert said[1] in ("BATCH_CONFLICT", "BATCH_EMPTY") and said[0].isdigit()
    _clean(store)
