"""Shared test helpers: the shipped policies and quick builders for members, enrollments and claims."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from claims.engine import Claim, Enrollment, Member
from claims.policy import parse_policy, read_policy

pytest_plugins = ["tests.databases"]


@pytest.fixture(autouse=True)
def _isolated_logins(tmp_path_factory, monkeypatch):
    """Every test keeps its CLI logins in its own token file (never the developer's ~/.claims), and hashes
    passwords with cheap argon2 parameters in-process (the parameters live in each hash, so the real
    defaults still verify them; subprocesses hash with the real defaults)."""
    from argon2 import PasswordHasher

    from claims.workflow import auth

    folder = tmp_path_factory.mktemp("logins")
    folder.chmod(0o700)
    monkeypatch.setenv("CLAIMS_TOKEN_FILE", str(folder / "logins.json"))
    monkeypatch.delenv("CLAIMS_USER", raising=False)
    monkeypatch.setattr(auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def cli_login(db_url: str, name: str, password: str | None = None) -> dict[str, str]:
    """Log ``name`` in the way a person would (``claims login NAME --password-stdin``) and return the
    environment for running further commands as them (CLAIMS_USER picks this login among several)."""
    import os
    import subprocess
    import sys

    from tests.store.helpers import PASSWORD

    env = {**os.environ, "CLAIMS_DB": db_url}
    done = subprocess.run([sys.executable, "-m", "claims.cli", "login", name, "--password-stdin"],
                          input=(password or PASSWORD) + "\n", capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return {**env, "CLAIMS_USER": name}

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


def login_once(env: dict, name: str, password: str | None = None) -> dict:
    """``env`` acting as ``name``: logs in with ``claims login`` the first time, then only chooses that
    login (CLAIMS_USER) — as a person who logged in once in the morning."""
    from claims.cli.common import database_key, read_logins

    url = env["CLAIMS_DB"]
    if not any(e["db"] == database_key(url) and e["user"] == name for e in read_logins()):
        cli_login(url, name, password)
    return {**env, "CLAIMS_USER": name}


def setup_users(url: str, users: dict[str, str]) -> None:
    """Test set-up: the administrator (管理员) and ``users`` {name: role}, each with the test password,
    added through the same workflow function as ``claims users add`` (the CLI's own tests add them by hand)."""
    from claims.store.database import Store
    from claims.workflow.users import add_user
    from tests.store.helpers import ADMIN, PASSWORD

    store = Store(url)
    try:
        with store.session() as s:
            add_user(s, None, ADMIN, "admin", PASSWORD)
            for name, role in users.items():
                add_user(s, ADMIN, name, role, PASSWORD)
    finally:
        store.dispose()

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


@pytest.fixture(scope="session", autouse=True)
def audit_keys(tmp_path_factory):
    """The installation's keys (audit-log HMAC key, signing key) in a folder of the test session, never the
    tester's own; subprocesses inherit it through the environment."""
    import os

    from claims.audit.keys import KEY_DIR_ENV, ensure_keys

    folder = tmp_path_factory.mktemp("keys")
    previous = os.environ.get(KEY_DIR_ENV)
    os.environ[KEY_DIR_ENV] = str(folder)
    ensure_keys(folder)
    yield folder
    if previous is None:
        os.environ.pop(KEY_DIR_ENV, None)
    else:
        os.environ[KEY_DIR_ENV] = previous


@pytest.fixture(scope="session")
def hangzhou():
    return read_policy(POLICIES / "hangzhou.yaml").policy


@pytest.fixture(scope="session")
def beijing():
    return read_policy(POLICIES / "beijing.yaml").policy


def policy_from(text: str):
    return parse_policy(text, "test.yaml").policy


def member(member_id="M1", gender="female", birth=date(1980, 5, 12), unit="测试单位") -> Member:
    return Member(member_id, f"会员{member_id}", "330102198005120142", gender, birth, unit)


def enrollment(member_id="M1", item="medical", period=2025, shares=1, start=None) -> Enrollment:
    return Enrollment(member_id, item, period, shares, start or date(period, 1, 1))


def claim(claim_id="C1", member_id="M1", *, event_type="inpatient", admission=date(2025, 3, 1),
          discharge=None, diagnosis=None, level=3, diagnoses=("I10",), procedures=(),
          in_scope="0", out_of_scope="0", insurance="0", invoice="", submitted=None) -> Claim:
    discharge = discharge or admission
    parts = [Decimal(insurance), Decimal(in_scope), Decimal(out_of_scope)]
    return Claim(claim_id, member_id, event_type, admission, discharge, diagnosis or admission, level,
                 tuple(diagnoses), tuple(procedures), sum(parts), *parts, invoice, submitted or discharge)


def lines_of(calculation, item: str | None = None) -> list[tuple]:
    """Result lines as (claim, item, benefit, amount text, reason) for comparing with hand-made tables;
    with ``item``, only that item's lines (an inpatient claim also triggers the other items' benefits)."""
    return [(line.claim_id, line.item, line.benefit, str(line.amount), line.reason.value if line.reason else "")
            for line in calculation.lines if item is None or line.item == item]
