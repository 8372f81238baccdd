"""The recovery list (追回清单): what corrections and re-evaluations found overpaid, to collect, until each
recovery is recorded as recovered (``claims correction recovered``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from claims.money import ZERO, from_fen
from claims.workflow.errors import Refusal
from claims.workflow.payouts import record_recoveries, recoveries

HEADER = ["追回编号", "更正批次", "申请编号", "会员编号", "姓名", "单位", "保障项目", "保障责任", "原金额（元）",
          "更正后金额（元）", "应追回（元）"]


def export_recoveries(session: Session, batch_id: int | None, out: Path, user: str) -> tuple[int, Decimal]:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows = recoveries(session, batch_id, user)
    if not rows:
        raise Refusal("NOTHING_TO_RECOVER", "没有待追回的金额" + (f"（批次 {batch_id}）" if batch_id else ""))
    book = Workbook()
    sheet = book.active
    sheet.title = "追回清单"
    sheet.append(HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    total = ZERO
    for adjustment, member in rows:
        amount = from_fen(adjustment.before_fen - adjustment.after_fen)
        total += amount
        sheet.append([adjustment.id, adjustment.batch_id, adjustment.claim_id, member.member_id, _text(member.name),
                      _text(member.unit), adjustment.item, adjustment.benefit, from_fen(adjustment.before_fen),
                      from_fen(adjustment.after_fen), amount])
        for column in (9, 10, 11):
            sheet.cell(sheet.max_row, column).number_format = "#,##0.00"
    sheet.append(["合计", None, None, None, None, None, None, None, None, None, total])
    sheet.cell(sheet.max_row, 11).number_format = "#,##0.00"
    sheet.freeze_panes = "A2"
    book.save(out)
    record_recoveries(session, batch_id, rows, out, user, total)
    return len(rows), total


def _text(value: str) -> str:
    """Text from outside is written as text, never as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


