"""Append-only audit log: every change with who, when, what and why, each entry chained to the last by
an HMAC-SHA256 under a key kept outside the database (claims/audit/keys.py).

``verify`` recomputes the chain and names the first entry that was altered, deleted or moved. Someone who
can write the database but not read the key cannot rewrite an entry and re-chain the rest. Truncation (the
last entries, or all of them) leaves a shorter chain that is still whole: it is found by comparing with a
signed checkpoint the auditor kept (claims/audit/checkpoint.py).

Appends serialise on the one row of ``audit_head`` (a row lock on PostgreSQL, the write lock on SQLite),
so concurrent transactions never pick the same ``seq``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from claims.audit import keys
from claims.store.models import AuditEntry, AuditHead
from claims.workflow.errors import Refusal

GENESIS = "0" * 64


def _payload(seq: int, at: datetime, user: str, action: str, entity: str, entity_id: str, details_json: str,
             reason: str, prev: str) -> bytes:
    return json.dumps([seq, at.isoformat(), user, action, entity, entity_id, details_json, reason, prev],
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _digest(key: bytes, *fields) -> str:
    return hmac.new(key, _payload(*fields), hashlib.sha256).hexdigest()


def _legacy_digest(*fields) -> str:
    """The unkeyed SHA-256 of logs written before the chain was keyed (migrated by ``rekey_legacy``)."""
    return hashlib.sha256(_payload(*fields)).hexdigest()


def _fields(entry: AuditEntry) -> tuple:
    return (entry.seq, entry.at, entry.user_name, entry.action, entry.entity, entry.entity_id, entry.details_json,
            entry.reason, entry.prev_sha256)


def now() -> datetime:
    """UTC, without tzinfo and microseconds, so every database stores and returns it identically."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def reserve(session: Session) -> None:
    """Take the append lock now, before the transaction locks other rows: a transaction that will append
    (a decision, a review import) and takes it first cannot deadlock with another one on PostgreSQL."""
    _lock_head(session)


def _lock_head(session: Session, count: int = 1) -> None:
    """Take the append lock (counting ``count`` appends); held until the transaction ends."""
    locked = session.execute(update(AuditHead).where(AuditHead.id == 1)
                             .values(appends=AuditHead.appends + count)).rowcount
    if not locked:  # a database whose head row went missing: recreate it (the insert takes the lock too)
        session.execute(insert(AuditHead).values(id=1, appends=count))


def append(session: Session, user: str, action: str, entity: str, entity_id: str,
           details: dict[str, Any] | None = None, reason: str = "") -> AuditEntry:
    key, current_id, seq, prev = _next(session, 1)
    at = now()
    details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)
    entry = AuditEntry(seq=seq, at=at, user_name=user, action=action, entity=entity, entity_id=str(entity_id),
                       details_json=details_json, reason=reason, prev_sha256=prev, key_id=current_id,
                       sha256=_digest(key, seq, at, user, action, entity, str(entity_id), details_json, reason, prev))
    session.add(entry)
    session.flush()
    return entry


def append_many(session: Session, user: str, entries: list[tuple[str, str, str, dict[str, Any], str]]) -> int:
    """Append ``entries`` — (action, entity, entity_id, details, reason) each, in order — as one run of the
    chain: the same rows, seqs and HMACs as that many ``append`` calls (bar the time stamp), written with
    one executemany per 10,000 instead of a SELECT, an INSERT and a flush each. Returns the last seq."""
    if not entries:
        return 0
    session.flush()  # entries appended through the ORM before this run are in the table
    key, current_id, seq, prev = _next(session, len(entries))
    at = now()
    rows = []
    for action, entity, entity_id, details, reason in entries:
        details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)
        sha = _digest(key, seq, at, user, action, entity, str(entity_id), details_json, reason, prev)
        rows.append({"seq": seq, "at": at, "user_name": user, "action": action, "entity": entity,
                     "entity_id": str(entity_id), "details_json": details_json, "reason": reason,
                     "prev_sha256": prev, "key_id": current_id, "sha256": sha})
        seq, prev = seq + 1, sha
    connection = session.connection()
    for start in range(0, len(rows), 10000):
        connection.execute(AuditEntry.__table__.insert(), rows[start:start + 10000])
    return seq - 1


def _next(session: Session, count: int) -> tuple[bytes, str, int, str]:
    """Under the append lock: (key, key id, the next seq, the sha it chains to) — refused when the log
    was written under another key or not yet keyed."""
    key = keys.hmac_key()
    current_id = keys.key_id(key)
    _lock_head(session, count)
    last = session.execute(select(AuditEntry.seq, AuditEntry.sha256, AuditEntry.key_id)
                           .order_by(AuditEntry.seq.desc()).limit(1)).first()
    if last is not None and last.key_id != current_id:
        if not last.key_id:
            raise Refusal("AUDIT_NOT_MIGRATED", "审计日志还是旧的未加密钥格式，请先运行 claims db init 完成迁移")
        raise Refusal("AUDIT_KEY_WRONG",
                      f"审计日志是用密钥 {last.key_id} 写的，而 {keys.key_dir() / keys.HMAC_FILE} 是密钥 {current_id}："
                      f"请放回原来的密钥文件（或用环境变量 {keys.KEY_DIR_ENV} 指向它）")
    return (key, current_id, *((last.seq + 1, last.sha256) if last else (1, GENESIS)))


