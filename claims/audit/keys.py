"""The service center's keys, kept outside the database.

Two keys live in one folder (``CLAIMS_KEY_DIR``, default ``~/.config/claims/keys``):

- ``audit-log.key``: 32 random bytes (hex). Every audit-log entry carries an HMAC-SHA256 under it, so
  someone who can write the database but cannot read this file cannot rewrite an entry and re-chain the
  rest. Its *key id* (a hash of the key, not the key) is stored with every entry.
- ``signing-key.pem``: an Ed25519 private key. It signs replay bundles and audit-log checkpoints; its
  public half (``claims audit public-key``) is what the service center hands to auditors.

Both files are created by ``claims db init`` on a fresh install (owner-only permissions, 0600; folder
0700), which prints where they are. They are never created silently for a log that already has entries:
a missing key there is refused ([AUDIT_KEY_MISSING]) — put the original file back.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from claims.workflow.errors import Refusal

KEY_DIR_ENV = "CLAIMS_KEY_DIR"
HMAC_FILE = "audit-log.key"
SIGNING_FILE = "signing-key.pem"
PUBLIC_KEY_MAX = 16 * 1024


class KeyProblem(Refusal):
    """A key file that is missing, unreadable or not a key (exit 1: the installation must be fixed)."""


def key_dir() -> Path:
    configured = os.environ.get(KEY_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(base) / "claims" / "keys"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def ensure_keys(directory: Path | None = None, with_hmac_key: bool = True) -> list[Path]:
    """Create whichever key file is missing (a fresh install); returns the files created.
    ``with_hmac_key=False``: leave a missing audit-log key missing (a log already written needs its own)."""
    directory = directory or key_dir()
    created = []
    hmac_path, signing_path = directory / HMAC_FILE, directory / SIGNING_FILE
    if with_hmac_key and not hmac_path.exists():
        _write_private(hmac_path, secrets.token_hex(32).encode("ascii") + b"\n")
        created.append(hmac_path)
    if not signing_path.exists():
        private = Ed25519PrivateKey.generate()
        _write_private(signing_path, private.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
        created.append(signing_path)
    return created


def _missing(path: Path, what: str) -> KeyProblem:
    return KeyProblem("AUDIT_KEY_MISSING",
                      f"{what} {path} 不存在或无法读取。新安装请先运行 claims db init（会生成密钥并告知位置）；"
                      f"已在使用的系统请把原来的密钥文件放回该位置，或用环境变量 {KEY_DIR_ENV} 指向存放它的文件夹")


def hmac_key() -> bytes:
    path = key_dir() / HMAC_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        raise _missing(path, "审计日志密钥文件") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise KeyProblem("AUDIT_KEY_INVALID", f"审计日志密钥文件 {path} 的内容不是 64 位十六进制密钥")
    return key


def key_id(key: bytes) -> str:
    """Names a key without revealing it: stored with every entry so a wrong key is told from tampering."""
    return hashlib.sha256(b"claims-audit-key-id:" + key).hexdigest()[:16]


def signing_key() -> Ed25519PrivateKey:
    path = key_dir() / SIGNING_FILE
    try:
        data = path.read_bytes()
    except OSError:
        raise _missing(path, "签名私钥文件") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        private = None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyProblem("SIGNING_KEY_INVALID", f"签名私钥文件 {path} 不是 Ed25519 私钥（PEM）")
    return private


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, in groups of four, for reading aloud over the phone."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


class InvalidFile(Exception):
    """A file given by the auditor (public key, checkpoint) that is not what it should be (exit 2)."""

    code = "FILE_INVALID"

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class PublicKeyInvalid(InvalidFile):
    code = "PUBLIC_KEY_INVALID"


def read_small(path: Path, limit: int, what: str, invalid: type[InvalidFile]) -> bytes:
    """A small file the auditor gives (key, checkpoint), refused before reading when it is not small."""
    try:
        if path.stat().st_size > limit:
            raise invalid(f"{path}：文件过大，不是{what}")
        return path.read_bytes()
    except OSError as error:
        raise invalid(f"{path}：无法读取{what}（{error.strerror}）") from None


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = read_small(path, PUBLIC_KEY_MAX, "公钥文件", PublicKeyInvalid)
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        public = None
    if not isinstance(public, Ed25519PublicKey):
        raise PublicKeyInvalid(f"{path}：不是 Ed25519 公钥（应为 claims audit public-key 导出的 PEM 文件）")
    return public


def local_public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def sign(data: bytes) -> str:
    return base64.b64encode(signing_key().sign(data)).decode("ascii")


def signature_valid(public: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
