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
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.generate import generate, to_xlsx

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "hangzhou.yaml"
CLI = [sys.executable, "-m", "claims.cli"]


# The command is started by a small interpreter that reports its wall time and peak RSS. On Linux a child's
# ru_maxrss starts at its parent's RSS at fork and survives exec, so measured from this (large) process every
# command smaller than the benchmark itself would show the benchmark's own size; started from a ~10 MiB
# interpreter it shows its own.
_MEASURE = """
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{time.perf_counter() - start} {usage.ru_maxrss}")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run(command: list, env: dict | None = None, label: str = "", expect: int = 0,
        cpu: dict | None = None) -> tuple[float, int]:
    """(seconds, peak RSS in MiB of the process itself) of one command; fails loudly if it fails (exits
    other than ``expect``). ``cpu``: given a dict, its "seconds" become the command's CPU seconds (user +
    system, with the worker processes it waited for) — steadier than the wall clock on a shared machine."""
    with tempfile.TemporaryFile() as errors, tempfile.NamedTemporaryFile("r") as measured:
        # a file, not a pipe, for the errors: thousands of messages must not block the child
        process = subprocess.Popen([sys.executable, "-c", _MEASURE, measured.name, *map(str, command)],
                                   env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        if cpu is not None:  # the measuring interpreter's own ~20 ms included
            cpu["seconds"] = usage.ru_utime + usage.ru_stime
        if os.waitstatus_to_exitcode(status) != expect:
            errors.seek(0)
            raise SystemExit(f"{label or command} failed: {errors.read().decode(errors='replace')[-2000:]}")
        seconds, peak_kib = measured.read().split()
    return float(seconds), int(peak_kib) // 1024


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


def bench_calculate(size: int, work: Path, results: dict, repeats: int = 3) -> None:
    """``claims calculate`` beside the naive reference and the I/O floor, measured back to back ``repeats``
    times on the same files; the minimum of each (the machine is shared: the minimum is the least
    disturbed run). The reference's CSV must be byte-identical to ours, or the comparison is void."""
    paths = data(size, work)
    files = [paths["members"], paths["enrollments"], paths["claims"]]
    out = {name: work / f"out-{name}.csv" for name in ("naive", "one", "two", "floor")}
    commands = {
        "naive": [sys.executable, "-m", "benchmarks.naive_reference", POLICY, *files, out["naive"]],
        "one": [*CLI, *calculate_args(paths, out["one"])],
        "two": [*CLI, *calculate_args(paths, out["two"]), "--workers", "2"],
        "floor": [sys.executable, "-m", "benchmarks.floor", POLICY, *files, out["floor"]],
    }
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}
    rss: dict[str, int] = {}
    for _ in range(repeats):
        for name, command in commands.items():
            seconds, peak = run(command, label=name, cpu=(cpu := {}))
            best[name] = min(best.get(name, seconds), seconds)
            best_cpu[name] = min(best_cpu.get(name, cpu["seconds"]), cpu["seconds"])
            rss[name] = max(rss.get(name, 0), peak)
    naive_same = out["naive"].read_bytes() == out["one"].read_bytes()
    two_same = out["two"].read_bytes() == out["one"].read_bytes()
    if not naive_same:
        raise SystemExit("the naive reference's CSV differs from claims calculate's: the comparison is void")
    results["calculate"] = {
        "claims": size, "repeats": repeats, "naive_s": best["naive"], "one_worker_s": best["one"],
        "two_workers_s": best["two"], "floor_s": best["floor"], "peak_rss_mib": rss["one"],
        "naive_peak_rss_mib": rss["naive"], "ratio_to_naive_one": best["one"] / best["naive"],
        "claims_per_s_one": size / best["one"], "claims_per_s_two": size / best["two"],
        "ratio_to_floor_one": best["one"] / best["floor"], "ratio_to_floor_two": best["two"] / best["floor"],
        "speed_up_two_workers": best["one"] / best["two"], "two_workers_identical": two_same,
        "naive_identical": naive_same, "cpu_load_1min_after": os.getloadavg()[0],
        "cpu_s": best_cpu, "ratio_to_naive_one_cpu": best_cpu["one"] / best_cpu["naive"],
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
    review = db.parent / "review.xlsx"
    _typed([*CLI, "--user", "admin", "users", "add", "reviewer", "--role", "reviewer", "--password-stdin"], env,
           BENCH_PASSWORD * 2)
    _typed([*CLI, "login", "reviewer", "--password-stdin"], env, BENCH_PASSWORD)
    timings["review_export_s"], timings["review_export_peak_rss_mib"] = run(
        [*CLI, "--user", "reviewer", "review", "export", "1", "-o", review], env, "review export")
    timings["review_file_mib"] = review.stat().st_size / 2 ** 20
    fill_review(review, "通过")  # what the reviewers do in Excel (not timed)
    timings["review_import_s"], timings["review_import_peak_rss_mib"] = run(
        [*CLI, "--user", "reviewer", "review", "import", review], env, "review import")
    timings["export_payouts_s"], timings["payouts_peak_rss_mib"] = run(
        [*CLI, "--user", "finance", "export", "payouts", "1", "-o", db.parent / "payouts.xlsx"], env, "payouts")
    timings["pipeline_s"] = timings["import_claims_s"] + timings["batch_create_s"] + timings["export_payouts_s"]
    timings["rerun_s"], timings["rerun_peak_rss_mib"] = run([*CLI, "audit", "rerun", "1"], env, "audit rerun")
    timings["export_bank_s"], _ = run([*CLI, "--user", "finance", "export", "bank", "1", "-o", db.parent / "bank.csv"],
                                      env, "bank")
    with sqlite3.connect(db) as connection:
        approved, in_batch = connection.execute(
            "select sum(state = 'approved'), count(*) from claims where batch_id = 1").fetchone()
    if approved != in_batch:
        raise SystemExit(f"review round-trip: {approved:,} of the batch's {in_batch:,} claims approved")
    timings["review_claims"] = in_batch
    timings["review_round_trip_s"] = timings["review_export_s"] + timings["review_import_s"]
    results["pipeline"] = {"claims": size, **timings}
    return db


def fill_review(path: Path, choice: str) -> None:
    """Fill every decision cell of a review sheet by editing the sheet's XML in the file (fast at any size;
    openpyxl would load 1.6 million cells)."""
    import re
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    book = load_workbook(path, read_only=True)
    header = next(book["审核表"].iter_rows(min_row=3, max_row=3, values_only=True))
    letter = get_column_letter(list(header).index("审核结论") + 1)
    book.close()
    filled = path.with_suffix(".filled.xlsx")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(filled, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                text = re.sub(rf'<c r="({letter}(\d+))"( s="\d+")?(?: t="n")?\s*(?:/>|></c>)',
                              lambda m: m.group(0) if int(m.group(2)) < 4 else
                              f'<c r="{m.group(1)}"{m.group(3) or ""} t="inlineStr"><is><t>{choice}</t></is></c>', text)
                data = text.encode("utf-8")
            target.writestr(item, data)
    filled.replace(path)


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
    """``claims calculate --stream`` on ``size`` claims: seconds and the peak RSS of the child process. Its
    output is compared with the in-memory run on the calculate figure's files (the in-memory run of
    ``size`` claims would need ~7 GiB)."""
    paths = data(size, work)
    out = work / "out-stream.csv"
    seconds, rss = run([*CLI, *calculate_args(paths, out), "--stream"], label="calculate --stream")
    results["large_calculate"] = {"claims": size, "seconds": seconds, "peak_rss_mib": rss,
                                  "lines": sum(1 for _ in out.open(encoding="utf-8")) - 1}
    out.unlink()
    if "calculate" in results:
        small = data(results["calculate"]["claims"], work)
        check = work / "out-stream-small.csv"
        run([*CLI, *calculate_args(small, check), "--stream", "--partitions", "8"], label="stream (check)")
        results["large_calculate"]["stream_identical_to_in_memory"] = (
            check.read_bytes() == (work / "out-one.csv").read_bytes())


def _gbk_copy(source: Path, target: Path, chinese: dict[str, str]) -> Path:
    """The generated CSV as Excel on a Chinese Windows saves it: Chinese headers, GBK."""
    import csv

    if not target.exists():
        with source.open(encoding="utf-8", newline="") as inp, target.open("w", encoding="gbk", newline="") as out:
            writer = csv.writer(out)
            for number, row in enumerate(csv.reader(inp)):
                writer.writerow([chinese.get(c, c) for c in row] if number == 0 else row)
    return target


def bench_intake(size: int, work: Path, results: dict) -> None:
    """Reading input files at size (issue 11/17): claims from XLSX, from a GBK CSV with Chinese headers, and
    the errors workbook (``--errors-out``) of a file in which every row has a problem."""
    from claims.intake.columns import KINDS

    paths = data(size, work, xlsx=True)
    csvs = {kind: path.with_suffix(".csv") for kind, path in paths.items()}
    chinese = {column.name: column.chinese for columns in KINDS.values() for column in columns}
    gbk = {kind: _gbk_copy(path, path.with_name(f"{kind}-gbk.csv"), chinese) for kind, path in csvs.items()}
    timings: dict = {"claims": size}
    for label, files in (("xlsx", paths), ("gbk_csv", gbk)):
        env, _ = _pipeline_db(work, f"intake-{label}")
        for kind in ("members", "enrollments", "claims"):
            seconds, rss = run([*CLI, "import", kind, files[kind], "--policy", POLICY], env, f"import {kind} {label}")
            timings[f"import_{kind}_{label}_s"] = seconds
        timings[f"import_claims_{label}_peak_rss_mib"] = rss
        timings[f"import_claims_{label}_claims_per_s"] = size / timings[f"import_claims_{label}_s"]
    env, _ = _pipeline_db(work, "intake-errors")  # no members: every claim names an unknown member
    out = work / "intake-errors" / "errors.xlsx"
    seconds, rss = run([*CLI, "import", "claims", csvs["claims"], "--errors-out", out], env, "errors workbook",
                       expect=2)
    timings.update(errors_workbook_s=seconds, errors_workbook_peak_rss_mib=rss,
                   errors_workbook_rows_per_s=size / seconds)
    results["intake"] = timings


TARGETS = [
    ("calculate", "ratio_to_naive_one", "<=", 0.5, "claims calculate / naive reference, 1 process"),
    ("calculate", "ratio_to_naive_one_cpu", "<=", 0.5, "the same in CPU seconds (steadier when shared)"),
    ("calculate", "speed_up_two_workers", ">=", 1.6, "claims calculate --workers 2: speed-up over 1"),
    ("calculate", "claims_per_s_one", ">=", 25000, "claims calculate, 1 process: claims/s"),
    ("calculate", "ratio_to_floor_one", "<=", 2.0, "claims calculate / I/O floor, 1 process"),
    ("pipeline", "pipeline_s", "<=", 60, "import claims (XLSX) + batch create + export payouts: s"),
    ("letters", "pages_per_s", ">=", 200, "notice letters, one PDF, 1 process: pages/s"),
    ("letters", "split_pages_per_s", ">=", 200, "notice letters, split by unit, 2 workers: pages/s"),
    ("pipeline", "rerun_s", "<=", 20, "audit rerun of the batch: s"),
    ("pipeline", "review_export_s", "<=", 10, "review export (100,000 claims at scale 1): s"),
    ("pipeline", "review_import_s", "<=", 120, "review import, every claim decided: s"),
    ("pipeline", "review_round_trip_s", "<=", 130, "review round trip (export + import): s"),
    ("pipeline", "export_bank_s", "<=", 30, "bank file: s"),
    ("intake", "import_claims_xlsx_s", "<=", 60, "import claims from XLSX: s"),
    ("intake", "import_claims_gbk_csv_s", "<=", 60, "import claims from a GBK CSV (Chinese headers): s"),
    ("intake", "errors_workbook_s", "<=", 60, "import with --errors-out, every row refused: s"),
    ("large_calculate", "peak_rss_mib", "<=", 1024, "1,000,000 claims, calculate --stream: peak MiB"),
    ("simulate", "peak_rss_mib", "<=", 1024, "simulate (what-if) of a 1,000,000-claim period: peak MiB"),
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
    parser.add_argument("--web-load", action="store_true", help="also 50 reviewers on claims serve for 60 s "
                                                                  "(PostgreSQL; benchmarks/web_load.py)")
    parser.add_argument("--only", action="append", help="run only these steps (calculate, pipeline, letters, intake, "
                                                        "database, large, simulate, web_load); may be given several "
                                                        "times or comma-separated")
    args = parser.parse_args()
    scale = args.scale
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine(), "scale": scale}
    steps = [("calculate", bench_calculate, int(100_000 * scale)), ("pipeline", bench_pipeline, int(100_000 * scale)),
             ("letters", bench_letters, int(10_000 * scale)), ("intake", bench_intake, int(100_000 * scale))]
    from benchmarks.database import TARGETS as DATABASE_TARGETS  # issue 14: SQLite and PostgreSQL
    from benchmarks.database import bench_database

    steps.append(("database", bench_database, int(100_000 * scale)))
    TARGETS.extend(DATABASE_TARGETS)
    if not args.skip_large:
        from benchmarks.scale import bench_simulate

        steps += [("large", bench_stream, int(1_000_000 * scale)), ("simulate", bench_simulate, int(1_000_000 * scale))]
    if args.web_load:
        from benchmarks.web_load import bench_web_load
        steps.append(("web_load", bench_web_load, int(20_000 * scale)))
    if args.only:
        chosen = {name for option in args.only for name in option.split(",")}
        steps = [step for step in steps if step[0] in chosen]
    for name, step, size in steps:
        print(f"[{name}] {size:,} claims", flush=True)
        step(size, args.work, results)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print()
    print(report(results))
    print(f"\nmachine: {results['machine']}\nresults: {args.out}")


if __name__ == "__main__":
    main()
