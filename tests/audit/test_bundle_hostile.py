"""Replay bundles against forgers and hostile files: signatures, results.csv against results.json, the
manifest's totals against the re-run, malformed content and zip bombs — located messages, never a
traceback; exit 1 for a bundle that is not what the center issued, exit 2 for one that is not a bundle."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from claims.audit import keys
from claims.audit.bundle import bundle_batch
from claims.store.database import Store, init_database
from tests.hostile import bundles as hostile
from tests.store.helpers import AUDITOR, SCENARIOS, add_users, batch_and_approve, import_folder


@pytest.fixture(scope="module")
def genuine(tmp_path_factory, audit_keys):
    folder = tmp_path_factory.mktemp("bundle")
    url = f"sqlite:///{folder / 'claims.db'}"
    init_database(url)
    store = Store(url)
    add_users(store)
    import_folder(store, SCENARIOS / "hz_bands_caps_stacking", "hangzhou")
    batch = batch_and_approve(store, "hangzhou")
    path = folder / "genuine.zip"
    with store.session() as s:
        bundle_batch(s, batch, path, AUDITOR)
    store.dispose()
    public = folder / "center.pem"
    public.write_text(keys.public_pem(keys.local_public_key()), encoding="ascii")
    return path, public


def _rerun(bundle, public=None):
    env = {**os.environ, "CLAIMS_DB": "sqlite:////nonexistent/no.db"}
    command = [sys.executable, "-m", "claims.cli", "audit", "rerun", "--bundle", str(bundle)]
    if public:
        command += ["--public-key", str(public)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _center_key() -> Ed25519PrivateKey:
    return keys.signing_key()


def test_the_genuine_bundle_checks_against_the_published_key(genuine):
    path, public = genuine
    done = _rerun(path, public)
    assert done.returncode == 0 and "签名有效" in done.stdout and "identical" in done.stdout, done.stderr
    assert "检查点" in done.stdout


def test_changing_inputs_and_results_and_recomputing_the_manifest_is_refused(genuine, tmp_path):
    """The attack that worked before: edit a file, recompute the manifest hashes. The old signature no
    longer fits; a thief's own signature does not fit the published key."""
    path, public = genuine
    unsigned = hostile.replace(path, tmp_path / "a.zip", "policy.yaml", b"rate: 0.70", b"rate: 0.75", key=None)
    done = _rerun(unsigned, public)
    assert done.returncode == 1 and "[BUNDLE_SIGNATURE]" in done.stderr
    thief = Ed25519PrivateKey.generate()
    resigned = hostile.replace(path, tmp_path / "b.zip", "results.json", b'"13700.00"', b'"23700.00"', key=thief)
    done = _rerun(resigned, public)
    assert done.returncode == 1 and "[BUNDLE_SIGNATURE]" in done.stderr and "manifest.sig" in done.stderr


def test_a_bundle_without_a_signature_is_refused(genuine, tmp_path):
    files = hostile.entries(genuine[0])
    del files["manifest.sig"]
    done = _rerun(hostile.write(tmp_path / "u.zip", files), genuine[1])
    assert done.returncode == 1 and "[BUNDLE_UNSIGNED]" in done.stderr


def test_results_csv_must_say_what_results_json_says(genuine, tmp_path):
    """Signed by the center itself (an insider, or a bug): the person reading results.csv sees 23,700.00,
    the re-run reads results.json."""
    path, public = genuine
    forged = hostile.replace(path, tmp_path / "c.zip", "results.csv", b"13700.00", b"23700.00", key=_center_key())
    done = _rerun(forged, public)
    assert done.returncode == 1 and "[BUNDLE_CSV_MISMATCH]" in done.stderr and "results.csv 第 4 行" in done.stderr


def test_the_manifest_totals_are_compared_with_the_re_run(genuine, tmp_path):
    path, public = genuine

    def inflate(manifest):
        manifest["batch"]["total"] = "75,300.00"

    forged = hostile.replace(path, tmp_path / "d.zip", "README.txt", b"README", b"README", key=_center_key(),
                             manifest_edit=inflate) if b"README" in hostile.entries(path)["README.txt"] else None
    if forged is None:
        files = hostile.rehash(hostile.entries(path), _center_key(), inflate)
        forged = hostile.write(tmp_path / "d.zip", files)
    done = _rerun(forged, public)
    assert done.returncode == 1 and "[STATED_TOTAL_MISMATCH]" in done.stdout
    assert "复算包清单记载的合计 75,300.00 元" in done.stdout or "复算包清单记载的合计 75300.00 元" in done.stdout


def test_consistently_changed_inputs_and_results_disagree_with_what_the_log_recorded(genuine, tmp_path):
    """Signed by the center, results changed together with the manifest's total: the re-run agrees line by
    line with nothing, and the recorded hashes and totals tell."""
    path, public = genuine
    files = hostile.entries(path)
    files["results.json"] = files["results.json"].replace(b'"13700.00"', b'"23700.00"')
    files["results.csv"] = files["results.csv"].replace(b"13700.00", b"23700.00")

    def match(manifest):
        manifest["batch"]["total"] = "72,100.00"

    forged = hostile.write(tmp_path / "e.zip", hostile.rehash(files, _center_key(), match))
    done = _rerun(forged, public)
    assert done.returncode == 1
    assert "[RECORD_HASH_MISMATCH]" in done.stdout and "[RECORD_TOTAL_MISMATCH]" in done.stdout


