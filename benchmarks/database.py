"""The database commands at 100,000 claims (issue 14), on SQLite and on PostgreSQL, each figure beside its target.

For each database: the three imports (CSV), ``batch create``, ``export payouts``, ``export letters --unit`` of the
unit with the most decided claims, and ``audit rerun``. PostgreSQL is a throw-away cluster started from the
installed binaries by the same code as the test fixtures (``tests/databases.py``), as an unprivileged user when
run as root. Beside the figures, since the machine is shared: the same run's process floor (``claims --help``),
a fixed pure-Python loop timed before and after (``calibration``) and the load average."""

from __future__ import annotations

import os
import sys
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


CALIBRATION = "sum(i * i for i in range(3_000_000))"


def calibration() -> float:
    """Wall time ÷ CPU time of a fixed pure-Python loop in a fresh interpreter: 1.0 on an idle core, 10 when
    the process got a tenth of a core — how far the wall-clock figures beside it are stretched by the load."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, _ = run([sys.executable, "-c", CALIBRATION], label="calibration")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds / max(cpu, 1e-3)


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


def timed(figures: dict, name: str, command: list, env: dict, label: str) -> None:
    """One command: its wall seconds (the figure), its CPU seconds (user + system, the command's own process;
    a PostgreSQL server's work is not in it) and its peak RSS."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures[f"{name}_s"], figures[f"{name}_peak_rss_mib"] = run(command, env, label)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures[f"{name}_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def measure(url: str, paths: dict[str, Path], folder: Path) -> dict:
    """Every figure of one database, each command its own process."""
    folder.mkdir(parents=True, exist_ok=True)
    env = _users(url, folder)
    figures: dict = {"wall_per_cpu_before": calibration()}
    figures["process_floor_s"], _ = run([*CLI, "--help"], env, "claims --help")
    for kind in ("members", "enrollments", "claims"):
        timed(figures, f"import_{kind}", [*CLI, "import", kind, paths[kind], "--policy", POLICY], env, f"import {kind}")
    timed(figures, "batch_create", [*CLI, "batch", "create", "--policy", POLICY, "--period", "2025"], env, "batch")
    # the review itself is not timed (another figure): every calculated claim approved at once
    _sql(url, "update claims set state = 'approved' where state = 'calculated'")
    timed(figures, "export_payouts", [*CLI, "--user", "finance", "export", "payouts", "1", "-o", folder / "payouts.xlsx"],
          env, "payouts")
    unit, count = _sql(url, "select m.unit, count(*) from claims c join members m on m.member_id = c.member_id "
                            "where c.batch_id = 1 group by m.unit order by count(*) desc, m.unit limit 1")[0]
    figures["letters_unit"], figures["letters_unit_claims"] = unit, count
    timed(figures, "export_letters_unit",
          [*CLI, "--user", "finance", "export", "letters", "1", "--unit", unit, "-o", folder / "unit.pdf"], env, "letters")
    timed(figures, "audit_rerun", [*CLI, "audit", "rerun", "1"], env, "rerun")
    figures["wall_per_cpu_after"] = calibration()
    figures["load_average_after"] = os.getloadavg()[0]
    return figures


def log_slow_statements(server: str, milliseconds: int) -> Path:
    """Have the cluster log every statement slower than ``milliseconds`` (``log_min_duration_statement``);
    the server's log file (``tests/databases.py`` writes it beside the data directory)."""
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"ALTER SYSTEM SET log_min_duration_statement = {int(milliseconds)}"))
            connection.execute(text("SELECT pg_reload_conf()"))
            data_directory = connection.execute(text("SHOW data_directory")).scalar()
    finally:
        admin.dispose()
    return Path(data_directory).parent / "log"


def slowest_statements(log: Path, top: int = 12) -> list[tuple[float, int, str]]:
    """(total ms, count, statement's first words) of the logged statements, slowest first."""
    import re

    totals: dict[str, list] = {}
    for match in re.finditer(r"duration: ([0-9.]+) ms  (?:statement|execute [^:]*): (.{0,90})", log.read_text(
            encoding="utf-8", errors="replace")):
        entry = totals.setdefault(" ".join(match.group(2).split()), [0.0, 0])
        entry[0] += float(match.group(1))
        entry[1] += 1
    return sorted(((round(ms, 1), n, what) for what, (ms, n) in totals.items()), reverse=True)[:top]


def bench_database(size: int, work: Path, results: dict, only: tuple[str, ...] = DATABASES,
                   slow_ms: int | None = None) -> None:
    """Both databases on the same generated files (CSV); PostgreSQL skipped, and said so, where not installed.
    ``slow_ms``: PostgreSQL logs every statement slower than that, and the slowest are reported."""
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
                log = log_slow_statements(server, slow_ms) if slow_ms is not None else None
                results["database_postgresql"] = {"claims": size,
                                                  **measure(new_database(server, "bench"), paths, folder)}
                if log is not None:
                    results["database_postgresql"]["slowest_statements"] = slowest_statements(log)
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
    parser.add_argument("--pg-slow-ms", type=int, default=None,
                        help="PostgreSQL: log statements slower than this many ms and report the slowest")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    bench_database(int(100_000 * args.scale), args.work, results, tuple(args.db or DATABASES), args.pg_slow_ms)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    import benchmarks.run as runner

    runner.TARGETS[:] = TARGETS
    print(report(results))
    print(f"\n{'CPU seconds of the command itself (user + system)':<62} {'sqlite':>12} {'postgresql':>12}")
    for key, _, label in FIGURES:
        cpu = [results.get(f"database_{db}", {}).get(key.removesuffix("_s") + "_cpu_s") for db in DATABASES]
        print(f"{label:<62} " + " ".join(f"{c:>12.2f}" if c is not None else f"{'—':>12}" for c in cpu))
    for name, figures in results.items():
        print(name, {k: v for k, v in figures.items() if not k.endswith("_s") and k != "slowest_statements"})
        for ms, count, what in figures.get("slowest_statements", []):
            print(f"  {ms:>10,.0f} ms  {count:>5}×  {what}")


if __name__ == "__main__":
    main()
