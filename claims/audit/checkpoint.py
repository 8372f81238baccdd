"""Signed checkpoints of the audit log's head: how many entries there were and the last one's HMAC, signed
with the service center's Ed25519 key. The auditor keeps it (printed, as a file, inside every replay
bundle); ``claims audit verify-log --checkpoint FILE`` later finds a log that was truncated (the last
entry, the last few, or all of them) or rewritten and re-chained, even by someone holding the HMAC key.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.audit import keys
from claims.store.models import AuditEntry
from claims.workflow import audit_log
from claims.workflow.audit_log import Break
from claims.workflow.errors import Refusal

FORMAT = "claims-audit-checkpoint/1"
MAX_BYTES = 64 * 1024
SIGNED_FIELDS = ("format", "count", "head_seq", "head_hmac", "key_id", "at")


class CheckpointInvalid(keys.InvalidFile):
    """A checkpoint file that is not one (exit 2)."""

    code = "CHECKPOINT_INVALID"


def _signed_bytes(checkpoint: dict) -> bytes:
    return json.dumps({name: checkpoint[name] for name in SIGNED_FIELDS}, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def make_checkpoint(session: Session) -> dict:
    """The signed head of an intact log; refused when the log is broken (a checkpoint must not bless it)."""
    count, breaks, head = audit_log.verify_with_head(session)
    if breaks:
        raise Refusal("AUDIT_BROKEN", f"审计日志有 {len(breaks)} 处问题（先运行 claims audit verify-log 查看），不能出具检查点")
    checkpoint = {"format": FORMAT, "count": count, "head_seq": head.seq, "head_hmac": head.sha256,
                  "key_id": keys.key_id(keys.hmac_key()), "at": audit_log.now().isoformat()}
    checkpoint["public_key_fingerprint"] = keys.fingerprint(keys.local_public_key())
    checkpoint["signature"] = keys.sign(_signed_bytes(checkpoint))
    return checkpoint


def checkpoint_bytes(checkpoint: dict) -> bytes:
    return (json.dumps(checkpoint, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def describe(checkpoint: dict) -> list[str]:
    return [f"审计日志检查点（{checkpoint['at']} UTC）：共 {checkpoint['count']} 条记录，",
            f"  最后一条第 {checkpoint['head_seq']} 条，校验值 {checkpoint['head_hmac']}",
            f"  签名公钥指纹 {checkpoint['public_key_fingerprint']}",
            f"  签名 {checkpoint['signature']}"]


def parse_checkpoint(data: bytes, where: str) -> dict:
    """A checkpoint read from a file or a bundle, every field checked; CheckpointInvalid names what is wrong."""
    if len(data) > MAX_BYTES:
        raise CheckpointInvalid(f"{where}：文件过大（{len(data)} 字节），不是检查点文件")
    try:
        checkpoint = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointInvalid(f"{where}：不是有效的 JSON（{error}）") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointInvalid(f"{where}：内容应为 JSON 对象")
    if checkpoint.get("format") != FORMAT:
        raise CheckpointInvalid(f"{where}：format 应为 {FORMAT}")
    for name, kind in (("count", int), ("head_seq", int), ("head_hmac", str), ("key_id", str), ("at", str),
                       ("signature", str)):
        value = checkpoint.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointInvalid(f"{where}：字段 {name} 缺失或类型不对")
    if checkpoint["count"] < 0 or checkpoint["head_seq"] < 0:
        raise CheckpointInvalid(f"{where}：count / head_seq 不能为负数")
    return checkpoint


def read_checkpoint(path: Path) -> dict:
    return parse_checkpoint(keys.read_small(path, MAX_BYTES, "检查点文件", CheckpointInvalid), str(path))


def signature_valid(checkpoint: dict, public: Ed25519PublicKey) -> bool:
    return keys.signature_valid(public, _signed_bytes(checkpoint), checkpoint["signature"])


def compare(session: Session, checkpoint: dict, count: int) -> list[Break]:
    """What the log lost or had rewritten since the checkpoint: fewer entries than it counted, or a
    different entry at its head."""
    found = []
    if count < checkpoint["count"]:
        found.append(Break(checkpoint["head_seq"], "AUDIT_TRUNCATED",
                           f"检查点（{checkpoint['at']}）时审计日志有 {checkpoint['count']} 条，现在只有 {count} 条："
                           f"有 {checkpoint['count'] - count} 条记录被删除"))
    if checkpoint["head_seq"] == 0:
        return found
    head = session.scalar(select(AuditEntry).where(AuditEntry.seq == checkpoint["head_seq"]))
    if head is None:
        found.append(Break(checkpoint["head_seq"], "AUDIT_TRUNCATED",
                           f"检查点记录的第 {checkpoint['head_seq']} 条已不存在"))
    elif head.sha256 != checkpoint["head_hmac"]:
        found.append(Break(checkpoint["head_seq"], "AUDIT_REWRITTEN",
                           f"第 {checkpoint['head_seq']} 条的校验值与检查点（{checkpoint['at']}）不同："
                           "此前的记录被改写并重新串链"))
    return found
