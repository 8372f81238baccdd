"""Running over hundreds of thousands of records: the cyclic garbage collector paused (it rescans every
new object again and again; ~4 s of reading 200,000 claims' files), member-partitioned workers, and the
contract CSV of ``claims calculate`` written by them."""

from __future__ import annotations

import gc
import heapq
import io
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from claims.engine import Claim, Enrollment, Ledger, Member, ResultLine, calculate, evaluation_order
from claims.engine.plan import Plan
from claims.intake import Share, read_inputs
from claims.policy.schema import Policy


@contextmanager
def collector_paused(collect: bool = True):
    """Our records hold no reference cycles; reference counting frees them. Collect once at the end
    (``collect=False`` when the process ends right after: a full collection of millions of objects costs
    about a second and frees nothing that reference counting would not)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            if collect:
                gc.collect()


def calculate_files(policy: Policy, members: Path, enrollments: Path, claims: Path, today: date | None,
                    workers: int, render: Callable[[ResultLine], Any],
                    explain: bool = True) -> tuple[list, Ledger, int]:
    """``claims calculate`` from the three files: (rendered rows in output order, ledger after, claims).

    The files are read and validated once, here; with several workers the members are then split between
    forked processes (``calculate_rendered``), each invoice's first holder settled for everyone before the
    split. The figures are the same to the fen as one process, the rows byte for byte. ``explain=False``
    when ``render`` needs no explanation (the contract CSV)."""
    inputs = read_inputs(policy, members, enrollments, claims, today)
    rows, ledger = calculate_rendered(policy, inputs.members, inputs.enrollments, inputs.claims, None, workers,
                                      render, explain)
    return rows, ledger, len(inputs.claims)


class _ShareResult(NamedTuple):
    """What one worker sends back: its rendered rows (keyed for the merge) and ledger."""

    rows: list
    ledger: Ledger


def _merge(parts: list[_ShareResult], holders: dict[str, str]) -> tuple[list, Ledger]:
    """The workers' rows in output order (claim id, then policy order) and their ledgers joined; members
    are disjoint between shares, and every invoice's holder was settled before the split."""
    rows = [row for _, _, row in heapq.merge(*(part.rows for part in parts), key=lambda r: (r[0], r[1]))]
    ledger = Ledger(invoices=dict(holders))
    for part in parts:
        ledger.periods.update(part.ledger.periods)
        ledger.lifetime_lump.update(part.ledger.lifetime_lump)
    return rows, ledger


def invoice_holders(claims: Iterable[Claim], ledger: Ledger) -> dict[str, str]:
    """Each invoice number's first holder, in evaluation order after the ledger: what makes a claim a
    duplicate, settled for everyone before the members are split between workers."""
    holders = dict(ledger.invoices)
    for claim in sorted(claims, key=evaluation_order):
        if claim.invoice_no:
            holders.setdefault(claim.invoice_no, claim.claim_id)
    return holders


_JOB: dict = {}


def _run_partition(index: int) -> _ShareResult:
    job = _JOB
    share = Share(index, job["workers"])
    mine = {m for m in job["members"] if share.owns(m)}
    ledger = Ledger(
        periods={k: v for k, v in job["ledger"].periods.items() if k[0] in mine},
        lifetime_lump={m: s for m, s in job["ledger"].lifetime_lump.items() if m in mine},
        invoices=job["holders"],
    )
    result = calculate(job["policy"], {m: job["members"][m] for m in mine},
                       [e for e in job["enrollments"] if e.member_id in mine],
                       [c for c in job["claims"] if c.member_id in mine], ledger, job["explain"])
    rows = [(line.claim_id, line.order, job["render"](line)) for line in result.lines]
    result.ledger.invoices = {}  # the parent has them all already; no need to send them back
    return _ShareResult(rows, result.ledger)


def calculate_rendered(policy: Policy, members: Mapping[str, Member], enrollments: list[Enrollment],
                       claims: list[Claim], ledger: Ledger | None, workers: int,
                       render: Callable[[ResultLine], Any], explain: bool = True) -> tuple[list, Ledger]:
    """``calculate``, with each result line turned by ``render`` into what the caller keeps (a CSV row, a
    database row): the same figures to the fen, computed by ``workers`` processes that each own a share
    of the members. Partitions are forked from this process, so the inputs are not copied out, and only
    rendered rows come back."""
    ledger = ledger or Ledger()
    if workers <= 1 or len(claims) < 2 * workers or not hasattr(os, "fork"):
        result = calculate(policy, members, enrollments, claims, ledger, explain)
        return [render(line) for line in result.lines], result.ledger
    Plan(policy)
    holders = invoice_holders(claims, ledger)
    _JOB.update(policy=policy, members=dict(members), enrollments=enrollments, claims=claims, ledger=ledger,
                holders=holders, workers=workers, render=render, explain=explain)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_run_partition, range(workers))
    finally:
        _JOB.clear()
    return _merge(parts, holders)


class ContractCsv(NamedTuple):
    """The contract CSV of ``claims calculate`` (header and rows, in output order) and what its summary says."""

    text: str
    claims: int
    lines: int
    paid_claims: int
    total: Decimal


