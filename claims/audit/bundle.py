"""Replay bundles: a batch as one self-contained zip (policy text, inputs, ledger before, results, engine
version, hashes, manifest) that re-runs offline with ``claims audit rerun --bundle``, without a database.

The manifest lists the SHA-256 of every file, the batch's totals and what the audit log recorded when the
batch was created (content hashes and totals); ``manifest.sig`` is an Ed25519 signature of the manifest by
the service center's private key (kept outside the database), checked against the public key the center
published to its auditors. A bundle whose files were edited, or whose manifest was recomputed and signed
by anyone else, is refused. ``checkpoint.json`` is a signed checkpoint of the audit log when the bundle
was made.

Reading is bounded: only the known file names, each no larger than ``CLAIMS_BUNDLE_MAX_MB`` (default 1024)
unpacked and no more than 200 times its packed size, checked before anything is unpacked; a malformed or
oversized bundle is invalid input (exit 2) with a message naming the file and what is wrong."""

from __future__ import annotations

import csv
import decimal
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from claims import ENGINE_VERSION
from claims.audit import keys
from claims.audit.checkpoint import (
    CheckpointInvalid,
    checkpoint_bytes,
    make_checkpoint,
    parse_checkpoint,
    signature_valid,
)
from claims.audit.rerun import Snapshot, StoredLine, recorded_entry, snapshot_of_batch
from claims.engine import Ledger
from claims.engine.explain import full_explanation
from claims.money import fmt, from_fen, parse_decimal, to_fen
from claims.policy import parse_policy
from claims.problems import ProblemsFound
from claims.store.snapshot import inputs_from
from claims.workflow import audit_log
from claims.workflow.access import record_access
from claims.workflow.batches import batch_lines, get_batch

FORMAT = "claims-replay-bundle/2"
SIGNATURE = "manifest.sig"
MAX_RATIO = 200
MAX_MANIFEST = 1024 * 1024
README = """职工医疗互助保障 批次复算包

本压缩包可以在没有数据库的电脑上独立复算批次：
    claims audit rerun --bundle 本文件.zip
    claims audit rerun --bundle 本文件.zip --public-key 服务中心公钥.pem
复算会先用服务中心公布的公钥核对 manifest.sig 签名，再核对 manifest.json 中每个文件的 SHA-256，
然后用 policy.yaml、inputs.json、ledger_before.json 重新计算，与 results.json 逐行比较，
并与清单中的合计、审计日志当时记录的内容哈希比较；results.csv 须与 results.json 一致。

文件：
  manifest.json       批次信息、引擎版本、每个文件的哈希
  policy.yaml         计算时使用的策略原文
  inputs.json         会员、参保、申请的快照
  ledger_before.json  计算前已结算的累计额（期内累计、已用天数、已付金额、已付定额、发票号）
  results.csv         保存的计算结果（claim_id,member_id,period,item,benefit,amount,reason）
  results.json        保存的计算结果及每行的计算说明
  checkpoint.json     出包时审计日志的已签名检查点（条数与最后一条的校验值）
  manifest.sig        服务中心对 manifest.json 的 Ed25519 签名
"""


class BundleRefused(Exception):
    """A bundle that is not what the service center issued (tampered, unsigned, wrong key): exit 1.
    ``invalid``: a file that is not a well-formed bundle at all (malformed, oversized): exit 2."""

    def __init__(self, message: str, code: str = "BUNDLE_REFUSED", invalid: bool = False):
        self.code = code
        self.message = message
        self.exit_code = 2 if invalid else 1
        super().__init__(message)


def _invalid(message: str) -> BundleRefused:
    return BundleRefused(message, "BUNDLE_INVALID", invalid=True)


@dataclass(frozen=True)
class BundleWritten:
    path: Path
    manifest_sha256: str
    files: int


@dataclass(frozen=True)
class BundleRead:
    snapshot: Snapshot
    manifest_sha256: str
    public_key_fingerprint: str
    checkpoint: dict


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


RESULTS_HEADER = ["claim_id", "member_id", "period", "item", "benefit", "amount", "reason"]


def _results_csv(results_json: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULTS_HEADER)
    for line in results_json:
        writer.writerow([line["claim_id"], line["member_id"], str(line["period"]), line["item"], line["benefit"],
                         line["amount"], line["reason"]])
    return out.getvalue()


