"""Append-only audit log: every change with who, when, what and why, each entry hash-chained to the last.

``verify`` recomputes the chain and names the first entry that was altered, deleted or moved.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.store.models import AuditEntry

GENESIS = "0" * 64


def _digest(seq: int, at: datetime, user: str, action: str, entity: str, entity_id: str, details_json: str,
            reason: str, prev: str) -> str:
    payload = json.dumps([seq, at.isoformat(), user, action, entity, entity_id, details_json, reason, prev],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def now() -> datetime:
    """UTC, without tzinfo and microseconds, so every database stores and returns it identically."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def append(session: Session, user: str, action: str, entity: str, entity_id: str,
           details: dict[str, Any] | None = None, reason: str = "") -> AuditEntry:
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.sha256) if last else (1, GENESIS)
    at = now()
    details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)
    entry = AuditEntry(seq=seq, at=at, user_name=user, action=action, entity=entity, entity_id=str(entity_id),
                       details_json=details_json, reason=reason, prev_sha256=prev,
                       sha256=_digest(seq, at, user, action, entity, str(entity_id), details_json, reason, prev))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Break:
    seq: int
    code: str
    message: str


def verify(session: Session) -> tuple[int, list[Break]]:
    """(entries checked, breaks found); an intact log has no breaks."""
    breaks: list[Break] = []
    previous_sha, expected_seq, count = GENESIS, 1, 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
        count += 1
        if entry.seq != expected_seq:
            breaks.append(Break(entry.seq, "AUDIT_GAP", f"第 {expected_seq}–{entry.seq - 1} 条记录缺失（被删除）"))
        if entry.prev_sha256 != previous_sha:
            breaks.append(Break(entry.seq, "AUDIT_CHAIN", f"第 {entry.seq} 条记录与前一条不相接（记录被删除、插入或调换了顺序）"))
        actual = _digest(entry.seq, entry.at, entry.user_name, entry.action, entity=entry.entity,
                         entity_id=entry.entity_id, details_json=entry.details_json, reason=entry.reason,
                         prev=entry.prev_sha256)
        if actual != entry.sha256:
            breaks.append(Break(entry.seq, "AUDIT_TAMPERED", f"第 {entry.seq} 条记录的内容被改动过（哈希不符）"))
        previous_sha, expected_seq = entry.sha256, entry.seq + 1
    return count, breaks
