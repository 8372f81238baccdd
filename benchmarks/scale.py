"""``make bench`` figures of issue 14 at scale: ``claims simulate`` (the what-if) of a 1,000,000-claim period.

Set-up (not timed): the generated files imported into a fresh SQLite database with the CLI, every claim then
marked calculated by SQL (a batch of a million claims is the database figures' subject, not this one's:
the what-if reads the claims, never their stored lines). Timed: ``claims simulate`` of a draft that raises
the first band's rate, against the policy file as the current one, with its peak RSS.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks.run import CLI, POLICY, _pipeline_db, data, run


def bench_simulate(size: int, work: Path, results: dict) -> None:
    paths = data(size, work)
    env, db = _pipeline_db(work, "simulate")
    timings: dict = {"claims": size}
    for kind in ("members", "enrollments", "claims"):
        timings[f"setup_import_{kind}_s"], _ = run([*CLI, "import", kind, paths[kind], "--policy", POLICY], env,
                                                   f"import {kind}")
    with sqlite3.connect(db) as connection:
        connection.execute("update claims set state = 'calculated'")
    draft = db.parent / "draft.yaml"
    draft.write_text(POLICY.read_text(encoding="utf-8").replace("{from: 0, to: 20000, rate: 0.50}",
                                                                "{from: 0, to: 20000, rate: 0.60}", 1),
                     encoding="utf-8")
    timings["seconds"], timings["peak_rss_mib"] = run(
        [*CLI, "simulate", "--policy", draft, "--current", POLICY, "--period", "2025"], env, "simulate")
    results["simulate"] = timings
