"""Writing many rows at once: PostgreSQL's COPY (psycopg 3's ``cursor.copy``), SQLite's own ``executemany`` of
tuples, Core ``executemany`` elsewhere.

All run in the session's own transaction, so a failure later in the unit of work rolls the rows back too."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.orm import Session

CHUNK = 10_000


def insert_rows(session: Session, table: Table, rows: Sequence[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``. Columns a row leaves out get their scalar
    Python default, as an ORM or Core insert would give them; a column without one is left to the database
    (an autoincrement key, a server default)."""
    if not rows:
        return
    session.flush()
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    defaults = {column.name: column.default.arg for column in table.columns
                if column.name not in rows[0] and column.default is not None and column.default.is_scalar}
    columns = names + list(defaults)
    quoted = ", ".join(f'"{name}"' for name in columns)
    if dialect.name == "sqlite":
        _sqlite_insert(connection, table, rows, names, defaults, quoted)
        return
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        for start in range(0, len(rows), CHUNK):
            connection.execute(table.insert(), rows[start:start + CHUNK])
        return
    fixed = tuple(defaults.values())
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row((*(row[name] for name in names), *fixed))
    finally:
        cursor.close()


def _sqlite_insert(connection, table: Table, rows: Sequence[dict], names: list[str], defaults: dict,
                   quoted: str) -> None:
    """One prepared INSERT run for tuples on the sqlite3 connection itself (in the session's transaction),
    each value converted by its column type's own bind processor — the values Core would store (dates as
    ISO text and so on), without Core's per-row dictionaries (it spent twice what SQLite did)."""
    dialect = connection.dialect
    columns = []
    for name in names:
        values = [row[name] for row in rows]
        convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        columns.append(list(map(convert, values)) if convert is not None else values)
    for name, value in defaults.items():
        convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        columns.append([convert(value) if convert is not None else value] * len(rows))
    marks = ", ".join("?" * (len(names) + len(defaults)))
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.executemany(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', zip(*columns, strict=True))
    finally:
        cursor.close()
