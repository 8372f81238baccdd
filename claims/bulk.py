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
from typing import Any

from claims.engine import Claim, Enrollment, Ledger, Member, ResultLine, calculate, evaluation_order
from claims.engine.plan import Plan
from claims.intake import Share, read_inputs
from claims.intake.tables import read_table
from claims.policy.schema import Policy
from claims.problems import ProblemsFound


@contextmanager
def collector_paused():
    """Our records hold no reference cycles; reference counting frees them. Collect once at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect()


def calculate_files(policy: Policy, members: Path, enrollments: Path, claims: Path, today: date | None,
                    workers: int, render: Callable[[ResultLine], Any]) -> tuple[list, Ledger, int]:
    """``claims calculate`` from the three files: (rendered rows in output order, ledger after, claims).

    With several workers each process reads the files, validates and calculates only its share of the
    members (``Share``), and checks what crosses shares — member references, duplicated claim ids, each
    invoice's first holder — against the whole files. The figures are the same to the fen as one process."""
    if workers <= 1 or not hasattr(os, "fork"):
        inputs = read_inputs(policy, members, enrollments, claims, today)
        result = calculate(policy, inputs.members, inputs.enrollments, inputs.claims)
        return [render(line) for line in result.lines], result.ledger, len(inputs.claims)
    for path in (members, enrollments, claims):
        read_table(path) if not Path(path).exists() else None  # a missing file: one message, not one per worker
    Plan(policy)
    _JOB.update(policy=policy, paths=(members, enrollments, claims), today=today, workers=workers, render=render)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_run_share, range(workers))
    finally:
        _JOB.clear()
    problems = [p for part in parts if part[0] == "problems" for p in part[1]]
    if problems:
        raise ProblemsFound(problems)
    rows = [row for _, _, row in heapq.merge(*(part[1] for part in parts), key=lambda r: (r[0], r[1]))]
    ledger = Ledger(invoices=parts[0][3])
    for part in parts:
        ledger.periods.update(part[2].periods)
        ledger.lifetime_lump.update(part[2].lifetime_lump)
    return rows, ledger, sum(part[4] for part in parts)


def _run_share(index: int):
    job = _JOB
    try:
        with collector_paused():
            inputs = read_inputs(job["policy"], *job["paths"], job["today"], Share(index, job["workers"]))
            holders = inputs.invoice_holders
            result = calculate(job["policy"], inputs.members, inputs.enrollments, inputs.claims,
                               Ledger(invoices=dict(holders)))
            render = job["render"]
            rows = [(line.claim_id, line.order, render(line)) for line in result.lines]
    except ProblemsFound as found:
        return ("problems", found.problems)
    result.ledger.invoices = {}
    return ("rows", rows, result.ledger, holders, len(inputs.claims))


def invoice_holders(policy: Policy, claims: Iterable[Claim], ledger: Ledger) -> dict[str, str]:
    """Each invoice number's first holder, in evaluation order after the ledger: what makes a claim a
    duplicate, settled for everyone before the members are split between workers."""
    holders = dict(ledger.invoices)
    for claim in sorted(claims, key=evaluation_order):
        if claim.invoice_no:
            holders.setdefault(claim.invoice_no, claim.claim_id)
    return holders


_JOB: dict = {}


def _run_partition(index: int) -> tuple[list, Ledger]:
    job = _JOB
    workers = job["workers"]
    mine = {m for m in job["members"] if _partition(m, workers) == index}
    ledger = Ledger(
        periods={k: v for k, v in job["ledger"].periods.items() if k[0] in mine},
        lifetime_lump={m: s for m, s in job["ledger"].lifetime_lump.items() if m in mine},
        invoices=job["holders"],
    )
    result = calculate(job["policy"], {m: job["members"][m] for m in mine},
                       [e for e in job["enrollments"] if e.member_id in mine],
                       [c for c in job["claims"] if c.member_id in mine], ledger)
    render = job["render"]
    result.ledger.invoices = {}  # the parent rebuilds them; no need to send them back
    return [(line.claim_id, line.order, render(line)) for line in result.lines], result.ledger


def _partition(member_id: str, workers: int) -> int:
    return sum(member_id.encode()) % workers


def calculate_rendered(policy: Policy, members: Mapping[str, Member], enrollments: list[Enrollment],
                       claims: list[Claim], ledger: Ledger | None, workers: int,
                       render: Callable[[ResultLine], Any]) -> tuple[list, Ledger]:
    """``calculate``, with each result line turned by ``render`` into what the caller keeps (a CSV row, a
    database row): the same figures to the fen, computed by ``workers`` processes that each own a share
    of the members. Partitions are forked from this process, so the inputs are not copied out, and only
    rendered rows come back."""
    ledger = ledger or Ledger()
    if workers <= 1 or len(claims) < 2 * workers or not hasattr(os, "fork"):
        result = calculate(policy, members, enrollments, claims, ledger)
        return [render(line) for line in result.lines], result.ledger
    Plan(policy)
    _JOB.update(policy=policy, members=dict(members), enrollments=enrollments, claims=claims, ledger=ledger,
                holders=invoice_holders(policy, claims, ledger), workers=workers, render=render)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_run_partition, range(workers))
    finally:
        _JOB.clear()
    rows = [row for _, _, row in heapq.merge(*(part for part, _ in parts), key=lambda r: (r[0], r[1]))]
    merged = Ledger(invoices=dict(ledger.invoices))
    for _, part_ledger in parts:
        merged.periods.update(part_ledger.periods)
        merged.lifetime_lump.update(part_ledger.lifetime_lump)
    for claim in sorted(claims, key=evaluation_order):
        merged.register_invoice(claim.invoice_no, claim.claim_id)
    return rows, merged
