"""The database commands at 100,000 claims (issue 14), on SQLite and on PostgreSQL, each figure beside its target.

For each database: the three imports (CSV), ``batch create``, ``export payouts``, ``export letters --unit`` of the
unit with the most decided claims, and ``audit rerun``. PostgreSQL is a throw-away cluster started from the
installed binaries by the same code as the test fixtures (``tests/databases.py``), as an unprivileged user when
run as root. Beside the figures: the same run's process floor (``claims --help``: interpreter and imports) and
the load average, since the machine is shared."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.run import BENCH_PASSWORD, CLI, POLICY, _typed, data, run

DATABASES = ("sqlite", "postgresql")
FIGURES = [
    ("import_members_s", 5, "import members (CSV): s"),
    ("import_enrollments_s", 5, "import enrollments (CSV): s"),
    ("import_claims_s", 5, "import claims (CSV): s"),
    ("batch_create_s", 15, "batch create: s"),
    ("export_payouts_s", 8, "export payouts: s"),
    ("export_letters_unit_s", 3, "export letters --unit (largest unit): s"),
    ("audit_rerun_s", 15, "audit rerun: s"),
]
TARGETS = [(f"database_{db}", key, "<=", target, f"{db}: {label}") for db in DATABASES for key, target, label in FIGURES]


def _users(url: str, folder: Path) -> dict:
    env = {"CLAIMS_DB": url, "CLAIMS_USER": "clerk", "CLAIMS_TOKEN_FILE": str(folder / "logins.json")}
    run([*CLI, "db", "init"], env)
    _typed([*CLI, "--user", "", "users", "add", "admin", "--role", "admin", "--password-stdin"], env, BENCH_PASSWORD * 2)
    _typed([*CLI, "login", "admin", "--password-stdin"], env, BENCH_PASSWORD)
    for user in ("clerk", "finance", "reviewer"):
        _typed([*CLI, "--user", "admin", "users", "add", user, "--role", user, "--password-stdin"], env,
               BENCH_PASSWORD * 2)
        _typed([*CLI, "login", user, "--password-stdin"], env, BENCH_PASSWORD)
    return env


def _sql(url: str, statement: str):
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement))
            return result.fetchall() if result.returns_rows else None
    finally:
        engine.dispose()


def measure(url: str, paths: dict[str, Path], folder: Path) -> dict:
    """Every figure of one database, each command its own process."""
    folder.mkdir(parents=True, exist_ok=True)
    env = _users(url, folder)
    figures: dict = {}
    figures["process_floor_s"], _ = run([*CLI, "--help"], env, "claims --help")
    for kind in ("members", "enrollments", "claims"):
        figures[f"import_{kind}_s"], figures[f"import_{kind}_peak_rss_mib"] = run(
            [*CLI, "import", kind, paths[kind], "--policy", POLICY], env, f"import {kind}")
    figures["batch_create_s"], figures["batch_create_peak_rss_mib"] = run(
        [*CLI, "batch", "create", "--policy", POLICY, "--period", "2025"], env, "batch create")
    # the review itself is not timed (another figure): every calculated claim approved at once
    _sql(url, "update claims set state = 'approved' where state = 'calculated'")
    figures["export_payouts_s"], figures["export_payouts_peak_rss_mib"] = run(
        [*CLI, "--user", "finance", "export", "payouts", "1", "-o", folder / "payouts.xlsx"], env, "payouts")
    unit, count = _sql(url, "select m.unit, count(*) from claims c join members m on m.member_id = c.member_id "
                            "where c.batch_id = 1 group by m.unit order by count(*) desc, m.unit limit 1")[0]
    figures["letters_unit"], figures["letters_unit_claims"] = unit, count
    figures["export_letters_unit_s"], figures["export_letters_unit_peak_rss_mib"] = run(
        [*CLI, "--user", "finance", "export", "letters", "1", "--unit", unit, "-o", folder / "unit.pdf"], env,
        "letters --unit")
    figures["audit_rerun_s"], figures["audit_rerun_peak_rss_mib"] = run([*CLI, "audit", "rerun", "1"], env, "rerun")
    figures["load_average_after"] = os.getloadavg()[0]
    return figures


def bench_database(size: int, work: Path, results: dict, only: tuple[str, ...] = DATABASES) -> None:
    """Both databases on the same generated files (CSV); PostgreSQL skipped, and said so, where not installed."""
    import shutil

    paths = data(size, work)
    for db in only:
        folder = work / f"database-{db}"
        shutil.rmtree(folder, ignore_errors=True)
        print(f"  {db} …", flush=True)
        if db == "sqlite":
            folder.mkdir(parents=True)
            results["database_sqlite"] = {"claims": size, **measure(f"sqlite:///{folder / 'claims.db'}", paths, folder)}
            continue
        from tests.databases import PostgresMissing, new_database, postgres_cluster

        try:
            with postgres_cluster() as server:
                results["database_postgresql"] = {"claims": size,
                                                  **measure(new_database(server, "bench"), paths, folder)}
        except PostgresMissing as missing:
            print(f"  PostgreSQL skipped: {missing}", flush=True)


def main() -> None:
    """``python -m benchmarks.database [--scale S] [--db sqlite|postgresql]``: this section alone."""
    import argparse
    import json

    from benchmarks.run import ROOT, report

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--db", action="append", choices=DATABASES)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-database.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    bench_database(int(100_000 * args.scale), args.work, results, tuple(args.db or DATABASES))
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    import benchmarks.run as runner

    runner.TARGETS[:] = TARGETS
    print(report(results))
    for name, figures in results.items():
        print(name, {k: v for k, v in figures.items() if not k.endswith("_s")})


if __name__ == "__main__":
    main()