def write_bundle(snapshot: Snapshot, batch_meta: dict, results_json: list[dict], out: Path,
                 recorded: dict | None = None, checkpoint: dict | None = None) -> BundleWritten:
    files = {
        "policy.yaml": snapshot.policy_text.encode("utf-8"),
        "inputs.json": json.dumps(snapshot.inputs, ensure_ascii=False, indent=1).encode("utf-8"),
        "ledger_before.json": json.dumps(snapshot.ledger_before, ensure_ascii=False, indent=1).encode("utf-8"),
        "results.csv": _results_csv(results_json).encode("utf-8"),
        "results.json": json.dumps(results_json, ensure_ascii=False, indent=1).encode("utf-8"),
        "README.txt": README.encode("utf-8"),
    }
    if checkpoint is not None:
        files["checkpoint.json"] = checkpoint_bytes(checkpoint)
    manifest = {
        "format": FORMAT,
        "batch": batch_meta,
        "policy_name": snapshot.policy_name,
        "policy_sha256": snapshot.policy_sha256,
        "engine_version": snapshot.engine_version,
        "bundled_with_engine": ENGINE_VERSION,
        "recorded": recorded,
        "public_key_fingerprint": keys.fingerprint(keys.local_public_key()),
        "files": {name: _sha(data) for name, data in files.items()},
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    signature = keys.sign(manifest_bytes).encode("ascii")
    from exports.safety import atomic_output

    with atomic_output(out) as temporary, zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest_bytes)
        archive.writestr(SIGNATURE, signature)
        for name, data in files.items():
            archive.writestr(name, data)
    return BundleWritten(out, _sha(manifest_bytes), len(files) + 2)


ALLOWED = {"manifest.json", SIGNATURE, "policy.yaml", "inputs.json", "ledger_before.json", "results.csv",
           "results.json", "README.txt", "checkpoint.json"}
REQUIRED = ALLOWED - {"README.txt"}


def max_entry_bytes() -> int:
    try:
        megabytes = int(os.environ.get("CLAIMS_BUNDLE_MAX_MB", "1024"))
    except ValueError:
        megabytes = 1024
    return max(1, megabytes) * 1024 * 1024


def _check_sizes(archive: zipfile.ZipFile, where: str) -> None:
    """Before anything is unpacked: only known names, once each, each within the size and ratio limits."""
    infos = archive.infolist()
    if len(infos) > len(ALLOWED):
        raise _invalid(f"{where}：包内有 {len(infos)} 个文件，复算包最多 {len(ALLOWED)} 个")
    seen = set()
    limit = max_entry_bytes()
    for info in infos:
        if info.filename not in ALLOWED:
            raise _invalid(f"{where}：包内有复算包之外的文件“{info.filename[:80]}”")
        if info.filename in seen:
            raise _invalid(f"{where}：文件 {info.filename} 出现了两次")
        seen.add(info.filename)
        if info.file_size > limit:
            raise _invalid(f"{where}:{info.filename}：解压后 {info.file_size:,} 字节，超过上限 {limit:,} 字节"
                           "（可用环境变量 CLAIMS_BUNDLE_MAX_MB 调整）")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _invalid(f"{where}:{info.filename}：压缩比 {info.file_size // max(info.compress_size, 1):,}:1 "
                           f"超过 {MAX_RATIO}:1，疑为压缩炸弹，拒绝解压")
    if "manifest.json" in seen and archive.getinfo("manifest.json").file_size > MAX_MANIFEST:
        raise _invalid(f"{where}:manifest.json：文件过大")
    missing = sorted(REQUIRED - seen)
    if missing:
        code_missing = "、".join(missing)
        if "manifest.json" in missing:
            raise _invalid(f"{where}：缺少 manifest.json")
        if SIGNATURE in missing:
            raise BundleRefused(f"{where}：没有签名文件 {SIGNATURE}，无法证明由服务中心出具", "BUNDLE_UNSIGNED")
        raise BundleRefused(f"{where}：缺少文件 {code_missing}")


def _json(data: bytes, where: str):
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _invalid(f"{where}：不是 UTF-8 文本") from None
    except json.JSONDecodeError as error:
        raise _invalid(f"{where}：第 {error.lineno} 行第 {error.colno} 列不是有效的 JSON（{error.msg}）") from None
    except RecursionError:
        raise _invalid(f"{where}：JSON 嵌套过深") from None


def _require(value, kind, where: str):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = {dict: "对象", list: "数组", str: "文本", int: "整数"}
        expected = names.get(kind, "值") if not isinstance(kind, tuple) else "值"
        raise _invalid(f"{where}：应为{expected}")
    return value


