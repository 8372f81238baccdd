"""Content hashes of what a batch calculated with and what it produced, recorded in the audit log when the
batch is created (and when a decision or a correction changes money), so a re-run can compare the stored
rows with what the log recorded at the time — not only with themselves.

``inputs_sha256`` / ``ledger_before_sha256``: SHA-256 of the snapshot as stored (``json.dumps(...,
ensure_ascii=False)``, the same text whether it comes from the database or is re-serialised from a bundle).
``results_sha256``: SHA-256 of the lines as ``[[claim, item, benefit, amount_fen, reason], ...]`` in their
stored order."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def json_sha(data) -> str:
    return sha(json.dumps(data, ensure_ascii=False))


def results_sha(lines: Iterable[tuple[str, str, str, int, str]]) -> str:
    return sha(json.dumps([list(line) for line in lines], ensure_ascii=False, separators=(",", ":")))


def batch_record(inputs_text: str, ledger_text: str, lines: list[tuple[str, str, str, int, str]],
                 policy_sha256: str, claims: int) -> dict:
    """What the audit log records about a batch's money at the moment it is created."""
    return {"inputs_sha256": sha(inputs_text), "ledger_before_sha256": sha(ledger_text),
            "results_sha256": results_sha(lines), "policy_sha256": policy_sha256,
            "total_fen": sum(line[3] for line in lines), "lines": len(lines), "claims": claims}


def line_tuple(row) -> tuple[str, str, str, int, str]:
    """A stored line (a row dict or a ResultLineRow) as hashed."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return (get("claim_id"), get("item"), get("benefit"), int(get("amount_fen")), get("reason") or "")
