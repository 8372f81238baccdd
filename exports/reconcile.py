"""The reconciliation workbook: what was sent = succeeded + failed, and the 待重新发放 sheet."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from claims.money import from_fen
from claims.store.models import MemberRow
from claims.workflow.bank import Reconciled, outstanding_failures
from exports.safety import atomic_output, text_cell

MONEY = "#,##0.00"


def write_reconciliation(session: Session, done: Reconciled, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    summary.title = "对账汇总"
    rows = [["项目", "笔数", "金额（元）"],
            ["发出", len(done.sent), done.total(done.sent)],
            ["成功", len(done.succeeded), done.total(done.succeeded)],
            ["失败（待重新发放）", len(done.failed), done.total(done.failed)]]
    for row in rows:
        summary.append(_texts(summary, row) if row[0] == "项目" else row)
    summary["A6"] = "发出 = 成功 + 失败，到分核对一致。"
    for cell in summary[1]:
        cell.font = Font(bold=True)
    for cell in summary["C"][1:4]:
        cell.number_format = MONEY
    summary.column_dimensions["A"].width = 22
    summary.column_dimensions["C"].width = 16

    header = ["会员编号", "户名", "单位", "账号（发出时）", "开户行", "金额（元）", "申请编号", "银行文件", "原因",
              "现账号", "账号已更正"]
    ok = book.create_sheet("成功")
    ok.append(header[:9])
    for t in done.succeeded:
        ok.append(_texts(ok, [t.member_id, t.name, "", t.account, t.bank_name, from_fen(t.amount_fen),
                                  "、".join(json.loads(t.claim_ids)), f"第 {t.file_no} 号", ""]))
    waiting = book.create_sheet("待重新发放")
    waiting.append(header)
    failed = outstanding_failures(session, done.batch.id)
    members = {m.member_id: m for m in session.scalars(select(MemberRow).where(
        MemberRow.member_id.in_({t.member_id for t in failed})))}
    for t in failed:
        member = members.get(t.member_id)
        current = "".join((member.bank_account if member else "").split())
        waiting.append(_texts(waiting, [t.member_id, t.name, member.unit if member else "", t.account, t.bank_name,
                                            from_fen(t.amount_fen), "、".join(json.loads(t.claim_ids)),
                                            f"第 {t.file_no} 号", t.reason, current,
                                            "是（下个银行文件发放）" if current and current != t.account else "否（请更正账号）"]))
    for sheet in (ok, waiting):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in sheet.iter_rows(min_row=2, min_col=6, max_col=6):
            row[0].number_format = MONEY
        sheet.freeze_panes = "A2"
        for letter, width in zip("ABCDEFGHIJK", (12, 10, 24, 24, 22, 14, 20, 10, 28, 24, 22), strict=True):
            sheet.column_dimensions[letter].width = width
    with atomic_output(out, suffix=".xlsx") as temporary:
        book.save(temporary)


def _texts(sheet, values) -> list:
    """A row whose strings are stored as text, never as a formula (the shared exports.safety rule)."""
    return [text_cell(sheet, value) for value in values]