def _manifest(data: bytes, where: str) -> dict:
    manifest = _require(_json(data, f"{where}:manifest.json"), dict, f"{where}:manifest.json")
    if manifest.get("format") != FORMAT:
        raise _invalid(f"{where}:manifest.json：格式“{str(manifest.get('format'))[:40]}”不是 {FORMAT}")
    at = f"{where}:manifest.json"
    for name in ("policy_name", "policy_sha256", "engine_version"):
        _require(manifest.get(name), str, f"{at} 的 {name}")
    files = _require(manifest.get("files"), dict, f"{at} 的 files")
    for name, digest in files.items():
        _require(digest, str, f"{at} 的 files.{name[:40]}")
    batch = _require(manifest.get("batch"), dict, f"{at} 的 batch")
    for name in ("id", "claims", "lines"):
        _require(batch.get(name), int, f"{at} 的 batch.{name}")
    total = _require(batch.get("total"), str, f"{at} 的 batch.total")
    if parse_decimal(total.replace(",", "")) is None:
        raise _invalid(f"{at} 的 batch.total：“{total[:40]}”不是金额")
    if manifest.get("recorded") is not None:
        _require(manifest["recorded"], dict, f"{at} 的 recorded")
    return manifest


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    return archive.read(name)


def read_bundle(path: Path, public_key: Ed25519PublicKey | None = None) -> tuple[Snapshot, str]:
    """The snapshot inside a bundle and the manifest's hash (see ``open_bundle``)."""
    read = open_bundle(path, public_key)
    return read.snapshot, read.manifest_sha256


def open_bundle(path: Path, public_key: Ed25519PublicKey | None = None) -> BundleRead:
    """Check a bundle — sizes before unpacking, the signature against ``public_key`` (default: this
    installation's own), every file against the manifest, every field's type, results.csv against
    results.json — and return the snapshot with what was recorded. Raises BundleRefused."""
    where = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise _invalid(f"{where}：文件不存在") from None
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise _invalid(f"{where}：不是有效的复算包（zip 文件无法打开：{error}）") from None
    try:
        with archive:
            return _open(archive, where, public_key)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, OSError) as error:
        raise _invalid(f"{where}：zip 内容损坏（{error}）") from None


def _open(archive: zipfile.ZipFile, where: str, public_key: Ed25519PublicKey | None) -> BundleRead:
    _check_sizes(archive, where)
    manifest_bytes = _read(archive, "manifest.json")
    manifest = _manifest(manifest_bytes, where)
    signature = _read(archive, SIGNATURE).decode("ascii", errors="replace").strip()
    public = public_key or keys.local_public_key()
    if not keys.signature_valid(public, manifest_bytes, signature):
        raise BundleRefused(f"{where}:{SIGNATURE}：签名与公钥（指纹 {keys.fingerprint(public)}）不符——复算包被改动后"
                            "重新生成了清单，或不是该服务中心出具", "BUNDLE_SIGNATURE")
    names = set(archive.namelist())
    problems = []
    contents = {}
    for name, expected in manifest["files"].items():
        if name not in names:
            problems.append(f"缺少文件 {name[:80]}")
            continue
        contents[name] = _read(archive, name)
        if _sha(contents[name]) != expected:
            problems.append(f"{name} 已被改动（哈希与清单不符）")
    extra = names - set(manifest["files"]) - {"manifest.json", SIGNATURE}
    problems += [f"多出清单之外的文件 {name}" for name in sorted(extra)]
    if problems:
        raise BundleRefused(f"{where} 未通过清单核对：" + "；".join(problems))
    try:
        checkpoint = parse_checkpoint(contents["checkpoint.json"], f"{where}:checkpoint.json")
    except CheckpointInvalid as invalid:
        raise _invalid(invalid.message) from None
    if not signature_valid(checkpoint, public):
        raise BundleRefused(f"{where}:checkpoint.json：检查点签名与公钥不符", "BUNDLE_SIGNATURE")
    try:
        policy_text = contents["policy.yaml"].decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        raise _invalid(f"{where}:policy.yaml：缺失或不是 UTF-8 文本") from None
    inputs = _require(_json(contents["inputs.json"], f"{where}:inputs.json"), dict, f"{where}:inputs.json")
    ledger = _require(_json(contents["ledger_before.json"], f"{where}:ledger_before.json"), dict,
                      f"{where}:ledger_before.json")
    results = _require(_json(contents["results.json"], f"{where}:results.json"), list, f"{where}:results.json")
    lines = _result_lines(results, f"{where}:results.json")
    _same_as_csv(contents["results.csv"], results, f"{where}:results.csv")
    _loadable(where, policy_text, manifest["policy_name"], inputs, ledger)
    batch = manifest["batch"]
    snapshot = Snapshot(batch["id"], manifest["policy_name"], policy_text, manifest["policy_sha256"],
                        manifest["engine_version"], inputs, ledger, lines, record=manifest.get("recorded"),
                        stored_total_fen=to_fen(Decimal(batch["total"].replace(",", ""))),
                        stored_claims=batch["claims"], stored_lines=batch["lines"], source="复算包清单")
    return BundleRead(snapshot, _sha(manifest_bytes), keys.fingerprint(public), checkpoint)


