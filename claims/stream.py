"""``claims calculate --stream``: a province's year in bounded memory, the same CSV as the in-memory run.

Members are independent of each other once every duplicate invoice's first holder is known, so the work is
split by member into partitions that are calculated one after another, each spilled to disk:

1. **Split.** Each CSV file is read row by row; every row goes, with its row number in the file, to the
   partition its member id hashes to. Claim ids given twice are noted here,
   over the whole file (a claim id is not tied to a member).
2. **Check.** Each partition's rows are validated by intake's own ``check_tables`` — so every message is the
   one an in-memory run gives, located at the original file and row — and its records kept on disk, with
   (invoice, discharge date, claim id) of every claim that carries an invoice, sorted.
3. **Duplicate invoices.** Those sorted lists are merged: an invoice carried by more than one claim gets its
   first holder in evaluation order (SPEC §4), for everyone, before any partition is calculated.
4. **Calculate.** Each partition in turn: the engine without explanations (the CSV prints none), the
   contract rows written to disk in claim id order.
5. **Merge.** The partitions' rows merged by claim id into the output (a claim belongs to one member, so
   its lines stay together and in policy order).

Peak memory is one partition plus the set of claim ids; the number of partitions follows the size of the
claims file (about 25,000 claims each). XLSX files are read whole before they are split (a workbook has
no row stream here); CSV files are streamed.
"""

from __future__ import annotations

import csv
import heapq
import pickle
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from claims.engine import Ledger, calculate
from claims.intake import check_tables
from claims.intake.checks import duplicated_claims
from claims.intake.rows import header_positions
from claims.intake.tables import Table, read_table
from claims.policy.schema import Policy
from claims.problems import Problem, ProblemsFound
from exports.lines import CSV_COLUMNS, contract_row

KINDS = ("members", "enrollments", "claims")
CLAIMS_PER_PARTITION = 25_000
BYTES_PER_CLAIM_ROW = 120  # about a generated claims.csv row; only used to choose the number of partitions
FLUSH_ROWS = 4_000


@dataclass
class StreamSummary:
    claims: int
    lines: int
    paid_claims: int
    total: Decimal
    partitions: int