MALFORMED = [
    ("manifest.json", b"{not json", "manifest.json"),
    ("manifest.json", b"[1, 2, 3]", "manifest.json"),
    ("manifest.json", b'{"format": "claims-replay-bundle/2"}', "manifest.json"),
    ("inputs.json", b"{broken", "inputs.json"),
    ("inputs.json", b'{"members": [], "enrollments": [], "claims": [{"claim_id": "A1"}]}', "inputs.json"),
    ("inputs.json", b'{"members": 5, "enrollments": [], "claims": []}', "inputs.json"),
    ("inputs.json", b"[" * 100000 + b"]" * 100000, "inputs.json"),
    ("ledger_before.json", b'{"periods": [{"member_id": "HZ001"}]}', "ledger_before.json"),
    ("ledger_before.json", b'"text"', "ledger_before.json"),
    ("results.json", b"[1, 2]", "results.json"),
    ("results.json", b'[{"claim_id": "A1", "member_id": "HZ001", "item": "medical", "benefit": "x", '
                     b'"amount": "abc", "reason": ""}]', "results.json"),
    ("policy.yaml", b"name: [unclosed", "policy.yaml"),
    ("policy.yaml", b"\xff\xfe\x00", "policy.yaml"),
    ("checkpoint.json", b"{}", "checkpoint.json"),
]


@pytest.mark.parametrize(("name", "content", "named"), MALFORMED, ids=[f"{m[0]}-{i}" for i, m in enumerate(MALFORMED)])
def test_malformed_content_is_a_located_invalid_input(genuine, tmp_path, name, content, named):
    path, public = genuine
    files = hostile.entries(path)
    files[name] = content
    if name == "manifest.json":
        files["manifest.sig"] = hostile.base64.b64encode(_center_key().sign(content))
    else:
        files = hostile.rehash(files, _center_key())
    done = _rerun(hostile.write(tmp_path / "m.zip", files), public)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "[BUNDLE_INVALID]" in done.stderr and named in done.stderr


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", b"plain text"])
def test_a_file_that_is_not_a_zip_is_invalid_input(tmp_path, genuine, content):
    path = tmp_path / "x.zip"
    path.write_bytes(content)
    done = _rerun(path, genuine[1])
    assert done.returncode == 2 and "[BUNDLE_INVALID]" in done.stderr
    done = _rerun(tmp_path / "missing.zip", genuine[1])
    assert done.returncode == 2 and "不存在" in done.stderr


def test_unknown_or_extra_entries_are_refused_before_reading(genuine, tmp_path):
    files = hostile.entries(genuine[0])
    files["../../etc/passwd"] = b"x"
    done = _rerun(hostile.write(tmp_path / "n.zip", files), genuine[1])
    assert done.returncode == 2 and "最多 9 个" in done.stderr
    del files["README.txt"]
    done = _rerun(hostile.write(tmp_path / "n.zip", files), genuine[1])
    assert done.returncode == 2 and "复算包之外的文件“../../etc/passwd”" in done.stderr


def test_a_header_that_lies_about_its_size_is_invalid_input(genuine, tmp_path):
    done = _rerun(hostile.lying_header(genuine[0], tmp_path / "l.zip"), genuine[1])
    assert done.returncode in (1, 2) and ("[BUNDLE_INVALID]" in done.stderr or "[BUNDLE_REFUSED]" in done.stderr)


def test_a_two_megabyte_zip_bomb_is_refused_fast_with_bounded_memory(tmp_path, genuine):
    """2 GB of spaces in ~2 MB: refused from the zip's directory, before anything is inflated."""
    bomb = hostile.zip_bomb(tmp_path / "bomb.zip", 2048, genuine[0])
    assert bomb.stat().st_size < 3 * 1024 * 1024
    started = time.monotonic()
    done = _rerun(bomb, genuine[1])
    seconds = time.monotonic() - started
    assert done.returncode == 2 and "inputs.json" in done.stderr and "[BUNDLE_INVALID]" in done.stderr
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kb < 400 * 1024, peak_kb  # the largest child of this test run, in KB: far from 4.2 GB
    assert seconds < 30


def test_a_bomb_under_the_size_limit_is_refused_by_its_ratio(tmp_path, genuine):
    bomb = hostile.zip_bomb(tmp_path / "small-bomb.zip", 64, genuine[0])
    done = _rerun(bomb, genuine[1])
    assert done.returncode == 2 and "压缩比" in done.stderr


def test_the_published_public_key_file_must_be_one(genuine, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    done = _rerun(genuine[0], bad)
    assert done.returncode == 2 and "[PUBLIC_KEY_INVALID]" in done.stderr


def test_inputs_that_parse_but_do_not_fit_together_are_invalid_input(genuine, tmp_path):
    """A claim of a member the snapshot does not hold, signed by the center: no traceback either."""
    path, public = genuine
    forged = hostile.replace(path, tmp_path / "f.zip", "inputs.json", b'"member_id": "HZ001",\n   "event_type"',
                             b'"member_id": "NOBODY",\n   "event_type"', key=_center_key())
    done = _rerun(forged, public)
    assert done.returncode in (1, 2), (done.stdout, done.stderr)
