"""Proving who acts, the same way at every door (command line and browser).

- Passwords are kept only as argon2id hashes (argon2-cffi); a login re-hashes when the parameters grow.
- 5 failed logins in a row lock the account for 15 minutes, at every door; the lock is on the user row,
  so the command line and the browser share it.
- A successful login starts a session: a random token given to the person (the CLI keeps it in a file
  only the OS user can read, the browser in an HttpOnly cookie); the database keeps only its SHA-256.
  A CLI login lasts 8 hours; a browser session ends after 30 idle minutes (and after 8 hours at most).
- Logins, failures, lockouts and logouts go into the audit log.

Every function takes ``now`` so tests inject the clock instead of waiting 15 minutes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.store.models import AuditEntry, LoginSession, User
from claims.workflow import audit_log
from claims.workflow.errors import Refusal

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
CLI_LIFETIME = timedelta(hours=8)
WEB_IDLE = timedelta(minutes=30)
WEB_LIFETIME = timedelta(hours=8)

HASHER = PasswordHasher()  # argon2id, the library's (RFC 9106 low-memory) defaults
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _verify(stored: str | None, password: str) -> bool:
    global _DUMMY_HASH
    if stored is None:  # same work for an unknown user, so timing does not tell who exists
        _DUMMY_HASH = _DUMMY_HASH or HASHER.hash("unknown-user-dummy-password")
        stored = _DUMMY_HASH
        try:
            HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def beijing(at: datetime) -> str:
    return f"{at + timedelta(hours=8):%Y-%m-%d %H:%M}（北京时间）"


@dataclass
class LoginOutcome:
    """What a login attempt did. Failures are values (not exceptions) so the count is committed."""

    user: str
    token: str | None = None
    expires_at: datetime | None = None
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def _wrong() -> Refusal:
    return Refusal("LOGIN_FAILED", "用户名或密码不正确")


def _locked(name: str, until: datetime) -> Refusal:
    return Refusal("LOGIN_LOCKED", f"用户“{name}”连续 {MAX_FAILURES} 次密码错误，已锁定至 {beijing(until)}，"
                   "请稍后再试或请管理员重置密码")


def _wrong_left(left: int) -> Refusal:
    return Refusal("LOGIN_FAILED", f"用户名或密码不正确（再错 {left} 次将锁定 {LOCKOUT.seconds // 60} 分钟）")


UNKNOWN_USER = "（未知用户）"


def _unknown_name_state(session: Session, name: str, now: datetime) -> tuple[int, datetime | None]:
    """(failures so far, locked until) of a name that is no user, replayed from the audit log's failed
    logins of that name, so that an unknown name answers exactly as a real user would (counts down, then
    locks): the answers must not tell which user names exist."""
    recent = session.scalars(select(AuditEntry.details_json).where(
        AuditEntry.action == "login.failed", AuditEntry.entity == "user", AuditEntry.entity_id == name[:80],
        AuditEntry.user_name == UNKNOWN_USER).order_by(AuditEntry.seq.desc()).limit(4 * MAX_FAILURES))
    times = sorted(datetime.fromisoformat(at) for at in (json.loads(d).get("at") for d in recent) if at)
    failures, locked_until = 0, None
    for at in times:
        if at < now - 2 * LOCKOUT:
            continue
        if locked_until is not None and at >= locked_until:
            failures, locked_until = 0, None
        failures += 1
        if failures >= MAX_FAILURES:
            failures, locked_until = 0, at + LOCKOUT
    if locked_until is not None and locked_until <= now:
        failures, locked_until = 0, None
    return failures, locked_until


def check_password_of(session: Session, name: str, password: str, door: str, now: datetime | None = None) -> Refusal | None:
    """The password check every door shares: None when right; otherwise the refusal, with the failure
    counted (and the account locked at the fifth) and written to the audit log."""
    now = now or audit_log.now()
    user = session.get(User, name) if name and len(name) <= 64 else None
    if user is not None and user.locked_until is not None:
        if user.locked_until > now:
            audit_log.append(session, name, "login.refused", "user", name, {"door": door, "why": "locked"})
            return _locked(name, user.locked_until)
        user.locked_until, user.failed_logins = None, 0
    if not _verify(user.password_hash if user else None, password):
        if user is None:
            if not name:
                return _wrong()
            failures, locked_until = _unknown_name_state(session, name, now)
            if locked_until is not None:
                audit_log.append(session, UNKNOWN_USER, "login.refused", "user", name[:80],
                                 {"door": door, "why": "locked"})
                return _locked(name, locked_until)
            audit_log.append(session, UNKNOWN_USER, "login.failed", "user", name[:80],
                             {"door": door, "why": "unknown user", "at": now.isoformat()})
            if failures + 1 >= MAX_FAILURES:
                return _locked(name, now + LOCKOUT)
            return _wrong_left(MAX_FAILURES - failures - 1)
        user.failed_logins = (user.failed_logins or 0) + 1
        audit_log.append(session, name, "login.failed", "user", name, {"door": door, "failures": user.failed_logins})
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
            audit_log.append(session, name, "login.locked", "user", name,
                             {"door": door, "until": user.locked_until.isoformat()})
            return _locked(name, user.locked_until)
        return _wrong_left(MAX_FAILURES - user.failed_logins)
    if user.disabled:
        audit_log.append(session, name, "login.refused", "user", name, {"door": door, "why": "disabled"})
        return Refusal("USER_DISABLED", f"用户“{name}”已停用，请联系管理员")
    user.failed_logins = 0
    if user.password_hash and HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return None


def login(session: Session, name: str, password: str, door: str, now: datetime | None = None) -> LoginOutcome:
    """Check the password and, when right, start a session for ``door`` ("cli" or "web")."""
    now = now or audit_log.now()
    refusal = check_password_of(session, name, password, door, now)
    if refusal is not None:
        return LoginOutcome(name, refusal=refusal)
    token = secrets.token_urlsafe(32)
    expires = now + (CLI_LIFETIME if door == "cli" else WEB_LIFETIME)
    session.add(LoginSession(token_sha256=token_digest(token), user_name=name, door=door, created_at=now,
                             last_seen_at=now, expires_at=expires))
    session.get(User, name).last_login_at = now
    audit_log.append(session, name, "login", "user", name, {"door": door, "expires": expires.isoformat()})
    return LoginOutcome(name, token, expires)


def session_user(session: Session, token: str, door: str, now: datetime | None = None) -> str:
    """The user a token proves, or a Refusal saying why not. A browser session's idle time restarts."""
    now = now or audit_log.now()
    row = session.scalar(select(LoginSession).where(LoginSession.token_sha256 == token_digest(token),
                                                    LoginSession.door == door))
    if row is None or row.ended_at is not None:
        raise Refusal("LOGIN_INVALID", "这次登录已退出或已失效，请重新登录：claims login 用户名")
    user = session.get(User, row.user_name)
    if user is None or user.disabled:
        raise Refusal("USER_DISABLED", f"用户“{row.user_name}”已停用")
    if now >= row.expires_at:
        raise Refusal("LOGIN_EXPIRED", f"用户“{row.user_name}”的登录已于 {beijing(row.expires_at)} 过期，"
                      f"请重新登录：claims login {row.user_name}")
    if door == "web":
        if now - row.last_seen_at >= WEB_IDLE:
            row.ended_at = now
            audit_log.append(session, row.user_name, "logout", "user", row.user_name, {"door": door, "why": "idle"})
            raise Refusal("SESSION_IDLE", f"超过 {WEB_IDLE.seconds // 60} 分钟没有操作，请重新登录")
        row.last_seen_at = now
    return row.user_name


def logout(session: Session, token: str, now: datetime | None = None) -> str | None:
    """End the session of a token; the user name, or None when it was not a live session."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_sha256 == token_digest(token)))
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = now or audit_log.now()
    audit_log.append(session, row.user_name, "logout", "user", row.user_name, {"door": row.door})
    return row.user_name
