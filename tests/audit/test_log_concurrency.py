"""Six reviewers deciding six different claims at the same moment: every decision is kept, the log is whole.

Before appends took the ``audit_head`` lock, two transactions read the same last ``seq`` and the second died
with a UniqueViolation on ``audit_log.seq`` (PostgreSQL) or an IntegrityError (SQLite): its decision lost."""

from __future__ import annotations

import threading

from sqlalchemy import select

from claims.store.database import Store
from claims.store.models import AuditEntry, ClaimRow
from claims.workflow.audit_log import verify
from claims.workflow.batches import create_batch
from claims.workflow.decisions import decide
from claims.workflow.imports import import_file
from tests.conftest import login_once
from tests.store.helpers import ADMIN, CLERK, FINANCE, PASSWORD, REVIEWER, add_users, policy
from tests.store.test_corrections_and_audit import _synthetic

REVIEWERS = [REVIEWER, "审核二", "审核三", "审核四", "审核五", "审核六"]


def _six_calculated_claims(db_url, tmp_path) -> list[str]:
    from claims.workflow.users import add_user

    store = Store(db_url)
    add_users(store)
    with store.session() as s:
        for name in REVIEWERS[1:]:
            add_user(s, ADMIN, name, "reviewer", PASSWORD)
    members, enrollments, claims = tmp_path / "m.csv", tmp_path / "e.csv", tmp_path / "c.csv"
    _synthetic(members, enrollments, claims, 6)
    for kind, path in (("members", members), ("enrollments", enrollments), ("claims", claims)):
        with store.session() as s:
            assert not import_file(s, kind, path, CLERK, policy().policy).problems
    with store.session() as s:
        create_batch(s, policy(), 2025, CLERK)
        ids = sorted(s.scalars(select(ClaimRow.claim_id)))
    store.dispose()
    return ids


def _decide_all_at_once(db_url, claim_ids, rounds_apart: bool = False) -> list[BaseException]:
    barrier = threading.Barrier(len(claim_ids))
    errors: list[BaseException] = []

    def one(claim_id: str, reviewer: str) -> None:
        store = Store(db_url)
        try:
            with store.session() as s:
                s.execute(select(ClaimRow.claim_id).limit(1)).all()  # connected before the start signal
                barrier.wait(30)
                decide(s, claim_id, "approve", reviewer)
        except BaseException as error:  # noqa: BLE001 — the test reports every lost decision
            errors.append(error)
        finally:
            store.dispose()

    threads = [threading.Thread(target=one, args=(c, r)) for c, r in zip(claim_ids, REVIEWERS, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def test_six_reviewers_deciding_at_once_lose_nothing(db_url, tmp_path):
    claim_ids = _six_calculated_claims(db_url, tmp_path)
    assert len(claim_ids) == 6
    errors = _decide_all_at_once(db_url, claim_ids)
    assert errors == []
    store = Store(db_url)
    with store.session() as s:
        assert set(s.scalars(select(ClaimRow.state))) == {"approved"}
        approvals = list(s.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "claim.approve")))
        assert sorted(approvals) == claim_ids
        checked, breaks = verify(s)
        assert breaks == [] and checked == len(list(s.scalars(select(AuditEntry.seq))))
    store.dispose()


def test_appends_from_separate_processes_get_consecutive_numbers(db_url, tmp_path):
    """Six processes each appending (bundling is a pure append: no other row is written first)."""
    import os
    import subprocess
    import sys

    claim_ids = _six_calculated_claims(db_url, tmp_path)
    env = login_once({**os.environ, "CLAIMS_DB": db_url}, FINANCE)  # (the login is an entry of its own)
    store = Store(db_url)
    with store.session() as s:
        before = len(list(s.scalars(select(AuditEntry.seq))))
    store.dispose()
    processes = [subprocess.Popen([sys.executable, "-m", "claims.cli", "audit", "bundle", "1", "-o",
                                   tmp_path / f"b{i}.zip"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for i in range(6)]
    outcomes = [p.communicate(180) for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, outcomes
    store = Store(db_url)
    with store.session() as s:
        seqs = list(s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
        assert seqs == list(range(1, before + 7))
        assert verify(s)[1] == []
    store.dispose()
    assert claim_ids
