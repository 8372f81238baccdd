"""``make bench`` figures of issue 14 at scale: ``claims simulate`` (the what-if) of a 1,000,000-claim period.

Set-up (not timed): the generated files imported into a fresh SQLite database with the CLI (in parts of at
most 400,000 rows, as a clerk must split a file above intake's 500,000-row limit), every claim then
marked calculated by SQL (a batch of a million claims is the database figures' subject, not this one's:
the what-if reads the claims, never their stored lines). Timed: ``claims simulate`` of a draft that raises
the first band's rate, against the policy file as the current one, with its peak RSS.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from benchmarks.run import CLI, POLICY, _pipeline_db, data, run


def bench_simulate(size: int, work: Path, results: dict) -> None:
    paths = data(size, work)
    env, db = _pipeline_db(work, "simulate")
    timings: dict = {"claims": size}
    for kind in ("members", "enrollments", "claims"):
        timings[f"setup_import_{kind}_s"] = 0.0
        for part in _parts(paths[kind], db.parent / "parts"):
            seconds, _ = run([*CLI, "import", kind, part, "--policy", POLICY], env, f"import {part.name}")
            timings[f"setup_import_{kind}_s"] += seconds
    with sqlite3.connect(db) as connection:
        connection.execute("update claims set state = 'calculated'")
    draft = db.parent / "draft.yaml"
    draft.write_text(POLICY.read_text(encoding="utf-8").replace("{from: 0, to: 20000, rate: 0.50}",
                                                                "{from: 0, to: 20000, rate: 0.60}", 1),
                     encoding="utf-8")
    timings["seconds"], timings["peak_rss_mib"] = run(
        [*CLI, "simulate", "--policy", draft, "--current", POLICY, "--period", "2025"], env, "simulate")
    results["simulate"] = timings


def _parts(path: Path, folder: Path, rows: int = 400_000) -> Iterator[Path]:
    """The CSV file in parts of at most ``rows`` data rows, each with the header (one part: the file itself)."""
    with path.open(encoding="utf-8") as handle:
        header = handle.readline()
        lines = handle.readlines(2 ** 40)
    if len(lines) <= rows:
        yield path
        return
    folder.mkdir(parents=True, exist_ok=True)
    for number, start in enumerate(range(0, len(lines), rows), start=1):
        part = folder / f"{path.stem}-{number}.csv"
        part.write_text(header + "".join(lines[start:start + rows]), encoding="utf-8")
        yield part
    del lines
