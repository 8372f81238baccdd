"""Helpers for store tests: users, imports of a scenario folder, approving a batch."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from claims.policy import read_policy
from claims.store.models import ClaimRow
from claims.workflow.batches import create_batch
from claims.workflow.decisions import decide
from claims.workflow.imports import import_file
from claims.workflow.policy_versions import approve, publish
from claims.workflow.users import add_user
from tests.conftest import POLICIES, ROOT

SCENARIOS = ROOT / "tests" / "acceptance"
CLERK, REVIEWER, FINANCE, AUDITOR, ADMIN = "小王", "李审核", "张会计", "赵审计", "管理员"
PASSWORD = "测试用的密码-Correct-Horse"  # every test user's password (at least 10 characters, not the name)


def add_users(store) -> None:
    """The administrator first (a new database's bootstrap user), then one user of each work role."""
    with store.session() as s:
        add_user(s, None, ADMIN, "admin", PASSWORD)
        for name, role in ((CLERK, "clerk"), (REVIEWER, "reviewer"), (FINANCE, "finance"), (AUDITOR, "auditor")):
            add_user(s, ADMIN, name, role, PASSWORD)


def policy(name: str = "hangzhou"):
    return read_policy(POLICIES / f"{name}.yaml")


def import_folder(store, folder: Path, policy_name: str, claims_file: Path | None = None) -> None:
    loaded = policy(policy_name)
    for kind in ("members", "enrollments", "claims"):
        path = claims_file if kind == "claims" and claims_file else folder / f"{kind}.csv"
        with store.session() as s:
            result = import_file(s, kind, path, CLERK, loaded.policy)
            assert not result.problems, result.problems


def publish_and_approve(store, policy_name: str = "hangzhou", path: Path | None = None,
                        from_period: int | None = None) -> int:
    """The clerk publishes the policy file, the reviewer approves it; returns the version number."""
    with store.session() as s:
        version = publish(s, path or POLICIES / f"{policy_name}.yaml", CLERK, "测试", from_period).id
    with store.session() as s:
        approve(s, version, REVIEWER)
    return version


def batch_and_approve(store, policy_name: str | None, period: int = 2025) -> int:
    """A batch with the named policy file (None: the approved version in force), every claim approved."""
    with store.session() as s:
        batch = create_batch(s, policy(policy_name) if policy_name else None, period, CLERK)
        batch_id = batch.id
    with store.session() as s:
        for claim_id in s.scalars(select(ClaimRow.claim_id).where(ClaimRow.batch_id == batch_id)):
            decide(s, claim_id, "approve", REVIEWER)
    return batch_id


def count(store, model) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model))
