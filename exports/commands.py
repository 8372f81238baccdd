"""One function per export command: read the batch's payout data, write the file, report what was written."""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from claims.workflow import audit_log
from claims.workflow.access import record_access
from claims.workflow.errors import Refusal
from claims.workflow.payouts import Balances, PayoutClaim, payout_data
from exports.bank import write_bank_file
from exports.fonts import choose_font
from exports.letters import write_letters
from exports.payouts import write_payouts
from exports.progress import Progress

Say = Callable[[str], None]


@dataclass
class Written:
    files: list[Path] = field(default_factory=list)
    count: int = 0
    total: Decimal = Decimal("0.00")
    pages: int = 0
    left_out: list[PayoutClaim] = field(default_factory=list)


def export_payouts(session: Session, batch_id: int, out: Path, user: str, by_unit: bool, say: Say) -> Written:
    data = payout_data(session, batch_id, user)
    if not data.claims:
        raise Refusal("NOTHING_APPROVED", f"批次 {batch_id} 没有已通过的申请，无可导出的发放表")
    progress = Progress(len(data.claims), "写入发放表")
    figures = write_payouts(data, out, by_unit, step=progress.step)
    progress.close()
    audit_log.append(session, user, "export.payouts", "batch", batch_id,
                     {"file": out.name, "claims": figures["claims"], "total": str(figures["total"])})
    record_access(session, user, (c.member.member_id for c in data.claims), "export.payouts", f"批次 {batch_id}，{out.name}")
    say(f"发放表已写入 {out}：{figures['claims']} 件申请，{figures['members']} 人，合计 {figures['total']:,.2f} 元")
    if figures["without_account"]:
        say(f"其中 {figures['without_account']} 件（{figures['without_account_total']:,.2f} 元）缺银行账号，"
            "列在“待补银行账号”表中，未列入银行文件")
    return Written([out], figures["claims"], figures["total"])


def export_bank(session: Session, batch_id: int, out: Path, user: str, say: Say) -> Written:
    data = payout_data(session, batch_id, user)
    rows, total, without = write_bank_file(data, out)
    audit_log.append(session, user, "export.bank", "batch", batch_id,
                     {"file": out.name, "rows": rows, "total": str(total), "left_out": [c.claim.claim_id for c in without]})
    record_access(session, user, (c.member.member_id for c in data.claims), "export.bank", f"批次 {batch_id}，{out.name}")
    say(f"银行文件已写入 {out}：{rows} 笔，控制总额 {total:,.2f} 元")
    for claim in without:
        say(f"  未列入（缺银行账号）：申请 {claim.claim.claim_id} {claim.member.name}（{claim.member.unit}）"
            f" {claim.total:,.2f} 元")
    return Written([out], rows, total, left_out=without)


def export_letters(session: Session, batch_id: int, out: Path, user: str, split_by: str | None, say: Say,
                   workers: int = 1) -> Written:
    data = payout_data(session, batch_id, user, ("approved", "paid", "refused"))
    if not data.claims:
        raise Refusal("NOTHING_DECIDED", f"批次 {batch_id} 没有已通过或不予补助的申请，无通知书可出")
    font = choose_font()
    if font.warning:
        say(font.warning)
    balances = Balances(session, data.policy, {c.member.member_id for c in data.claims})
    groups: dict[str, list[PayoutClaim]] = {}
    for claim in data.claims:  # already sorted by unit, member, claim
        key = {"unit": claim.member.unit, "member": f"{claim.member.member_id}-{claim.member.name}"}.get(split_by, "")
        groups.setdefault(key, []).append(claim)
    if split_by:
        out.mkdir(parents=True, exist_ok=True)
    jobs = [(out / f"{_file_name(key)}.pdf" if split_by else out, claims) for key, claims in groups.items()]
    written = Written(files=[path for path, _ in jobs])
    if split_by and workers > 1 and len(jobs) > 1 and hasattr(os, "fork"):
        say(f"生成通知书：{len(jobs)} 个文件，{workers} 个进程…")
        _LETTERS.update(data=data, balances=balances, jobs=jobs)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                written.pages = sum(pool.map(_write_job, range(len(jobs)), chunksize=max(1, len(jobs) // (4 * workers))))
        finally:
            _LETTERS.clear()
    else:
        progress = Progress(len(data.claims), "生成通知书")
        for path, claims in jobs:
            written.pages += write_letters(data, claims, balances, path, step=progress.step)
        progress.close()
    written.count = len(data.claims)
    written.total = sum((c.total for c in data.claims if c.claim.state != "refused"), Decimal("0.00"))
    audit_log.append(session, user, "export.letters", "batch", batch_id,
                     {"files": len(written.files), "letters": written.count, "pages": written.pages})
    record_access(session, user, (c.member.member_id for c in data.claims), "export.letters", f"批次 {batch_id}，{out.name}")
    where = out if not split_by else f"{out}（{len(written.files)} 个文件，按{'单位' if split_by == 'unit' else '会员'}分）"
    say(f"通知书已写入 {where}：{written.count} 份，{written.pages} 页，补助合计 {written.total:,.2f} 元；{font.describe()}")
    return written


_LETTERS: dict = {}


def _write_job(index: int) -> int:
    """In a forked worker: one split file of letters; the pages it wrote."""
    path, claims = _LETTERS["jobs"][index]
    return write_letters(_LETTERS["data"], claims, _LETTERS["balances"], path)


def _file_name(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text).strip("_")[:80] or "letters"
