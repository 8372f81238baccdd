"""Running over hundreds of thousands of records: the cyclic garbage collector paused (it rescans every
new object again and again; ~4 s of reading 200,000 claims' files), and member-partitioned workers."""

from __future__ import annotations

import gc
import heapq
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from datetime import date
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
