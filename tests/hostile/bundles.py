"""Generators of hostile replay bundles, each from a genuine one (``source``) written by the service center.

Every function writes a new zip and returns its path. ``resign`` re-signs with a given private key: the
service center's own (an insider: the content checks must still catch it) or a thief's."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def entries(source: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(source) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(out: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out


def rehash(files: dict[str, bytes], key: Ed25519PrivateKey | None, manifest_edit=None) -> dict[str, bytes]:
    """Recompute the manifest over the (edited) files, as a forger would; sign it with ``key`` (or leave
    the old signature when None)."""
    manifest = json.loads(files["manifest.json"])
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256(files[name]).hexdigest()
    if manifest_edit:
        manifest_edit(manifest)
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    if key is not None:
        files["manifest.sig"] = base64.b64encode(key.sign(files["manifest.json"])).decode("ascii").encode("ascii")
    return files


def replace(source: Path, out: Path, name: str, old: bytes, new: bytes, key: Ed25519PrivateKey | None,
            manifest_edit=None) -> Path:
    files = entries(source)
    assert old in files[name], (name, old)
    files[name] = files[name].replace(old, new)
    return write(out, rehash(files, key, manifest_edit))


def with_file(source: Path, out: Path, name: str, data: bytes, key: Ed25519PrivateKey | None) -> Path:
    files = entries(source)
    files[name] = data
    return write(out, rehash(files, key))


def zip_bomb(out: Path, megabytes: int = 2048, source: Path | None = None) -> Path:
    """A small zip whose inputs.json unpacks to ``megabytes`` MB of spaces (2 GB by default, ~2 MB packed);
    with ``source``, every other file is the genuine bundle's, so the manifest reads as valid."""
    chunk = b" " * (1024 * 1024)
    others = {name: data for name, data in entries(source).items() if name != "inputs.json"} if source else \
        {"manifest.json": b"{}"}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in others.items():
            archive.writestr(name, data)
        with archive.open("inputs.json", "w", force_zip64=True) as handle:
            for _ in range(megabytes):
                handle.write(chunk)
    return out


def lying_header(source: Path, out: Path) -> Path:
    """A genuine bundle whose inputs.json local and central headers claim 10 bytes; it inflates to more."""
    data = bytearray(write(out, entries(source)).read_bytes())
    with zipfile.ZipFile(out) as archive:
        info = archive.getinfo("inputs.json")
    real = info.file_size.to_bytes(4, "little")
    fake = (10).to_bytes(4, "little")
    data = data.replace(real, fake)
    out.write_bytes(bytes(data))
    return out