def entry_intact(entry: AuditEntry) -> bool:
    """Whether one entry's HMAC holds under this installation's key."""
    key = keys.hmac_key()
    return entry.key_id == keys.key_id(key) and hmac.compare_digest(entry.sha256, _digest(key, *_fields(entry)))


@dataclass(frozen=True)
class Break:
    seq: int
    code: str
    message: str


@dataclass(frozen=True)
class Head:
    count: int
    seq: int
    sha256: str


def verify(session: Session) -> tuple[int, list[Break]]:
    """(entries checked, breaks found); an intact log has no breaks."""
    count, breaks, _ = verify_with_head(session)
    return count, breaks


def verify_with_head(session: Session) -> tuple[int, list[Break], Head]:
    key = keys.hmac_key()
    current_id = keys.key_id(key)
    breaks: list[Break] = []
    previous_sha, expected_seq, count, wrong_key = GENESIS, 1, 0, False
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(5000):
        count += 1
        if entry.seq != expected_seq:
            breaks.append(Break(entry.seq, "AUDIT_GAP", f"第 {expected_seq}–{entry.seq - 1} 条记录缺失（被删除）"))
        if entry.prev_sha256 != previous_sha:
            breaks.append(Break(entry.seq, "AUDIT_CHAIN", f"第 {entry.seq} 条记录与前一条不相接（记录被删除、插入或调换了顺序）"))
        if entry.key_id != current_id and not wrong_key:
            wrong_key = True
            if entry.key_id:
                breaks.append(Break(entry.seq, "AUDIT_KEY_WRONG",
                                    f"第 {entry.seq} 条记录是用密钥 {entry.key_id} 写的，本机密钥是 {current_id}；"
                                    "请用原来的密钥文件核对（或该条被人改写过）"))
            else:
                breaks.append(Break(entry.seq, "AUDIT_NOT_MIGRATED",
                                    f"第 {entry.seq} 条记录还是旧的未加密钥格式，请先运行 claims db init 完成迁移"))
        elif not hmac.compare_digest(entry.sha256, _digest(key, *_fields(entry))):
            breaks.append(Break(entry.seq, "AUDIT_TAMPERED", f"第 {entry.seq} 条记录的内容被改动过（校验值不符）"))
        previous_sha, expected_seq = entry.sha256, entry.seq + 1
    return count, breaks, Head(count, expected_seq - 1, previous_sha)


def rekey_legacy(session: Session) -> int:
    """A log written before the chain was keyed: check its old SHA-256 chain, then re-chain every entry
    under the key and record that in the log. Refused (nothing changed) when the old chain is broken.
    Returns the number of entries migrated (0 when there is nothing to do)."""
    legacy = list(session.scalars(select(AuditEntry).where(AuditEntry.key_id == "").order_by(AuditEntry.seq)))
    if not legacy:
        return 0
    if session.scalar(select(AuditEntry.seq).where(AuditEntry.key_id != "").limit(1)) is not None:
        raise Refusal("AUDIT_MIXED", "审计日志中既有旧格式记录又有加密钥记录，无法自动迁移，请联系技术支持核查")
    key = keys.hmac_key()
    current_id = keys.key_id(key)
    previous, problems = GENESIS, []
    for position, entry in enumerate(legacy, start=1):
        if entry.seq != position or entry.prev_sha256 != previous or entry.sha256 != _legacy_digest(*_fields(entry)):
            problems.append(entry.seq)
        previous = entry.sha256
    if problems:
        raise Refusal("AUDIT_LEGACY_BROKEN",
                      f"旧审计日志的哈希链在第 {problems[0]} 条处不完整（共 {len(problems)} 处），未迁移；"
                      "请先查明原因（claims audit verify-log 旧版本可列出）")
    old_head = previous
    previous = GENESIS
    for entry in legacy:
        entry.prev_sha256 = previous
        entry.key_id = current_id
        entry.sha256 = _digest(key, *_fields(entry))
        previous = entry.sha256
    session.flush()
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(appends=len(legacy)))
    append(session, "system", "audit.rekey", "audit_log", "1",
           {"entries": len(legacy), "legacy_head_sha256": old_head, "key_id": current_id},
           "审计日志由未加密钥的哈希链迁移为加密钥链（迁移前已核对旧链完整）")
    return len(legacy)


def prepare_keys_and_log(url: str, unit_of_work) -> tuple[str, list, int]:
    """``claims db init``: the schema migrated, the keys present (created on a fresh install) and an
    unkeyed log re-chained. ``unit_of_work``: a context manager giving a session on ``url``.
    Returns (revision, key files created, log entries migrated)."""
    from claims.store.database import init_database

    revision = init_database(url)
    with unit_of_work as session:
        keyed = session.scalar(select(AuditEntry.key_id).where(AuditEntry.key_id != "").limit(1))
        # a log already keyed never gets a fresh key silently: its own key must be put back
        created = keys.ensure_keys(with_hmac_key=keyed is None)
        key = keys.hmac_key()
        if keyed is not None and keyed != keys.key_id(key):
            raise Refusal("AUDIT_KEY_WRONG", f"审计日志是用密钥 {keyed} 写的，而 {keys.key_dir() / keys.HMAC_FILE} "
                                             f"是密钥 {keys.key_id(key)}：请放回原来的密钥文件")
        migrated = rekey_legacy(session)
    return revision, created, migrated
