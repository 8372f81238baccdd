"""Writing many rows at once: PostgreSQL's COPY (psycopg 3's ``cursor.copy``), Core ``executemany`` elsewhere.

Both run in the session's own transaction, so a failure later in the unit of work rolls the rows back too."""

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
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg":
        for start in range(0, len(rows), CHUNK):
            connection.execute(table.insert(), rows[start:start + CHUNK])
        return
    names = list(rows[0])
    defaults = {column.name: column.default.arg for column in table.columns
                if column.name not in rows[0] and column.default is not None and column.default.is_scalar}
    columns = names + list(defaults)
    fixed = tuple(defaults.values())
    quoted = ", ".join(f'"{name}"' for name in columns)
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row((*(row[name] for name in names), *fixed))
    finally:
        cursor.close()
