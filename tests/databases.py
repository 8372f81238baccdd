"""Databases for the store tests: a SQLite file, and a real PostgreSQL server started from the installed
binaries (as an unprivileged user when the tests run as root). Every store test runs on both."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from claims.store.database import Store, init_database


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextmanager
def postgres_cluster(max_connections: int = 50):
    """A throw-away PostgreSQL cluster on 127.0.0.1, started from the installed binaries (as an unprivileged
    user when running as root); yields its URL without a database name. ``PostgresMissing`` where none is
    installed. Used by the test fixture below and by ``make bench`` (benchmarks/database.py, web_load.py)."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        raise PostgresMissing("PostgreSQL is not installed here (no pg_ctl/initdb); Debian package 'postgresql'")
    owner = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        owner = "postgres" if subprocess.run(["id", "postgres"], capture_output=True).returncode == 0 else "nobody"
    root = Path(tempfile.mkdtemp(prefix="claims-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if owner:
        shutil.chown(root, owner)
        shutil.chown(sockets, owner)
    port = _free_port()
    subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                              "-E", "UTF8", "--locale=C", "--no-sync"], owner), check=True, capture_output=True)
    subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                              f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                              f"-c full_page_writes=off -c max_connections={max_connections}", "start"], owner),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], owner),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


class PostgresMissing(LookupError):
    pass


def new_database(server: str, prefix: str = "t") -> str:
    """A new, empty database on the cluster at ``server``; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL cluster on 127.0.0.1; skipped, with the reason, where none is installed."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_cluster())
        except PostgresMissing:
            pytest.skip("PostgreSQL is not installed here (no pg_ctl/initdb): PostgreSQL store tests skipped; "
                        "CI installs the Debian package 'postgresql'")
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'claims.db'}"
    else:
        url = new_database(request.getfixturevalue("postgres_server"))
    init_database(url)
    yield url


@pytest.fixture
def store(db_url):
    store = Store(db_url)
    yield store
    store.dispose()


def wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError("condition not met in time")
