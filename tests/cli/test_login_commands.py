"""The command line proves who acts: `claims login` / `logout`, the token file, `--user` only choosing among
logins, `users ...`, and the personal-data access log (`claims audit access`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from claims.store.database import Store, init_database
from claims.store.models import LoginSession
from claims.workflow import audit_log
from tests.conftest import POLICIES, cli_login
from tests.store.helpers import (
    ADMIN,
    AUDITOR,
    CLERK,
    PASSWORD,
    SCENARIOS,
    add_users,
    batch_and_approve,
    import_folder,
)


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    init_database(url)
    store = Store(url)
    add_users(store)
    yield url, store
    store.dispose()


def claims(url: str, *args, stdin: str | None = None, env: dict | None = None):
    env = {**(env or os.environ), "CLAIMS_DB": url}
    return subprocess.run([sys.executable, "-m", "claims.cli", *map(str, args)], input=stdin, capture_output=True,
                          text=True, env=env)


def test_a_command_without_a_login_is_refused_and_user_alone_proves_nothing(db):
    url, _ = db
    for args in (["batch", "list"], ["--user", AUDITOR, "batch", "list"], ["explain", "A1"]):
        done = claims(url, *args)
        assert done.returncode == 1 and "LOGIN_REQUIRED" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    done = claims(url, "batch", "list", env={**os.environ, "CLAIMS_USER": CLERK})
    assert done.returncode == 1 and f"claims login {CLERK}" in done.stderr


def test_login_then_act_then_logout(db):
    url, _ = db
    done = claims(url, "login", AUDITOR, "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0 and f"已登录：{AUDITOR}（审计）" in done.stdout, done.stderr
    assert claims(url, "batch", "list").returncode == 0
    assert f"已退出：{AUDITOR}" in claims(url, "logout").stdout
    assert claims(url, "batch", "list").returncode == 1
    assert "NOT_LOGGED_IN" in claims(url, "logout").stderr


def test_the_token_file_holds_no_password_and_is_private(db):
    url, store = db
    cli_login(url, CLERK)
    path = os.environ["CLAIMS_TOKEN_FILE"]
    assert os.stat(path).st_mode & 0o777 == 0o600
    text = open(path, encoding="utf-8").read()
    assert PASSWORD not in text and url not in text
    token = json.loads(text)["logins"][0]["token"]
    with store.session() as s:  # the database keeps only the token's hash
        assert token not in {row.token_sha256 for row in s.scalars(select(LoginSession))}


def test_a_token_file_readable_by_others_is_refused(db):
    url, _ = db
    env = cli_login(url, AUDITOR)
    os.chmod(os.environ["CLAIMS_TOKEN_FILE"], 0o644)
    done = claims(url, "batch", "list", env=env)
    assert done.returncode == 1 and "TOKEN_FILE_INSECURE" in done.stderr and "-rw-r--r--" in done.stderr
    refused_login = claims(url, "login", AUDITOR, "--password-stdin", stdin=PASSWORD + "\n")
    assert refused_login.returncode == 1 and "TOKEN_FILE_INSECURE" in refused_login.stderr
    assert "Traceback" not in done.stderr + refused_login.stderr
    assert "Traceback" not in claims(url, "logout").stderr


def test_a_token_past_its_8_hours_is_refused(db):
    url, store = db
    env = cli_login(url, AUDITOR)
    with store.session() as s:  # eight hours pass (the database's clock decides, not the file's)
        s.execute(update(LoginSession).values(expires_at=audit_log.now() - timedelta(seconds=1)))
    done = claims(url, "batch", "list", env=env)
    assert done.returncode == 1 and "LOGIN_EXPIRED" in done.stderr and f"claims login {AUDITOR}" in done.stderr


def test_wrong_passwords_are_counted_and_lock_the_cli_door(db):
    url, _ = db
    for attempt in range(1, 6):
        done = claims(url, "login", CLERK, "--password-stdin", stdin="错误的密码-错误的密码\n")
        assert done.returncode == 1
        assert ("LOGIN_LOCKED" if attempt == 5 else f"再错 {5 - attempt} 次") in done.stderr, done.stderr
    done = claims(url, "login", CLERK, "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 1 and "LOGIN_LOCKED" in done.stderr and "北京时间" in done.stderr
    env = cli_login(url, ADMIN)
    listed = claims(url, "users", "list", env=env).stdout
    assert "锁定至" in listed and "管理员" in listed


def test_user_only_chooses_among_logins(db):
    url, _ = db
    cli_login(url, CLERK)
    cli_login(url, AUDITOR)
    assert claims(url, "--user", CLERK, "audit", "access").returncode == 1  # a clerk may not read the access log
    assert claims(url, "--user", AUDITOR, "audit", "access").returncode == 0
    assert claims(url, "audit", "access").returncode == 0  # without --user: the latest login (the auditor)
    assert "LOGIN_REQUIRED" in claims(url, "--user", "李审核", "batch", "list").stderr


def test_users_commands(db):
    url, _ = db
    env = cli_login(url, ADMIN)
    for name, message in (("", "USER_NAME_EMPTY"), (" rev1", "USER_NAME_SPACES"), ("a" * 65, "USER_NAME_TOO_LONG")):
        done = claims(url, "users", "add", name, "--role", "reviewer", "--password-stdin",
                      stdin="一个够长的密码-abc\n一个够长的密码-abc\n", env=env)
        assert done.returncode == 2 and message in done.stderr and "输入无效" in done.stderr
    assert "a" * 20 in done.stderr and "65 个字符" in done.stderr  # says which name, and why
    mismatch = claims(url, "users", "add", "新审核", "--role", "reviewer", "--password-stdin",
                      stdin="一个够长的密码-abc\n一个够长的密码-abd\n", env=env)
    assert mismatch.returncode == 2 and "PASSWORD_MISMATCH" in mismatch.stderr
    added = claims(url, "users", "add", "新审核", "--role", "reviewer", "--password-stdin",
                   stdin="一个够长的密码-abc\n一个够长的密码-abc\n", env=env)
    assert added.returncode == 0, added.stderr
    new = cli_login(url, "新审核", "一个够长的密码-abc")
    changed = claims(url, "users", "passwd", "--password-stdin", env=new,
                     stdin="一个够长的密码-abc\n另一个够长的密码-xyz\n另一个够长的密码-xyz\n")
    assert changed.returncode == 0, changed.stderr
    assert claims(url, "login", "新审核", "--password-stdin", stdin="一个够长的密码-abc\n").returncode == 1
    cli_login(url, "新审核", "另一个够长的密码-xyz")
    assert claims(url, "--user", ADMIN, "users", "disable", "新审核").returncode == 0
    assert "LOGIN_INVALID" in claims(url, "--user", "新审核", "batch", "list").stderr
    listed = claims(url, "--user", ADMIN, "users", "list").stdout
    assert listed.splitlines()[0].split() == ["用户名", "角色", "单位", "状态", "最近登录"]
    assert any(line.startswith("新审核") and "停用" in line for line in listed.splitlines())
    clerk = claims(url, "--user", CLERK, "users", "add", "x", "--role", "clerk", env=cli_login(url, CLERK))
    assert clerk.returncode == 1 and "ROLE_REFUSED" in clerk.stderr


def test_the_access_log_records_an_explain(db):
    url, store = db
    import_folder(store, SCENARIOS / "hz_bands_caps_stacking", "hangzhou")
    batch_and_approve(store, "hangzhou")
    env = cli_login(url, AUDITOR)
    before = claims(url, "audit", "access", "--member", "HZ001", env=env).stdout
    explained = claims(url, "explain", "A1", env=env)
    assert explained.returncode == 0, explained.stderr
    after = claims(url, "audit", "access", "--member", "HZ001", env=env).stdout
    assert "没有查看记录" in before
    (line,) = [row for row in after.splitlines() if "claims explain" in row]
    assert AUDITOR in line and "HZ001" in line and "申请 A1" in line
    assert "共 1 条" in after
    assert "HZ002" not in after


def test_the_readme_walk_through_starts_with_an_administrator(tmp_path):
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    assert claims(url, "db", "init").returncode == 0
    first = claims(url, "users", "add", "小王", "--role", "clerk", "--password-stdin", stdin=PASSWORD * 2)
    assert first.returncode == 1 and "FIRST_USER_ADMIN" in first.stderr
    boot = claims(url, "users", "add", "管理员", "--role", "admin", "--password-stdin",
                  stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert boot.returncode == 0, boot.stderr
    policy = POLICIES / "hangzhou.yaml"
    assert policy.is_file()
