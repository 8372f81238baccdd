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
