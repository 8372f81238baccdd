"""Scale paths give the one-process, in-memory CSV byte for byte: ``--workers 2`` (files read once, members
split between processes) and ``--stream`` (member partitions spilled to disk), on generated data."""

from __future__ import annotations

import csv

import pytest

from benchmarks.generate import generate
from tests.cli.test_calculate_command import claims
from tests.conftest import POLICIES


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    paths = generate(3000, folder)
    args = ["--policy", POLICIES / "hangzhou.yaml", "--members", paths["members"],
            "--enrollments", paths["enrollments"], "--claims", paths["claims"]]
    one = claims("calculate", *args)
    assert one.returncode == 0, one.stderr
    return folder, args, one


def test_generated_data_has_every_kind_of_line(generated):
    """The comparison below means something only if the data reaches the rules: refusals, caps, waiting
    periods, choose-highest groups and payments all occur."""
    _, _, one = generated
    reasons = {row["reason"] for row in csv.DictReader(one.stdout.splitlines())}
    assert {"", "DUPLICATE_INVOICE", "LATE_SUBMISSION", "NOT_ENROLLED", "WAITING_PERIOD", "NOT_CHOSEN",
            "BELOW_DEDUCTIBLE", "HOSPITAL_LEVEL"} <= reasons


def test_two_workers_write_the_same_bytes(generated):
    _, args, one = generated
    two = claims("calculate", *args, "--workers", "2")
    assert two.returncode == 0, two.stderr
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr


def test_two_workers_really_share_the_claims_between_two_processes(generated, tmp_path):
    """The byte comparison above would also pass if the work silently stayed in one process: here each
    worker notes its process id, in a fresh interpreter as the command runs (polars not yet started)."""
    import subprocess
    import sys

    folder, _, one = generated
    noted = tmp_path / "pids"
    script = f"""
import os, sys
from datetime import date
from pathlib import Path
import claims.bulk as bulk
from claims.policy import read_policy
share = bulk._csv_share
def noting(job):
    with open({str(noted)!r}, "a") as handle:
        handle.write(f"{{os.getpid()}}\\n")
    return share(job)
bulk._csv_share = noting
done = bulk.calculate_csv(read_policy({str(POLICIES / "hangzhou.yaml")!r}).policy,
                          *(Path({str(folder)!r}) / f"{{kind}}.csv" for kind in ("members", "enrollments", "claims")),
                          date.today(), 2)
sys.stdout.write(done.text)
"""
    two = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr
    assert two.stdout == one.stdout
    assert len(set(noted.read_text().split())) == 2


@pytest.mark.parametrize("partitions", [1, 7])
def test_stream_writes_the_same_bytes(generated, tmp_path, partitions):
    _, args, one = generated
    out = tmp_path / "out.csv"
    streamed = claims("calculate", *args, "--stream", "--partitions", partitions, "--out", out)
    assert streamed.returncode == 0, streamed.stderr
    assert out.read_text(encoding="utf-8") == one.stdout
    assert "3000 件申请" in streamed.stderr and f"分 {partitions} 个分区" in streamed.stderr


def test_stream_reports_the_same_problems(generated, tmp_path):
    """A bad cell and a claim id given twice for two different members (so in two partitions) are reported
    exactly as the in-memory run reports them, located in the original files."""
    folder, args, _ = generated
    rows = list(csv.reader((folder / "claims.csv").open(encoding="utf-8", newline="")))
    rows[5][9] = "12.345"  # total_cost with three decimals
    rows[40][0] = rows[10][0]  # a claim id given twice
    assert rows[40][1] != rows[10][1]
    bad = tmp_path / "claims.csv"
    with bad.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    broken = [*args[:-1], bad]
    memory = claims("calculate", *broken)
    streamed = claims("calculate", *broken, "--stream", "--partitions", 7, "--out", tmp_path / "out.csv")
    assert memory.returncode == streamed.returncode == 2
    assert "claims.csv:6:total_cost: [INPUT_MONEY_PRECISION]" in memory.stderr
    assert "claims.csv:41:claim_id: [INPUT_DUPLICATE_KEY]" in memory.stderr
    assert streamed.stderr == memory.stderr
    assert not (tmp_path / "out.csv").exists()


def test_stream_refuses_other_formats_and_workers(generated, tmp_path):
    _, args, _ = generated
    as_json = claims("calculate", *args, "--stream", "--out", tmp_path / "a.json")
    assert as_json.returncode == 2 and "只输出 CSV" in as_json.stderr
    with_workers = claims("calculate", *args, "--stream", "--workers", "2")
    assert with_workers.returncode == 2 and "不能与 --workers 同时使用" in with_workers.stderr
