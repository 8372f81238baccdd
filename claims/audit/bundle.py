"""Replay bundles: a batch as one self-contained zip (policy text, inputs, ledger before, results, engine
version, hashes, manifest) that re-runs offline with ``claims audit rerun --bundle``, without a database.

The manifest lists the SHA-256 of every file; a bundle whose files were edited is refused. The manifest's
own hash is printed when the bundle is made and recorded in the audit log, so an auditor can also check
that the manifest is the one the service center issued."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from claims import ENGINE_VERSION
from claims.audit.rerun import Snapshot, StoredLine, snapshot_of_batch
from claims.money import fmt, from_fen
from claims.workflow import audit_log
from claims.workflow.access import record_access
from claims.workflow.batches import batch_lines, get_batch

FORMAT = "claims-replay-bundle/1"
README = """职工医疗互助保障 批次复算包

本压缩包可以在没有数据库的电脑上独立复算批次：
    claims audit rerun --bundle 本文件.zip
复算会先核对 manifest.json 中每个文件的 SHA-256，再用 policy.yaml、inputs.json、ledger_before.json
重新计算，并与 results.csv 逐行比较。

文件：
  manifest.json       批次信息、引擎版本、每个文件的哈希
  policy.yaml         计算时使用的策略原文
  inputs.json         会员、参保、申请的快照
  ledger_before.json  计算前已结算的累计额（期内累计、已用天数、已付金额、已付定额、发票号）
  results.csv         保存的计算结果（claim_id,member_id,period,item,benefit,amount,reason）
  results.json        保存的计算结果及每行的计算说明
"""


class BundleRefused(Exception):
    def __init__(self, message: str):
        self.code = "BUNDLE_REFUSED"
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class BundleWritten:
    path: Path
    manifest_sha256: str
    files: int


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_bundle(snapshot: Snapshot, batch_meta: dict, results_json: list[dict], out: Path) -> BundleWritten:
    results_csv = io.StringIO()
    results_csv.write("claim_id,member_id,period,item,benefit,amount,reason\n")
    for line in results_json:
        results_csv.write(",".join([line["claim_id"], line["member_id"], str(line["period"]), line["item"],
                                    line["benefit"], line["amount"], line["reason"]]) + "\n")
    files = {
        "policy.yaml": snapshot.policy_text.encode("utf-8"),
        "inputs.json": json.dumps(snapshot.inputs, ensure_ascii=False, indent=1).encode("utf-8"),
        "ledger_before.json": json.dumps(snapshot.ledger_before, ensure_ascii=False, indent=1).encode("utf-8"),
        "results.csv": results_csv.getvalue().encode("utf-8"),
        "results.json": json.dumps(results_json, ensure_ascii=False, indent=1).encode("utf-8"),
        "README.txt": README.encode("utf-8"),
    }
    manifest = {
        "format": FORMAT,
        "batch": batch_meta,
        "policy_name": snapshot.policy_name,
        "policy_sha256": snapshot.policy_sha256,
        "engine_version": snapshot.engine_version,
        "bundled_with_engine": ENGINE_VERSION,
        "files": {name: _sha(data) for name, data in files.items()},
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest_bytes)
        for name, data in files.items():
            archive.writestr(name, data)
    return BundleWritten(out, _sha(manifest_bytes), len(files) + 1)


def read_bundle(path: Path) -> tuple[Snapshot, str]:
    """The snapshot inside a bundle, after checking every file against the manifest; and the manifest's hash."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, FileNotFoundError) as error:
        raise BundleRefused(f"{path} 不是有效的复算包：{error}") from None
    with archive:
        names = set(archive.namelist())
        if "manifest.json" not in names:
            raise BundleRefused(f"{path} 缺少 manifest.json")
        manifest_bytes = archive.read("manifest.json")
        manifest = json.loads(manifest_bytes)
        if manifest.get("format") != FORMAT:
            raise BundleRefused(f"{path} 的格式“{manifest.get('format')}”不是 {FORMAT}")
        problems = []
        for name, expected in manifest["files"].items():
            if name not in names:
                problems.append(f"缺少文件 {name}")
            elif _sha(archive.read(name)) != expected:
                problems.append(f"{name} 已被改动（哈希与清单不符）")
        extra = names - set(manifest["files"]) - {"manifest.json"}
        problems += [f"多出清单之外的文件 {name}" for name in sorted(extra)]
        if problems:
            raise BundleRefused(f"{path} 未通过清单核对：" + "；".join(problems))
        results = json.loads(archive.read("results.json"))
        snapshot = Snapshot(
            manifest["batch"]["id"], manifest["policy_name"], archive.read("policy.yaml").decode("utf-8"),
            manifest["policy_sha256"], manifest["engine_version"], json.loads(archive.read("inputs.json")),
            json.loads(archive.read("ledger_before.json")),
            [StoredLine(r["claim_id"], r["item"], r["benefit"], Decimal(r["amount"]), r["reason"]) for r in results])
    return snapshot, _sha(manifest_bytes)


def bundle_batch(session: Session, batch_id: int, out: Path, user: str) -> BundleWritten:
    snapshot = snapshot_of_batch(session, batch_id, user)
    batch = get_batch(session, batch_id)
    rows = batch_lines(session, batch_id)
    record_access(session, user, (r.member_id for r in rows), "audit.bundle", f"批次 {batch_id}，{out.name}")
    results = [{"claim_id": r.claim_id, "member_id": r.member_id, "period": r.period, "item": r.item,
                "benefit": r.benefit, "amount": fmt(from_fen(r.amount_fen)), "reason": r.reason,
                "explanation": json.loads(r.explanation_json)} for r in rows]
    meta = {"id": batch.id, "name": batch.name, "kind": batch.kind, "period": batch.period,
            "created_by": batch.created_by, "created_at": batch.created_at.isoformat(),
            "claims": batch.claim_count, "lines": batch.line_count, "total": fmt(from_fen(batch.total_fen))}
    written = write_bundle(snapshot, meta, results, out)
    audit_log.append(session, user, "audit.bundle", "batch", batch_id,
                     {"file": out.name, "manifest_sha256": written.manifest_sha256})
    return written