def partitions_for(claims: Path) -> int:
    size = claims.stat().st_size if claims.exists() else 0
    return max(1, size // (BYTES_PER_CLAIM_ROW * CLAIMS_PER_PARTITION) + (size > 0))


def calculate_stream(policy: Policy, members: Path, enrollments: Path, claims: Path, today: date | None,
                     out: Callable[[], AbstractContextManager[IO[str]]], partitions: int | None = None,
                     spill: Path | None = None) -> StreamSummary:
    """Write the contract CSV of the three files to what ``out()`` opens (only once every row is valid and
    calculated); raises ProblemsFound with every problem. ``spill``: the folder for the temporary files."""
    partitions = partitions or partitions_for(Path(claims))
    folder = Path(tempfile.mkdtemp(prefix="claims-stream-", dir=spill))
    try:
        paths = {"members": Path(members), "enrollments": Path(enrollments), "claims": Path(claims)}
        headers, claim_count, problems = _split(paths, partitions, folder)
        problems.extend(_check(policy, headers, partitions, folder, today))
        if problems:
            raise ProblemsFound(_once(problems))
        holders = _first_holders(partitions, folder)
        for index in range(partitions):
            _calculate_partition(policy, index, holders, folder)
        with out() as handle:
            lines, paid, total = _merge_into(handle, partitions, folder)
        return StreamSummary(claim_count, lines, paid, total, partitions)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# 1. split ------------------------------------------------------------------------------------------------

def _rows(path: Path) -> tuple[str, list[str], Iterator[tuple[int, list[Any]]]]:
    """(file name, header, (row number, cells) of every non-empty row) — CSV streamed, XLSX read whole."""
    if path.suffix.lower() not in (".csv", ".txt") or not path.exists():
        table = read_table(path)  # XLSX, or the located message for a missing/unsupported file
        return table.file, table.header, iter(table.rows)
    handle = path.open(encoding="utf-8-sig", newline="")
    reader = csv.reader(handle)
    try:
        first = next(reader, None)
    except UnicodeDecodeError:
        handle.close()
        read_table(path)  # raises intake's own message for the encoding
        raise
    if first is None:
        handle.close()
        read_table(path)  # raises intake's message for an empty file
    header = [cell.strip() for cell in first]

    def body() -> Iterator[tuple[int, list[Any]]]:
        with handle:
            try:
                for number, row in enumerate(reader, start=2):
                    if any(row):
                        yield number, row
            except UnicodeDecodeError:
                read_table(path)
                raise
    return str(path), header, body()


class _Spill:
    """Rows of one kind for each partition, appended to its file in pickled chunks."""

    def __init__(self, folder: Path, kind: str, partitions: int):
        self.paths = [folder / f"{kind}-{i}.rows" for i in range(partitions)]
        self.buffers: list[list] = [[] for _ in range(partitions)]

    def add(self, partition: int, row: tuple) -> None:
        buffer = self.buffers[partition]
        buffer.append(row)
        if len(buffer) >= FLUSH_ROWS:
            self.flush(partition)

    def flush(self, partition: int) -> None:
        with self.paths[partition].open("ab") as handle:
            pickle.dump(self.buffers[partition], handle, protocol=pickle.HIGHEST_PROTOCOL)
        self.buffers[partition] = []

    def close(self) -> None:
        for partition, buffer in enumerate(self.buffers):
            if buffer or not self.paths[partition].exists():
                self.flush(partition)


def _chunks(path: Path) -> Iterator[list]:
    with path.open("rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


def _split(paths: dict[str, Path], partitions: int, folder: Path) -> tuple[dict, int, list[Problem]]:
    headers: dict[str, tuple[str, list[str]]] = {}
    problems: list[Problem] = []
    streams = {}
    for kind in KINDS:
        try:
            name, header, rows = _rows(paths[kind])
        except ProblemsFound as found:
            problems.extend(found.problems)
            continue
        headers[kind] = (name, header)
        streams[kind] = rows
    if problems:
        raise ProblemsFound(problems)
    claim_count = 0
    duplicated: set[str] = set()
    for kind in KINDS:
        name, header = headers[kind]
        position = header_positions(Table(name, header, []), kind).get("member_id")
        spill = _Spill(folder, kind, partitions)
        id_position = header_positions(Table(name, header, []), kind).get("claim_id") if kind == "claims" else None
        seen: set[str] = set()
        for number, cells in streams[kind]:
            member = cells[position] if position is not None and position < len(cells) else ""
            partition = _partition_of(member, partitions)
            spill.add(partition, (number, cells))
            if kind == "claims":
                claim_count += 1
                if id_position is not None and id_position < len(cells):
                    claim_id = str(cells[id_position]).strip()
                    if claim_id in seen:
                        duplicated.add(claim_id)
                    else:
                        seen.add(claim_id)
        spill.close()
        del seen
    if duplicated:
        problems.extend(_duplicated_claims(paths["claims"], headers["claims"], duplicated))
    return headers, claim_count, problems


def _partition_of(member: Any, partitions: int) -> int:
    """The partition of a member id as the cell says it (the same id in every file lands together)."""
    return zlib.crc32(str(member if member is not None else "").strip().encode()) % partitions


def _duplicated_claims(path: Path, header: tuple[str, list[str]], duplicated: set[str]) -> list[Problem]:
    """Intake's own messages for claim ids given twice, from just the rows that carry them."""
    name, columns = header
    position = header_positions(Table(name, columns, []), "claims")["claim_id"]
    _, _, rows = _rows(path)
    carrying = [(n, cells) for n, cells in rows
                if position < len(cells) and str(cells[position]).strip() in duplicated]
    return duplicated_claims(Table(name, columns, carrying))


# 2. check ------------------------------------------------------------------------------------------------

def _check(policy: Policy, headers: dict, partitions: int, folder: Path,
           today: date | None) -> list[Problem]:
    problems: list[Problem] = []
    for index in range(partitions):
        tables = {kind: Table(headers[kind][0], headers[kind][1],
                              [row for chunk in _chunks(folder / f"{kind}-{index}.rows") for row in chunk])
                  for kind in KINDS}
        for kind in KINDS:
            (folder / f"{kind}-{index}.rows").unlink()
        try:
            inputs = check_tables(policy, tables, today)
        except ProblemsFound as found:
            problems.extend(found.problems)
            continue
        del tables
        if problems:
            continue  # keep checking the other partitions for their problems, calculate nothing
        with (folder / f"inputs-{index}.pickle").open("wb") as handle:
            pickle.dump((inputs.members, inputs.enrollments, inputs.claims), handle, pickle.HIGHEST_PROTOCOL)
        invoices = sorted((c.invoice_no, c.discharge_date, c.claim_id) for c in inputs.claims if c.invoice_no)
        with (folder / f"invoices-{index}.pickle").open("wb") as handle:
            pickle.dump(invoices, handle, pickle.HIGHEST_PROTOCOL)
    return problems


def _once(problems: list[Problem]) -> list[Problem]:
    """Each problem once (a header problem is found in every partition); ``ProblemsFound`` orders them by
    file and row, as for an in-memory run."""
    return list(dict.fromkeys(problems))


# 3. duplicate invoices -----------------------------------------------------------------------------------

def _first_holders(partitions: int, folder: Path) -> dict[str, str]:
    """Invoice → the claim that carries it first in evaluation order, for invoices carried more than once."""
    def entries(index: int) -> Iterator[tuple]:
        path = folder / f"invoices-{index}.pickle"
        with path.open("rb") as handle:
            items = pickle.load(handle)
        path.unlink()
        yield from items

    holders: dict[str, str] = {}
    previous = None
    for invoice, discharge, claim_id in heapq.merge(*(entries(i) for i in range(partitions))):
        if previous is not None and previous[0] == invoice:
            holders.setdefault(invoice, previous[2])  # the first of the invoice's (discharge, claim id)
        previous = (invoice, discharge, claim_id)
    return holders


# 4. calculate --------------------------------------------------------------------------------------------

def _calculate_partition(policy: Policy, index: int, holders: dict[str, str], folder: Path) -> None:
    path = folder / f"inputs-{index}.pickle"
    with path.open("rb") as handle:
        members, enrollments, claims = pickle.load(handle)
    path.unlink()
    result = calculate(policy, members, enrollments, claims, Ledger(invoices=dict(holders)), explain=False)
    del members, enrollments, claims
    with (folder / f"lines-{index}.rows").open("wb") as handle:
        for start in range(0, len(result.lines), FLUSH_ROWS):
            pickle.dump([contract_row(line) for line in result.lines[start:start + FLUSH_ROWS]], handle,
                        pickle.HIGHEST_PROTOCOL)


# 5. merge ------------------------------------------------------------------------------------------------

def _merge_into(out: IO[str], partitions: int, folder: Path) -> tuple[int, int, Decimal]:
    def rows(index: int) -> Iterator[list[str]]:
        for chunk in _chunks(folder / f"lines-{index}.rows"):
            yield from chunk

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    lines, paid_claims, total, last_paid = 0, 0, Decimal("0.00"), None
    for row in heapq.merge(*(rows(i) for i in range(partitions)), key=lambda r: r[0]):
        writer.writerow(row)
        lines += 1
        if row[5] != "0.00":
            total += Decimal(row[5])
            if row[0] != last_paid:
                paid_claims, last_paid = paid_claims + 1, row[0]
    return lines, paid_claims, total
