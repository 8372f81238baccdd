"""The audit log against someone with database access: a keyed chain, signed checkpoints, missing keys,
and logs written before the chain was keyed."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

from claims.audit import keys
from claims.audit.checkpoint import checkpoint_bytes, make_checkpoint
from claims.store.models import AuditEntry
from claims.workflow.audit_log import verify
from tests.conftest import login_once
from tests.store.helpers import (
    ADMIN,
    AUDITOR,
    PASSWORD,
    SCENARIOS,
    add_users,
    batch_and_approve,
    import_folder,
)

FOLDER = SCENARIOS / "hz_bands_caps_stacking"


@pytest.fixture
def logged(store, db_url):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    batch_and_approve(store, "hangzhou")
    login_once({**os.environ, "CLAIMS_DB": db_url}, AUDITOR)  # the auditor's login is in the log from here on
    return store


def _cli(db_url, *args, env_extra=None, user=AUDITOR, stdin=None):
    env = {**os.environ, "CLAIMS_DB": db_url}
    if args[0] != "db":  # everything but db init acts as a logged-in user
        env = login_once(env, user)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "claims.cli", *map(str, args)], env=env, capture_output=True,
                          text=True, input=stdin)


def _checkpoint(store, tmp_path) -> Path:
    with store.session() as s:
        checkpoint = make_checkpoint(s)
    path = tmp_path / "checkpoint.json"
    path.write_bytes(checkpoint_bytes(checkpoint))
    return path


def _count(store) -> int:
    with store.session() as s:
        return s.scalar(text("select count(*) from audit_log"))


@pytest.mark.parametrize("deleted", [1, 3, "all"])
def test_truncating_the_log_is_found_by_the_checkpoint(logged, db_url, tmp_path, deleted):
    checkpoint = _checkpoint(logged, tmp_path)
    total = _count(logged)
    keep = 0 if deleted == "all" else total - deleted
    with logged.session() as s:
        s.execute(text("delete from audit_log where seq > :keep"), {"keep": keep})
    with logged.session() as s:
        assert verify(s)[1] == []  # what is left is a whole chain: only the checkpoint can tell
    done = _cli(db_url, "audit", "verify-log", "--checkpoint", checkpoint)
    assert done.returncode == 1, done.stdout
    assert "[AUDIT_TRUNCATED]" in done.stderr and f"现在只有 {keep} 条" in done.stderr
    plain = _cli(db_url, "audit", "verify-log")
    assert plain.returncode == 0 and "检查点" in plain.stdout  # and it says that truncation needs a checkpoint


def test_a_rewritten_and_re_chained_log_is_found(logged, db_url, tmp_path):
    """Without the key: an entry rewritten and the unkeyed SHA-256 recomputed down the chain (what sufficed
    before) breaks every HMAC from there on."""
    with logged.session() as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        target = next(e for e in entries if e.action == "batch.create")
        details = json.loads(target.details_json)
        details["total_fen"] += 1320000
        target.details_json = json.dumps(details, ensure_ascii=False, sort_keys=True)
        previous = entries[target.seq - 2].sha256
        for entry in entries[target.seq - 1:]:
            entry.prev_sha256 = previous
            payload = json.dumps([entry.seq, entry.at.isoformat(), entry.user_name, entry.action, entry.entity,
                                  entry.entity_id, entry.details_json, entry.reason, entry.prev_sha256],
                                 ensure_ascii=False, separators=(",", ":"))
            entry.sha256 = previous = hashlib.sha256(payload.encode("utf-8")).hexdigest()
    with logged.session() as s:
        breaks = verify(s)[1]
    assert breaks and breaks[0].seq == target.seq and {b.code for b in breaks} == {"AUDIT_TAMPERED"}
    done = _cli(db_url, "audit", "verify-log")
    assert done.returncode == 1 and f"第 {target.seq} 条：[AUDIT_TAMPERED]" in done.stderr


def test_re_chaining_even_with_the_key_is_found_by_the_checkpoint(logged, db_url, tmp_path):
    """An insider who also holds the HMAC key re-chains a rewritten log: whole again, but not the one the
    auditor's checkpoint saw."""
    from claims.workflow import audit_log

    checkpoint = _checkpoint(logged, tmp_path)
    key = keys.hmac_key()
    with logged.session() as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        entries[2].reason = "改写"
        previous = entries[1].sha256
        for entry in entries[2:]:
            entry.prev_sha256 = previous
            entry.sha256 = previous = audit_log._digest(key, *audit_log._fields(entry))
    with logged.session() as s:
        assert verify(s)[1] == []
    done = _cli(db_url, "audit", "verify-log", "--checkpoint", checkpoint)
    assert done.returncode == 1 and "[AUDIT_REWRITTEN]" in done.stderr


