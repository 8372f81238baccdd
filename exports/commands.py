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
from claims.workflow.payouts import (
    Balances,
    PayoutClaim,
    decided_units,
    payout_data,
    record_export,
    reexport_path,
)
from exports.progress import Progress

Say = Callable[[str], None]


@dataclass
class Written:
    files: list[Path] = field(default_factory=list)
    count: int = 0
    total: Decimal = Decimal("0.00")
    pages: int = 0
    left_out: list[PayoutClaim] = field(default_factory=list)


def export_payouts(session: Session, batch_id: int, out: Path, user: str, by_unit: bool, say: Say,
                   reexport: bool = False) -> Written:
    from exports.payouts import write_payouts

    data = payout_data(session, batch_id, user, kind="payouts", reexport=reexport, brief=True)
    if not data.claims:
        raise Refusal("NOTHING_APPROVED", f"批次 {batch_id} 没有已通过、未支付且尚未导出的申请，无可导出的发放表"
                                          "（重新导出已导出的内容请加 --reexport）")
    out = reexport_path(out) if reexport else out
    progress = Progress(len(data.claims), "写入发放表")
    figures = write_payouts(data, out, by_unit, step=lambda count: progress.step(min(count, progress.total - progress.done)))
    progress.close()
    record = record_export(session, "payouts", data, out, user, reexport, data.claims, figures["claims"], figures["total"])
    say(f"{'【重新导出，勿重复支付】' if reexport else ''}发放表已写入 {out}：{figures['claims']} 件申请，"
        f"{figures['members']} 人，合计 {figures['total']:,.2f} 元")
    say(f"  导出记录 {record.id}：文件 sha256 {record.file_sha256}")
    record_access(session, user, (c.member.member_id for c in data.claims), "export.payouts", f"批次 {batch_id}，{out.name}")
    if figures["without_account"]:
        say(f"其中 {figures['without_account']} 件（{figures['without_account_total']:,.2f} 元）缺银行账号，"
            "列在“待补银行账号”表中，未列入银行文件")
    return Written([out], figures["claims"], figures["total"])


def export_bank(session: Session, batch_id: int, out: Path, user: str, say: Say, template: str | None = None,
                encoding: str | None = None, reexport: bool = False) -> Written:
    """The batch's next bank file in a template's format: what is approved and not yet sent, plus failed
    transfers whose account was corrected since. Refuses when there is nothing to pay. ``reexport``: send
    again what was sent and not yet answered by the bank (marked in the file name and the record)."""
    from claims.workflow.bank import bank_selection, record_sent
    from exports.bank import load_template, write_bank_file

    chosen = load_template(template)
    selection = bank_selection(session, batch_id, user, reexport)
    if not selection.transfers:
        raise Refusal("NOTHING_TO_PAY", f"批次 {batch_id} 没有可列入银行文件的待付款项" + _why_nothing(selection)
                      + ("；重新导出已发出、尚未回盘的内容请加 --reexport" if selection.in_flight else ""))
    out = reexport_path(out) if reexport else out
    files = write_bank_file(chosen, selection, out, encoding)
    file_no = record_sent(session, selection, chosen.key, user)
    total, rows = selection.total, len(selection.transfers)
    paid = [claim for transfer in selection.transfers for claim in transfer.claims]
    record = record_export(session, "bank", selection.data, files[0], user, reexport, paid, rows, total)
    audit_log.append(session, user, "export.bank", "batch", batch_id,
                     {"files": [f.name for f in files], "file_no": file_no, "template": chosen.key,
                      "encoding": encoding or "", "rows": rows, "total": str(total), "export_id": record.id,
                      "left_out": [c.claim.claim_id for c in selection.without_account],
                      "awaiting_correction": [c.claim.claim_id for c, _ in selection.awaiting_correction]})
    record_access(session, user, (t.member.member_id for t in selection.transfers), "export.bank",
                  f"批次 {batch_id}，{out.name}")
    where = str(out) if len(files) == 1 else f"{len(files)} 个文件（{'、'.join(f.name for f in files)}）"
    say(f"{'【重新导出，勿重复支付】' if reexport else ''}银行文件（{chosen.name}，第 {file_no} 号）已写入 {where}："
        f"{rows} 笔，控制总额 {total:,.2f} 元")
    say(f"  导出记录 {record.id}：文件 sha256 {record.file_sha256}")
    for claim in selection.without_account:
        say(f"  未列入（缺银行账号）：申请 {claim.claim.claim_id} {claim.member.name}（{claim.member.unit}）"
            f" {claim.total:,.2f} 元")
    for claim, failed in selection.awaiting_correction:
        say(f"  未列入（上次转账失败：{failed.reason}，账号尚未更正）：申请 {claim.claim.claim_id} {claim.member.name}"
            f" {claim.total:,.2f} 元")
    return Written(files, rows, total, left_out=selection.without_account)


def _why_nothing(selection) -> str:
    parts = []
    if selection.without_account:
        parts.append(f"{len(selection.without_account)} 件缺银行账号（如 {selection.without_account[0].claim.claim_id}）")
    if selection.awaiting_correction:
        parts.append(f"{len(selection.awaiting_correction)} 件上次转账失败、账号尚未更正")
    if selection.in_flight:
        parts.append(f"{len(selection.in_flight)} 件已在发出的银行文件中、等待银行回盘（请 claims bank reconcile）")
    return "：" + "；".join(parts) if parts else "（没有已通过、未支付的申请）"


def export_letters(session: Session, batch_id: int, out: Path, user: str, split_by: str | None, say: Say,
                   workers: int = 1, unit: str | None = None) -> Written:
    from exports.fonts import choose_font  # reportlab: only letters need it
    from exports.letters import write_letters

    decided = ("approved", "paid", "refused")
    # one grassroots union's letters only: its claims and their lines chosen in SQL, not the whole batch read
    data = payout_data(session, batch_id, user, decided, unit=None if unit is None else unit.strip(), explanations=True)
    if not data.claims and unit is not None:
        units = decided_units(session, batch_id, decided)
        if units:
            raise Refusal("UNIT_UNKNOWN", f"批次 {batch_id} 中没有单位“{unit}”的已决定申请；该批次的单位有："
                          + "、".join(units[:20]) + ("……" if len(units) > 20 else ""))
    if not data.claims:
        raise Refusal("NOTHING_DECIDED", f"批次 {batch_id} 没有已通过或不予补助的申请，无通知书可出")
    if not (data.policy.scheme.telephone and data.policy.scheme.address):
        say("提示：策略文件未写服务中心的电话或地址（scheme.telephone、scheme.address），通知书上只能请会员向基层工会询问")
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
    from exports.letters import write_letters

    path, claims = _LETTERS["jobs"][index]
    return write_letters(_LETTERS["data"], claims, _LETTERS["balances"], path)


def _file_name(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text).strip("_")[:80] or "letters"