def _result_lines(results: list, where: str) -> list[StoredLine]:
    lines = []
    for number, row in enumerate(results, start=1):
        at = f"{where} 第 {number} 行"
        _require(row, dict, at)
        for name in ("claim_id", "member_id", "item", "benefit", "amount", "reason"):
            _require(row.get(name), str, f"{at} 的 {name}")
        amount = parse_decimal(row["amount"])
        if amount is None:
            raise _invalid(f"{at} 的 amount：“{row['amount'][:40]}”不是金额")
        lines.append(StoredLine(row["claim_id"], row["item"], row["benefit"], amount, row["reason"]))
    return lines


def _same_as_csv(data: bytes, results: list[dict], where: str) -> None:
    """results.csv is what a person opens; it must say exactly what results.json (the re-run's input) says."""
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as error:
        raise _invalid(f"{where}：无法读取（{error}）") from None
    if not rows or rows[0] != RESULTS_HEADER:
        raise BundleRefused(f"{where} 第 1 行：表头应为 {','.join(RESULTS_HEADER)}", "BUNDLE_CSV_MISMATCH")
    body = rows[1:]
    for number, (row, line) in enumerate(zip(body, results, strict=False), start=2):
        expected = [line["claim_id"], line["member_id"], str(line.get("period")), line["item"], line["benefit"],
                    line["amount"], line["reason"]]
        if row != expected:
            raise BundleRefused(f"{where} 第 {number} 行与 results.json 第 {number - 1} 条不一致："
                                f"{','.join(row)[:120]} ≠ {','.join(expected)[:120]}", "BUNDLE_CSV_MISMATCH")
    if len(body) != len(results):
        raise BundleRefused(f"{where} 有 {len(body)} 行结果，results.json 有 {len(results)} 条", "BUNDLE_CSV_MISMATCH")


def _loadable(where: str, policy_text: str, policy_name: str, inputs: dict, ledger: dict) -> None:
    """Everything the re-run will read, read once here so a malformed field is named, not a traceback."""
    try:
        parse_policy(policy_text, policy_name)
    except ProblemsFound as found:
        raise _invalid(f"{where}:policy.yaml：" + "；".join(str(p) for p in found.problems[:3])) from None
    for name, data, load in (("inputs.json", inputs, inputs_from), ("ledger_before.json", ledger, Ledger.from_json)):
        try:
            load(data)
        except KeyError as error:
            raise _invalid(f"{where}:{name}：缺少字段 {error}") from None
        except (TypeError, AttributeError):
            raise _invalid(f"{where}:{name}：某个字段的类型不对（应为文本、数字、数组或对象）") from None
        except (ValueError, decimal.InvalidOperation) as error:
            raise _invalid(f"{where}:{name}：某个值无效（{str(error)[:80]}）") from None


def bundle_batch(session: Session, batch_id: int, out: Path, user: str) -> BundleWritten:
    snapshot = snapshot_of_batch(session, batch_id, user)
    batch = get_batch(session, batch_id)
    rows = batch_lines(session, batch_id)
    record_access(session, user, (r.member_id for r in rows), "audit.bundle", f"批次 {batch_id}，{out.name}")
    results = [{"claim_id": r.claim_id, "member_id": r.member_id, "period": r.period, "item": r.item,
                "benefit": r.benefit, "amount": fmt(from_fen(r.amount_fen)), "reason": r.reason,
                "explanation": full_explanation(json.loads(r.explanation_json))} for r in rows]
    meta = {"id": batch.id, "name": batch.name, "kind": batch.kind, "period": batch.period,
            "created_by": batch.created_by, "created_at": batch.created_at.isoformat(),
            "claims": batch.claim_count, "lines": batch.line_count, "total": fmt(from_fen(batch.total_fen)),
            "policy_version": batch.policy_version_id}  # None: calculated with a named file, not a version
    entry, _ = recorded_entry(session, batch_id)
    recorded = snapshot.record
    if entry is not None and recorded is not None:
        recorded = {**recorded, "audit_seq": entry.seq, "audit_hmac": entry.sha256}
    written = write_bundle(snapshot, meta, results, out, recorded, make_checkpoint(session))
    audit_log.append(session, user, "audit.bundle", "batch", batch_id,
                     {"file": out.name, "manifest_sha256": written.manifest_sha256})
    return written