def test_a_forged_checkpoint_is_refused(logged, db_url, tmp_path):
    checkpoint = _checkpoint(logged, tmp_path)
    public = tmp_path / "center.pem"
    assert _cli(db_url, "audit", "public-key", "-o", public).returncode == 0
    good = _cli(db_url, "audit", "verify-log", "--checkpoint", checkpoint, "--public-key", public)
    assert good.returncode == 0, good.stderr
    # after truncation, someone lowers the count in the auditor's file to match
    with logged.session() as s:
        s.execute(text("delete from audit_log where seq = (select max(seq) from audit_log)"))
    forged = json.loads(checkpoint.read_text(encoding="utf-8"))
    forged["count"] -= 1
    checkpoint.write_text(json.dumps(forged), encoding="utf-8")
    done = _cli(db_url, "audit", "verify-log", "--checkpoint", checkpoint, "--public-key", public)
    assert done.returncode == 1 and "[CHECKPOINT_SIGNATURE]" in done.stderr
    # or signs a checkpoint with a key of their own: the auditor's published public key refuses it
    from claims.audit import checkpoint as module

    mine = Ed25519PrivateKey.generate()
    import base64
    forged["signature"] = base64.b64encode(mine.sign(module._signed_bytes(forged))).decode()
    checkpoint.write_text(json.dumps(forged), encoding="utf-8")
    done = _cli(db_url, "audit", "verify-log", "--checkpoint", checkpoint, "--public-key", public)
    assert done.returncode == 1 and "[CHECKPOINT_SIGNATURE]" in done.stderr


def test_a_checkpoint_or_key_that_cannot_be_written_is_a_located_refusal_and_leaves_nothing(logged, db_url, tmp_path):
    for command in (["audit", "checkpoint"], ["audit", "public-key"]):
        target = tmp_path / "no-such-folder" / "out.txt"
        done = _cli(db_url, *command, "-o", target)
        assert done.returncode == 2 and "[OUTPUT_UNWRITABLE]" in done.stderr and str(target) in done.stderr
        assert "Traceback" not in done.stderr and not target.parent.exists()


@pytest.mark.parametrize("content", [b"", b"not json", b"[1,2]", b'{"format": "claims-audit-checkpoint/1"}',
                                     b'{"format": "claims-audit-checkpoint/1", "count": "3", "head_seq": 1, '
                                     b'"head_hmac": "x", "key_id": "k", "at": "t", "signature": "s"}',
                                     b"x" * 100_000])
