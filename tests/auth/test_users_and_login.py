"""Users, passwords, lockout and sessions at the workflow level, on SQLite and on PostgreSQL.

The clock is injected (``now=``): a lockout's 15 minutes and a login's 8 hours pass without sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from claims.store.models import AuditEntry, LoginSession, User
from claims.workflow.auth import check_password_of, login, logout, session_user, token_digest
from claims.workflow.decisions import decide
from claims.workflow.errors import InvalidInput, Refusal
from claims.workflow.users import add_user, list_users, require, set_disabled, set_password
from tests.store.helpers import ADMIN, AUDITOR, CLERK, PASSWORD, REVIEWER, add_users

T0 = datetime(2026, 3, 2, 9, 0, 0)


def _actions(store, name: str) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == name).order_by(AuditEntry.seq)))


def test_the_first_user_needs_no_login_and_must_be_the_administrator(store):
    with store.session() as s, pytest.raises(Refusal) as refused:
        add_user(s, None, CLERK, "clerk", PASSWORD)
    assert refused.value.code == "FIRST_USER_ADMIN" and "--role admin" in refused.value.message
    with store.session() as s:
        add_user(s, None, ADMIN, "admin", PASSWORD)
    with store.session() as s, pytest.raises(Refusal) as refused:  # the second one needs an administrator
        add_user(s, None, CLERK, "clerk", PASSWORD)
    assert refused.value.code == "LOGIN_REQUIRED"
    assert _actions(store, ADMIN) == ["user.add"]


def test_only_the_administrator_manages_users_and_the_administrator_decides_nothing(store):
    add_users(store)
    with store.session() as s, pytest.raises(Refusal) as refused:  # the issue-17 attack: a clerk mints a reviewer
        add_user(s, CLERK, "第二个我", "reviewer", PASSWORD)
    assert refused.value.code == "ROLE_REFUSED"
    for role in ("admin", "reviewer"):  # administrator and work roles never on one user
        with store.session() as s, pytest.raises(Refusal) as refused:
            add_user(s, ADMIN, CLERK if role == "admin" else ADMIN, role)
        assert refused.value.code == "ADMIN_SEPARATE"
    with store.session() as s, pytest.raises(Refusal) as refused:
        require(s, ADMIN, "decide")
    assert refused.value.code == "ROLE_REFUSED"
    with store.session() as s, pytest.raises(Refusal) as refused:
        decide(s, "any", "approve", ADMIN)
    assert refused.value.code in {"ROLE_REFUSED", "CLAIM_UNKNOWN"}
    with store.session() as s:
        assert {u.name for u in list_users(s, AUDITOR)} == {ADMIN, CLERK, REVIEWER, "张会计", AUDITOR}
        assert s.get(User, CLERK).password_hash.startswith("$argon2id$")
        assert PASSWORD not in s.get(User, CLERK).password_hash


@pytest.mark.parametrize("name, code", [
    ("", "USER_NAME_EMPTY"), ("   ", "USER_NAME_EMPTY"), (" rev1", "USER_NAME_SPACES"), ("rev1 ", "USER_NAME_SPACES"),
    ("a" * 65, "USER_NAME_TOO_LONG"), ("审核" * 33, "USER_NAME_TOO_LONG"), ("rev\u200b1", "USER_NAME_CHARACTER"),
    ("rev\u202e1", "USER_NAME_CHARACTER"), ("rev\x001", "USER_NAME_CHARACTER"), ("李 审核", "USER_NAME_CHARACTER"),
])
def test_user_names_are_checked_the_same_on_every_database(store, name, code):
    add_users(store)
    with store.session() as s, pytest.raises(InvalidInput) as refused:
        add_user(s, ADMIN, name, "clerk", PASSWORD)
    assert refused.value.code == code and refused.value.exit_code == 2


def test_a_64_character_name_fits_on_every_database(store):
    add_users(store)
    with store.session() as s:
        add_user(s, ADMIN, "审" * 64, "clerk", PASSWORD)
    with store.session() as s:
        assert s.get(User, "审" * 64) is not None


@pytest.mark.parametrize("password, code", [("短密码123", "PASSWORD_TOO_SHORT"), ("123456789", "PASSWORD_TOO_SHORT"),
                                            ("新来的经办员", "PASSWORD_TOO_SHORT"), ("新来的经办员新来的经办员", "PASSWORD_IS_NAME")])
def test_password_rules(store, password, code):
    add_users(store)
    with store.session() as s, pytest.raises(InvalidInput) as refused:
        add_user(s, ADMIN, "新来的经办员", "clerk", password)
    assert refused.value.code == code


def test_a_wrong_password_is_refused_and_counted(store):
    add_users(store)
    with store.session() as s:
        outcome = login(s, CLERK, "不是这个密码-1234", "cli", T0)
    assert not outcome.ok and outcome.refusal.code == "LOGIN_FAILED" and outcome.token is None
    assert "再错 4 次" in outcome.refusal.message
    with store.session() as s:
        assert s.get(User, CLERK).failed_logins == 1
        assert s.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert _actions(store, CLERK)[-1] == "login.failed"
    with store.session() as s:  # an unknown user gets the same answer, and the attempt is logged too
        unknown = login(s, "没有这个人", PASSWORD, "web", T0)
    assert unknown.refusal.message == outcome.refusal.message  # the same words as for a real user's first miss
    assert _actions(store, "没有这个人") == ["login.failed"]
    with store.session() as s:  # a success starts over
        assert login(s, CLERK, PASSWORD, "cli", T0).ok
        assert s.get(User, CLERK).failed_logins == 0


def test_an_unknown_name_answers_exactly_as_a_real_user_so_names_cannot_be_probed(store):
    """Five misses on a real user and on a name that is no user, at the same times: the same answers word for
    word after the name (counting down, then locked for 15 minutes, then refused while locked, then free again)."""
    add_users(store)
    answers = {}
    for name in (REVIEWER, "没有这个人"):
        said = []
        for minute in (0, 1, 2, 3, 4, 10, 20):
            with store.session() as s:
                outcome = login(s, name, f"错误的密码-{minute}-xx", "web", T0 + timedelta(minutes=minute))
            said.append((outcome.refusal.code, outcome.refusal.message.replace(name, "某人")))
        answers[name] = said
    assert answers[REVIEWER] == answers["没有这个人"]
    codes = [code for code, _ in answers[REVIEWER]]
    # four misses count down; the fifth locks until 9:19; 9:10 is refused as locked; 9:20 is counted afresh
    assert codes == ["LOGIN_FAILED"] * 4 + ["LOGIN_LOCKED", "LOGIN_LOCKED", "LOGIN_FAILED"]
    assert [m for _, m in answers[REVIEWER]][:4] == [f"用户名或密码不正确（再错 {n} 次将锁定 15 分钟）" for n in (4, 3, 2, 1)]
    assert "17:19" in answers[REVIEWER][4][1] and "17:19" in answers[REVIEWER][5][1]  # 9:04 + 15 min, Beijing time


def test_five_failures_lock_for_15_minutes_at_every_door(store):
    add_users(store)
    for attempt in range(5):
        with store.session() as s:
            outcome = login(s, REVIEWER, f"错误的密码-{attempt}-xx", "cli" if attempt % 2 else "web", T0 + timedelta(minutes=attempt))
    assert outcome.refusal.code == "LOGIN_LOCKED"
    locked_at = T0 + timedelta(minutes=4)
    with store.session() as s:
        assert s.get(User, REVIEWER).locked_until == locked_at + timedelta(minutes=15)
    for door in ("cli", "web"):  # the right password is refused while locked, at both doors
        with store.session() as s:
            assert login(s, REVIEWER, PASSWORD, door, locked_at + timedelta(minutes=14, seconds=59)).refusal.code == "LOGIN_LOCKED"
    with store.session() as s:
        assert login(s, REVIEWER, PASSWORD, "web", locked_at + timedelta(minutes=15)).ok
    actions = _actions(store, REVIEWER)
    assert actions.count("login.failed") == 5 and actions.count("login.locked") == 1
    assert actions.count("login.refused") == 2 and actions[-1] == "login"


def test_after_a_lockout_expires_five_more_failures_are_needed(store):
    add_users(store)
    for _attempt in range(5):
        with store.session() as s:
            login(s, REVIEWER, "错误的密码-错误的密码", "cli", T0)
    later = T0 + timedelta(minutes=16)
    for _attempt in range(4):
        with store.session() as s:
            assert login(s, REVIEWER, "错误的密码-错误的密码", "cli", later).refusal.code == "LOGIN_FAILED"
    with store.session() as s:
        assert login(s, REVIEWER, "错误的密码-错误的密码", "cli", later).refusal.code == "LOGIN_LOCKED"


def test_the_administrator_resets_a_password_and_lifts_the_lock(store):
    add_users(store)
    for _ in range(5):
        with store.session() as s:
            login(s, REVIEWER, "错误的密码-错误的密码", "cli", T0)
    with store.session() as s:
        set_password(s, ADMIN, REVIEWER, "新的密码-很长很长的")
    with store.session() as s:
        assert check_password_of(s, REVIEWER, "新的密码-很长很长的", "cli", T0) is None
    with store.session() as s, pytest.raises(Refusal):  # nobody else resets another's password
        set_password(s, CLERK, REVIEWER, "新的密码-很长很长的2")


def test_a_cli_token_lasts_8_hours_and_only_its_hash_is_stored(store):
    add_users(store)
    with store.session() as s:
        outcome = login(s, CLERK, PASSWORD, "cli", T0)
    with store.session() as s:
        row = s.scalar(select(LoginSession))
        assert row.token_sha256 == token_digest(outcome.token) and outcome.token not in row.token_sha256
        assert session_user(s, outcome.token, "cli", T0 + timedelta(hours=7, minutes=59)) == CLERK
    with store.session() as s, pytest.raises(Refusal) as refused:
        session_user(s, outcome.token, "cli", T0 + timedelta(hours=8))
    assert refused.value.code == "LOGIN_EXPIRED"
    with store.session() as s, pytest.raises(Refusal) as refused:  # a CLI token is no browser session
        session_user(s, outcome.token, "web", T0)
    assert refused.value.code == "LOGIN_INVALID"


def test_a_browser_session_ends_after_30_idle_minutes(store):
    add_users(store)
    with store.session() as s:
        token = login(s, CLERK, PASSWORD, "web", T0).token
    with store.session() as s:  # each request restarts the idle time
        assert session_user(s, token, "web", T0 + timedelta(minutes=29)) == CLERK
        assert session_user(s, token, "web", T0 + timedelta(minutes=58)) == CLERK
    with store.session() as s:
        with pytest.raises(Refusal) as refused:
            session_user(s, token, "web", T0 + timedelta(minutes=88))
        assert refused.value.code == "SESSION_IDLE"
    with store.session() as s:  # and it stays ended
        with pytest.raises(Refusal) as refused:
            session_user(s, token, "web", T0 + timedelta(minutes=89))
        assert refused.value.code in {"SESSION_IDLE", "LOGIN_INVALID"}


def test_logout_and_disabling_end_sessions(store):
    add_users(store)
    with store.session() as s:
        first, second = (login(s, CLERK, PASSWORD, "cli", T0).token for _ in range(2))
    with store.session() as s:
        assert logout(s, first, T0) == CLERK
    with store.session() as s, pytest.raises(Refusal) as refused:
        session_user(s, first, "cli", T0)
    assert refused.value.code == "LOGIN_INVALID"
    with store.session() as s:
        set_disabled(s, ADMIN, CLERK, True, T0)
    with store.session() as s, pytest.raises(Refusal) as refused:
        session_user(s, second, "cli", T0)
    assert refused.value.code in {"LOGIN_INVALID", "USER_DISABLED"}
    with store.session() as s:
        assert login(s, CLERK, PASSWORD, "cli", T0).refusal.code == "USER_DISABLED"
    assert {"logout", "user.disable"} <= set(_actions(store, CLERK))


def test_a_database_from_before_logins_gets_its_first_administrator_without_a_login(store):
    with store.session() as s:  # users as they were before passwords existed
        s.add(User(name=CLERK, role="clerk", created_at=T0, disabled=False, failed_logins=0))
    with store.session() as s:
        add_user(s, None, ADMIN, "admin", PASSWORD)
    with store.session() as s:
        assert login(s, CLERK, "", "cli", T0).refusal.code == "LOGIN_FAILED"  # no password: cannot log in
        set_password(s, ADMIN, CLERK, "新的密码-很长很长的")
    with store.session() as s:
        assert login(s, CLERK, "新的密码-很长很长的", "cli", T0).ok
    with store.session() as s, pytest.raises(Refusal):  # now someone can log in: no more bootstrap
        add_user(s, None, "又一个管理员", "admin", PASSWORD)
