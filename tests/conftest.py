"""Shared test helpers: the shipped policies and quick builders for members, enrollments and claims."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from claims.engine import Claim, Enrollment, Member
from claims.policy import parse_policy, read_policy

pytest_plugins = ["tests.databases"]

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
