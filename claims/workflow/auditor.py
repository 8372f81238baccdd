"""What the auditor's pages call: the same re-run, log check, bundle and access list as ``claims audit …``,
each behind the auditor's role (``audit_access``). Nothing here changes business data; the bundle and the
access list only add to the access log and the audit log, as their CLI commands do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from claims.audit.bundle import BundleWritten, bundle_batch
from claims.audit.rerun import RerunReport, rerun, snapshot_of_batch
from claims.engine.reasons import Reason
from claims.workflow.access import access_count, access_records, access_rows
from claims.workflow.audit_log import Break, Head, verify_with_head
from claims.workflow.batches import get_batch, policy_of
from claims.workflow.users import require
from claims.workflow.views import batch_rows


def auditor_batches(session: Session, user: str) -> list[dict]:
    require(session, user, "audit_access")
    return batch_rows(session, user)


@dataclass
class Rerun:
    report: RerunReport
    differences: list[dict[str, str]]  # as the page shows them: the policy's names, reasons in words


def rerun_batch(session: Session, batch_id: int, user: str) -> Rerun:
    """``claims audit rerun BATCH``: the batch recomputed from its snapshot and compared line by line."""
    require(session, user, "audit_access")
    report = rerun(snapshot_of_batch(session, batch_id, user))
    policy = policy_of(get_batch(session, batch_id)).policy
    items = {i.code: i.name for i in policy.items}
    benefits = {(i.code, b.code): b.name for i in policy.items for b in i.benefits}
    return Rerun(report, [{"claim_id": d.claim_id, "item": items.get(d.item, d.item) if d.item else "（整件）",
                           "benefit": benefits.get((d.item, d.benefit), d.benefit) if d.benefit else "—",
                           "stored": _in_words(d.stored), "recomputed": _in_words(d.recomputed), "why": d.why}
                          for d in report.differences])


def _in_words(result: str) -> str:
    """"8500.00 CAPPED" → "8500.00（已达封顶……）": a reason code as the letters word it."""
    amount, _, code = result.partition(" ")
    if code in Reason.__members__:
        return f"{amount}（{Reason(code).text}）"
    return result


def verify_log(session: Session, user: str) -> tuple[int, list[Break], Head]:
    """``claims audit verify-log``: the audit log's chain checked end to end."""
    require(session, user, "audit_access")
    return verify_with_head(session)


def auditor_bundle(session: Session, batch_id: int, out: Path, user: str) -> BundleWritten:
    """``claims audit bundle``: the batch as an offline re-run bundle (zip)."""
    require(session, user, "audit_access")
    return bundle_batch(session, batch_id, out, user)


def access_list(session: Session, user: str, member_id: str | None, newest: int = 500) -> tuple[int, list[tuple]]:
    """``claims audit access``: who viewed whose personal data, the newest ``newest`` first; and how many in all."""
    records = access_records(session, user, member_id or None, newest)
    return access_count(session, member_id or None), access_rows(records)