def test_a_malformed_checkpoint_or_public_key_is_invalid_input(logged, db_url, tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    done = _cli(db_url, "audit", "verify-log", "--checkpoint", path)
    assert done.returncode == 2 and "[CHECKPOINT_INVALID]" in done.stderr and "Traceback" not in done.stderr
    good = _checkpoint(logged, tmp_path)
    done = _cli(db_url, "audit", "verify-log", "--checkpoint", good, "--public-key", path)
    assert done.returncode == 2 and "[PUBLIC_KEY_INVALID]" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_key_is_refused_and_never_silently_replaced(logged, db_url, tmp_path):
    elsewhere = tmp_path / "empty-keys"
    done = _cli(db_url, "audit", "verify-log", env_extra={keys.KEY_DIR_ENV: str(elsewhere)})
    assert done.returncode == 1 and "[AUDIT_KEY_MISSING]" in done.stderr and "claims db init" in done.stderr
    done = _cli(db_url, "db", "init", env_extra={keys.KEY_DIR_ENV: str(elsewhere)})
    assert done.returncode == 1 and "[AUDIT_KEY_MISSING]" in done.stderr
    assert not (elsewhere / keys.HMAC_FILE).exists()
    # a different key is told apart from tampering
    keys.ensure_keys(elsewhere)
    done = _cli(db_url, "audit", "verify-log", env_extra={keys.KEY_DIR_ENV: str(elsewhere)})
    assert done.returncode == 1 and "第 1 条：[AUDIT_KEY_WRONG]" in done.stderr
    done = _cli(db_url, "users", "add", "新人", "--role", "auditor", "--password-stdin", user=ADMIN,
                env_extra={keys.KEY_DIR_ENV: str(elsewhere)}, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert done.returncode == 1 and "[AUDIT_KEY_WRONG]" in done.stderr


def test_a_fresh_install_creates_owner_only_keys_and_says_where(tmp_path):
    folder = tmp_path / "keys"
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    done = _cli(url, "db", "init", env_extra={keys.KEY_DIR_ENV: str(folder)})
    assert done.returncode == 0, done.stderr
    for name in (keys.HMAC_FILE, keys.SIGNING_FILE):
        assert str(folder / name) in done.stdout
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    again = _cli(url, "db", "init", env_extra={keys.KEY_DIR_ENV: str(folder)})
    assert again.returncode == 0 and "已生成" not in again.stdout


def _legacy_log(url: str, entries: int, break_at: int | None = None) -> None:
    """A database at the first schema revision with an unkeyed SHA-256 chain, as older versions wrote it."""
    from alembic import command
    from sqlalchemy import create_engine

    from claims.store.database import _alembic_config

    command.upgrade(_alembic_config(url), "0001")
    engine = create_engine(url)
    previous = "0" * 64
    with engine.begin() as connection:
        for seq in range(1, entries + 1):
            row = [seq, f"2025-0{1 + seq % 9}-01T00:00:00", "小王", "user.add", "user", f"u{seq}", "{}", "", previous]
            digest = hashlib.sha256(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
            connection.execute(text(
                "insert into audit_log (seq, at, user_name, action, entity, entity_id, details_json, reason, "
                "prev_sha256, sha256) values (:seq, :at, :u, :a, :e, :i, :d, :r, :p, :h)"),
                {"seq": seq, "at": row[1].replace("T", " "), "u": row[2], "a": row[3], "e": row[4], "i": row[5],
                 "d": row[6], "r": "改过" if seq == break_at else "", "p": previous, "h": digest})
            previous = digest
    engine.dispose()


def test_an_existing_unkeyed_log_is_checked_and_migrated(db_url, tmp_path):

    url = db_url.replace("claims.db", "legacy.db") if db_url.startswith("sqlite") else db_url
    if not db_url.startswith("sqlite"):  # the fixture migrated it already: go back to revision 0001
        from alembic import command

        from claims.store.database import _alembic_config

        command.downgrade(_alembic_config(url), "0001")
    _legacy_log(url, 5)
    done = _cli(url, "db", "init")
    assert done.returncode == 0, done.stderr
    assert "5 条记录已核对并迁移" in done.stdout
    from claims.store.database import Store

    store = Store(url)
    with store.session() as s:
        checked, breaks = verify(s)
        last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    store.dispose()
    assert (checked, breaks) == (6, [])  # the five, and the audit.rekey entry saying so
    assert last.action == "audit.rekey" and json.loads(last.details_json)["entries"] == 5


def test_an_unkeyed_log_with_a_break_is_not_migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    _legacy_log(url, 5, break_at=3)
    done = _cli(url, "db", "init")
    assert done.returncode == 1 and "[AUDIT_LEGACY_BROKEN]" in done.stderr and "第 3 条" in done.stderr
