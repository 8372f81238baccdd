"""``review import`` alone, old code against new, alternating on the same data (issue 11, "Sizes").

Set-up once (kept in ``bench-data/review-import-<size>/``): the pipeline's three imports, ``batch create``,
``review export`` and every decision filled with 通过 (as ``make bench``'s pipeline step does); the database
is then copied before each timed import, so every round starts from the same state. Each round runs
``review import`` once per code tree given (``--tree NAME=PATH``; the default is this checkout), in turn, and
records wall seconds, the command's own CPU seconds (user + system) and its peak RSS; every run must approve
every claim of the batch. ``--profile`` runs pyinstrument on one import of this checkout instead.

    python -m benchmarks.review_import --scale 0.1 --rounds 3 --tree old=/tmp/old-checkout
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.run import BENCH_PASSWORD, CLI, POLICY, ROOT, _pipeline_db, _typed, data, fill_review, run


def prepare(size: int, work: Path) -> tuple[dict, Path, Path]:
    """(environment, pristine database, filled sheet) for ``size`` claims, built once."""
    folder = work / f"review-import-{size}"
    pristine, sheet = folder / "before-import.db", folder / "review.xlsx"
    if (folder / "ready").exists():
        env = json.loads((folder / "ready").read_text(encoding="utf-8"))
        return env, pristine, sheet
    paths = data(size, work, xlsx=True)
    env, db = _pipeline_db(work, f"review-import-{size}")
    for kind in ("members", "enrollments", "claims"):
        run([*CLI, "import", kind, paths[kind], "--policy", POLICY], env, f"import {kind}")
    run([*CLI, "batch", "create", "--policy", POLICY, "--period", "2025"], env, "batch create")
    _typed([*CLI, "--user", "admin", "users", "add", "reviewer", "--role", "reviewer", "--password-stdin"], env,
           BENCH_PASSWORD * 2)
    _typed([*CLI, "login", "reviewer", "--password-stdin"], env, BENCH_PASSWORD)
    run([*CLI, "--user", "reviewer", "review", "export", "1", "-o", sheet], env, "review export")
    fill_review(sheet, "通过")
    shutil.copyfile(db, pristine)
    (folder / "ready").write_text(json.dumps(env), encoding="utf-8")
    return env, pristine, sheet


def timed_import(tree: Path, env: dict, pristine: Path, sheet: Path) -> dict:
    db = Path(env["CLAIMS_DB"].removeprefix("sqlite:///"))
    shutil.copyfile(pristine, db)
    # the tree's own package first (an older checkout): cwd and PYTHONPATH
    environment = {**os.environ, **env, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    process = subprocess.Popen([*CLI, "--user", "reviewer", "review", "import", str(sheet)], cwd=tree,
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, errors = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"review import ({tree}) failed: {errors.decode(errors='replace')[-2000:]}")
    with sqlite3.connect(db) as connection:
        approved, in_batch = connection.execute(
            "select sum(state = 'approved'), count(*) from claims where batch_id = 1").fetchone()
    if approved != in_batch:
        raise SystemExit(f"review import ({tree}): {approved:,} of {in_batch:,} claims approved")
    return {"wall_s": wall, "claims": in_batch}


def measure(trees: dict[str, Path], env: dict, pristine: Path, sheet: Path, rounds: int) -> dict:
    import resource

    figures: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(rounds):
        for name, tree in trees.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            figure = timed_import(tree, env, pristine, sheet)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            figure["cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            figure["load_1min"] = os.getloadavg()[0]
            figures[name].append(figure)
            print(f"  {name}: {figure['wall_s']:.1f} s wall, {figure['cpu_s']:.1f} s CPU, load {figure['load_1min']:.1f}",
                  flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], help="NAME=PATH of a checkout to time (repeatable)")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile (HTML) of one import here")
    args = parser.parse_args()
    size = int(100_000 * args.scale)
    env, pristine, sheet = prepare(size, args.work)
    if args.profile:
        db = Path(env["CLAIMS_DB"].removeprefix("sqlite:///"))
        shutil.copyfile(pristine, db)
        subprocess.run([sys.executable, "-m", "pyinstrument", "-r", "html", "-o", str(args.profile), "-m", "claims.cli",
                        "--user", "reviewer", "review", "import", str(sheet)], env={**os.environ, **env}, check=True)
        return
    trees = dict(item.split("=", 1) for item in args.tree) or {"this": str(ROOT)}
    figures = measure({name: Path(path) for name, path in trees.items()}, env, pristine, sheet, args.rounds)
    print(json.dumps({"claims": size, "rounds": figures}, indent=1))


if __name__ == "__main__":
    main()