def calculate_csv(policy: Policy, members: Path, enrollments: Path, claims: Path, today: date | None,
                  workers: int) -> ContractCsv:
    """``claims calculate --format csv``: the same bytes whatever the number of workers.

    With several workers, the other processes are forked first, before this process has started polars'
    threads (a forked child cannot use them). This process then proves the files valid (columnar intake),
    settles each shared invoice's first holder and sends every other worker its share of the proved
    columns; each worker — this process included — builds its own share's records, calculates them and
    writes its rows as CSV text; the texts are merged by claim id. So building records runs in parallel
    too, and a worker's objects are its own rather than copy-on-write pages of this process. When the
    columnar intake declines, the files are read row by row here (which words every problem) and
    calculated as ``calculate_files`` does."""
    from claims.intake.columnar import first_holders, in_engine_order, prove_inputs, records_of, shares_of
    from exports.lines import contract_row

    others = _forked_pool(policy, workers - 1)
    try:
        proved = prove_inputs(policy, {"members": members, "enrollments": enrollments, "claims": claims}, today)
        if proved is None:
            inputs = read_inputs(policy, members, enrollments, claims, today)
            rows, _ = calculate_rendered(policy, inputs.members, inputs.enrollments, inputs.claims, None, workers,
                                         contract_row, explain=False)
            return _contract_csv(rows, len(inputs.claims))
        proved = in_engine_order(proved)
        if others is None or proved.claims.height < 2 * workers:
            inputs = records_of(proved)
            del proved  # the columns are not needed once the records are built
            result = calculate(policy, inputs.members, inputs.enrollments, inputs.claims, explain=False)
            return _contract_csv([contract_row(line) for line in result.lines], len(inputs.claims))
        mine, *theirs = shares_of(proved, workers)
        holders = first_holders(proved.claims)
        del proved
        pending = others.map_async(_csv_share, [(share, holders) for share in theirs])
        return _merged([_csv_share((mine, holders)), *pending.get()])
    finally:
        if others is not None:
            others.terminate()
            _JOB.clear()


def _merged(parts: list[_CsvShare]) -> ContractCsv:
    """The workers' CSV texts as one, claim by claim in claim id order (each worker's is in that order)."""
    header = parts[0].csv.text[:parts[0].csv.text.index("\n") + 1]
    blocks = heapq.merge(*(_claim_blocks(part) for part in parts))  # claim ids are unique: blocks never compare
    shares = [part.csv for part in parts]
    return ContractCsv(header + "".join(block for _, block in blocks), sum(p.claims for p in shares),
                       sum(p.lines for p in shares), sum(p.paid_claims for p in shares), sum(p.total for p in shares))


def _forked_pool(policy: Policy, processes: int):
    """``processes`` forked workers, or None: none wanted, no fork on this system, or polars already
    started in this process (its thread pool does not survive a fork; the caller then works alone)."""
    import sys

    if processes < 1 or not hasattr(os, "fork") or "polars" in sys.modules:
        return None
    Plan(policy)  # compiled once before the fork: the workers inherit its parsed code patterns
    _JOB.update(policy=policy)
    return multiprocessing.get_context("fork").Pool(processes)


def _contract_csv(rows: list, claims: int) -> ContractCsv:
    """Rows in output order → the CSV text, written by the exports' own writer (the same bytes as a file)."""
    from exports.lines import write_rows

    buffer = io.StringIO()
    total = write_rows(rows, "csv", "-", buffer)
    paid = sum(1 for _ in groupby(row[0] for row in rows if row[5] != "0.00"))
    return ContractCsv(buffer.getvalue(), claims, len(rows), paid, total)


class _CsvShare(NamedTuple):
    """What one worker sends back: its CSV, and per claim in output order its id and number of lines."""

    csv: ContractCsv
    claim_ids: list[str]
    line_counts: list[int]


def _csv_share(job: tuple) -> _CsvShare:
    """One worker: its share's records built from the proved columns, calculated with every shared
    invoice's holder known, and written as CSV text."""
    from claims.intake.columnar import records_of
    from exports.lines import contract_row

    proved, holders = job
    inputs = records_of(proved)
    result = calculate(_JOB["policy"], inputs.members, inputs.enrollments, inputs.claims, Ledger(invoices=holders),
                       explain=False)
    rows = [contract_row(line) for line in result.lines]
    per_claim = [(claim_id, sum(1 for _ in lines)) for claim_id, lines in groupby(rows, itemgetter(0))]
    return _CsvShare(_contract_csv(rows, len(inputs.claims)), [c for c, _ in per_claim], [n for _, n in per_claim])


def _claim_blocks(part: _CsvShare):
    """(claim id, the text of its lines) in the worker's output order."""
    lines = part.csv.text.split("\n")[1:]  # no field holds a line break (ids are proved plain)
    start = 0
    for claim_id, count in zip(part.claim_ids, part.line_counts, strict=True):
        yield claim_id, "\n".join(lines[start:start + count]) + "\n"
        start += count
