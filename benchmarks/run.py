"""``make bench``: every figure of the performance issue measured beside its floor or target, in one run.

Prints a table and writes bench-results.json. Data is generated deterministically into bench-data/
(kept between runs). Sizes can be reduced for a quick look: ``python -m benchmarks.run --scale 0.1``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.generate import generate, to_xlsx

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "hangzhou.yaml"
CLI = [sys.executable, "-m", "claims.cli"]


def run(command: list, env: dict | None = None, label: str = "") -> tuple[float, int]:
    """(seconds, peak RSS in MiB of the process itself) of one command; fails loudly if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen([str(c) for c in command], env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{label or command} failed: {process.stderr.read().decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_maxrss // 1024


def data(size: int, folder: Path, xlsx: bool = False) -> dict[str, Path]:
    folder = folder / f"claims-{size}"
    paths = {kind: folder / f"{kind}.csv" for kind in ("members", "enrollments", "claims")}
    if not all(p.exists() for p in paths.values()):
        print(f"  generating {size:,} claims into {folder} …", flush=True)
        generate(size, folder)
    if xlsx:
        for kind, path in list(paths.items()):
            target = path.with_suffix(".xlsx")
            if not target.exists():
                print(f"  writing {target.name} …", flush=True)
                to_xlsx(path, target)
            paths[kind] = target
    return paths


def calculate_args(paths: dict[str, Path], out: Path) -> list:
    return ["calculate", "--policy", POLICY, "--members", paths["members"], "--enrollments", paths["enrollments"],
            "--claims", paths["claims"], "--out", out]


def bench_calculate(size: int, work: Path, results: dict) -> None:
    paths = data(size, work)
    out = work / "out.csv"
    floor, _ = run([sys.executable, "-m", "benchmarks.floor", POLICY, paths["members"], paths["enrollments"],
                    paths["claims"], out], label="floor")
    one, rss = run([*CLI, *calculate_args(paths, out)], label="calculate")
    two, _ = run([*CLI, *calculate_args(paths, work / "out2.csv"), "--workers", "2"], label="calculate --workers 2")
    same = (work / "out.csv").read_bytes() == (work / "out2.csv").read_bytes()
    results["calculate"] = {
        "claims": size, "floor_s": floor, "one_worker_s": one, "two_workers_s": two, "peak_rss_mib": rss,
        "claims_per_s_one": size / one, "claims_per_s_two": size / two, "ratio_to_floor_one": one / floor,
        "ratio_to_floor_two": two / floor, "speed_up_two_workers": one / two, "two_workers_identical": same,
    }


def _approve_all(db: Path) -> None:
    """Benchmark set-up only: every calculated claim approved at once (the review itself is not timed)."""
    with sqlite3.connect(db) as connection:
        connection.execute("update claims set state = 'approved' where state = 'calculated'")


def _pipeline_db(work: Path, name: str) -> tuple[dict, Path]:
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    db = folder / "claims.db"
    # its own token file: the benchmark's logins never touch the developer's ~/.claims
    env = {"CLAIMS_DB": f"sqlite:///{db}", "CLAIMS_USER": "clerk", "CLAIMS_TOKEN_FILE": str(folder / "logins.json")}
    run([*CLI, "db", "init"], env)
    _typed([*CLI, "--user", "", "users", "add", "admin", "--role", "admin", "--password-stdin"], env, BENCH_PASSWORD * 2)
    _typed([*CLI, "login", "admin", "--password-stdin"], env, BENCH_PASSWORD)
    for user in ("clerk", "finance"):
        _typed([*CLI, "--user", "admin", "users", "add", user, "--role", user, "--password-stdin"], env,
               BENCH_PASSWORD * 2)
        _typed([*CLI, "login", user, "--password-stdin"], env, BENCH_PASSWORD)
    return env, db


BENCH_PASSWORD = "benchmark-password\n"


def _typed(command: list, env: dict, typed: str) -> None:
    """A set-up command that reads a password from standard input, as a person would type it."""
    subprocess.run([str(c) for c in command], env={**os.environ, **env}, input=typed, text=True, check=True,
                   capture_output=True)


def bench_pipeline(size: int, work: Path, results: dict) -> Path:
    paths = data(size, work, xlsx=True)
    env, db = _pipeline_db(work, "pipeline")
    timings = {}
    for kind in ("members", "enrollments", "claims"):
        timings[f"import_{kind}_s"], _ = run([*CLI, "import", kind, paths[kind], "--policy", POLICY], env, f"import {kind}")
    timings["batch_create_s"], timings["batch_peak_rss_mib"] = run(
        [*CLI, "batch", "create", "--policy", POLICY, "--period", "2025"], env, "batch create")
    _approve_all(db)
    timings["export_payouts_s"], timings["payouts_peak_rss_mib"] = run(
        [*CLI, "--user", "finance", "export", "payouts", "1", "-o", db.parent / "payouts.xlsx"], env, "payouts")
    timings["pipeline_s"] = timings["import_claims_s"] + timings["batch_create_s"] + timings["export_payouts_s"]
    timings["rerun_s"], timings["rerun_peak_rss_mib"] = run([*CLI, "audit", "rerun", "1"], env, "audit rerun")
    results["pipeline"] = {"claims": size, **timings}
    return db


def bench_letters(size: int, work: Path, results: dict) -> None:
    paths = data(size, work)
    env, db = _pipeline_db(work, "letters")
    for kind in ("members", "enrollments", "claims"):
        run([*CLI, "import", kind, paths[kind], "--policy", POLICY], env, f"import {kind}")
    run([*CLI, "batch", "create", "--policy", POLICY, "--period", "2025"], env, "batch create")
    _approve_all(db)
    out = db.parent / "letters.pdf"
    seconds, rss = run([*CLI, "--user", "finance", "export", "letters", "1", "-o", out], env, "letters")
    split = db.parent / "by-unit"
    split_seconds, _ = run([*CLI, "--user", "finance", "export", "letters", "1", "--split-by", "unit", "-o", split,
                            "--workers", "2"], env, "letters by unit")
    from pypdf import PdfReader

    pages = len(PdfReader(out).pages)
    split_pages = sum(len(PdfReader(f).pages) for f in split.glob("*.pdf"))
    results["letters"] = {"letters": size, "pages": pages, "seconds": seconds, "pages_per_s": pages / seconds,
                          "peak_rss_mib": rss, "file_mib": out.stat().st_size / 2 ** 20,
                          "split_by_unit_two_workers_s": split_seconds, "split_pages": split_pages,
                          "split_pages_per_s": split_pages / split_seconds}


def bench_stream(size: int, work: Path, results: dict) -> None:
    paths = data(size, work)
    seconds, rss = run([*CLI, *calculate_args(paths, work / "out-stream.csv")], label="calculate (large)")
    results["large_calculate"] = {"claims": size, "seconds": seconds, "peak_rss_mib": rss}


TARGETS = [
    ("calculate", "claims_per_s_one", ">=", 25000, "claims calculate, 1 process: claims/s"),
    ("calculate", "claims_per_s_two", ">=", 25000, "claims calculate, 2 workers: claims/s"),
    ("calculate", "ratio_to_floor_one", "<=", 2.0, "claims calculate / I/O floor, 1 process"),
    ("calculate", "ratio_to_floor_two", "<=", 2.0, "claims calculate / I/O floor, 2 workers"),
    ("pipeline", "pipeline_s", "<=", 60, "import claims (XLSX) + batch create + export payouts: s"),
    ("letters", "pages_per_s", ">=", 200, "notice letters, one PDF, 1 process: pages/s"),
    ("letters", "split_pages_per_s", ">=", 200, "notice letters, split by unit, 2 workers: pages/s"),
    ("pipeline", "rerun_s", "<=", 20, "audit rerun of the batch: s"),
    ("large_calculate", "peak_rss_mib", "<=", 1024, "large calculation: peak memory MiB"),
]


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "date": datetime.now(UTC).date().isoformat()}


def report(results: dict) -> str:
    lines = [f"{'figure':<62} {'measured':>12} {'target':>10}  ok"]
    for section, key, op, target, label in TARGETS:
        if section not in results:
            continue
        value = results[section][key]
        ok = value >= target if op == ">=" else value <= target
        lines.append(f"{label:<62} {value:>12,.2f} {op + str(target):>10}  {'yes' if ok else 'NO'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size (0.1 for a quick look)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument("--skip-large", action="store_true", help="skip the 1,000,000-claim run")
    args = parser.parse_args()
    scale = args.scale
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine(), "scale": scale}
    steps = [("calculate", bench_calculate, int(200_000 * scale)), ("pipeline", bench_pipeline, int(100_000 * scale)),
             ("letters", bench_letters, int(10_000 * scale))]
    if not args.skip_large:
        steps.append(("large", bench_stream, int(1_000_000 * scale)))
    for name, step, size in steps:
        print(f"[{name}] {size:,} claims", flush=True)
        step(size, args.work, results)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print()
    print(report(results))
    print(f"\nmachine: {results['machine']}\nresults: {args.out}")


if __name__ == "__main__":
    main()
