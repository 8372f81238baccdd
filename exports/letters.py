"""Notice letters (补助通知书): one A4 letter per decided claim, grouped by unit, in plain Chinese — the
event, every result line with its amount and explanation, the total in figures and in uppercase RMB, the
remaining balance of each item, and how to query or appeal."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from claims.engine.reasons import Reason
from claims.money import ZERO
from claims.policy.schema import EVENT_TYPE_NAMES
from claims.workflow.payouts import Balances, PayoutClaim, PayoutData, mask_id
from exports.fonts import FontChoice, choose_font
from exports.rmb import uppercase_rmb

TITLE = "职工医疗互助保障补助通知书"


@dataclass(frozen=True)
class LetterStyles:
    font: FontChoice

    def __post_init__(self):
        name = self.font.name
        base = dict(fontName=name, wordWrap="CJK")
        object.__setattr__(self, "issuer", ParagraphStyle("issuer", fontSize=12, leading=16, alignment=TA_CENTER, **base))
        object.__setattr__(self, "title", ParagraphStyle("title", fontSize=18, leading=26, alignment=TA_CENTER, **base))
        object.__setattr__(self, "body", ParagraphStyle("body", fontSize=10.5, leading=16, **base))
        object.__setattr__(self, "small", ParagraphStyle("small", fontSize=9, leading=13, **base))
        object.__setattr__(self, "cell", ParagraphStyle("cell", fontSize=9, leading=12, **base))
        object.__setattr__(self, "right", ParagraphStyle("right", fontSize=9.5, leading=12, alignment=TA_RIGHT, **base))
        object.__setattr__(self, "sign", ParagraphStyle("sign", fontSize=10.5, leading=16, alignment=TA_RIGHT, **base))


def _p(text: str, style) -> Paragraph:
    return Paragraph(escape(text), style)


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _grid(data, widths, styles: LetterStyles, header=True, right_from: int | None = None,
          right_column: int | None = None) -> Table:
    """A ruled table; short cells are plain strings in the CJK font, long ones Paragraphs that wrap."""
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    commands = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), styles.font.name), ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDEBF7")))
    if right_from is not None:
        commands.append(("ALIGN", (right_from, 1), (-1, -1), "RIGHT"))
    if right_column is not None:
        commands.append(("ALIGN", (right_column, 1), (right_column, -1), "RIGHT"))
    table.setStyle(TableStyle(commands))
    return table


def letter_story(claim: PayoutClaim, data: PayoutData, balances: list[tuple[str, Decimal, Decimal]],
                 styles: LetterStyles, issued: date) -> list:
    """One letter's flowables. Each letter gets its own: platypus keeps layout state on a flowable, and one
    shared between letters fails when a letter runs onto a second page."""
    policy, batch, member, row = data.policy, data.batch, claim.member, claim.claim
    names = {i.code: i.name for i in policy.items}
    benefit_names = {b.code: b.name for i in policy.items for b in i.benefits}
    width = A4[0] - 40 * mm
    story = [_p(policy.scheme.issuer, styles.issuer), _p(TITLE, styles.title),
             _p(f"通知编号：{batch.id}-{row.claim_id}　　通知日期：{issued:%Y年%m月%d日}", styles.small),
             Spacer(1, 4 * mm), _p(f"{member.name} 同志：", styles.body)]
    stay = (f"{row.admission_date:%Y年%m月%d日}至{row.discharge_date:%Y年%m月%d日}住院"
            if row.event_type == "inpatient" else f"{row.admission_date:%Y年%m月%d日}规定病种门诊就医")
    verdict = "已审核办结，补助结果如下：" if row.state in ("approved", "paid") else "经审核，不予补助。"
    story.append(_p(f"您因{stay}（申请编号 {row.claim_id}）向{policy.scheme.name}提出的补助申请，{verdict}", styles.body))
    story.append(Spacer(1, 3 * mm))
    story.append(_grid([["姓名", "会员编号", "身份证号", "单位"],
                        [member.name, member.member_id, mask_id(member.id_number), _p(member.unit, styles.cell)]],
                       [width * 0.15, width * 0.17, width * 0.28, width * 0.40], styles))
    story.append(Spacer(1, 2 * mm))
    story.append(_grid([["类别", "就医日期", "医院等级", "诊断编码", "手术编码"],
                        [EVENT_TYPE_NAMES[row.event_type], f"{row.admission_date} 至 {row.discharge_date}",
                         f"{row.hospital_level} 级", _p(row.diagnoses.replace(";", "、"), styles.cell),
                         _p(row.procedures.replace(";", "、") or "—", styles.cell)]],
                       [width * 0.14, width * 0.30, width * 0.12, width * 0.22, width * 0.22], styles))
    story.append(Spacer(1, 3 * mm))
    if row.state == "refused":
        story.append(_p(f"不予补助的理由：{row.decision_note or '见审核意见'}", styles.body))
    lines = [["保障项目", "补助项目", "金额（元）", "计算说明"]]
    for line in claim.lines:
        text = "".join(step["text"] for step in line.explanation["steps"])
        if line.reason and Reason(line.reason).text not in text:
            text += Reason(line.reason).text + "。"
        lines.append([_p(names.get(line.item, "整件申请"), styles.cell),
                      _p(benefit_names.get(line.benefit, "—"), styles.cell),
                      _yuan(line.amount) if row.state != "refused" else "0.00", _p(text, styles.cell)])
    story.append(_grid(lines, [width * 0.18, width * 0.16, width * 0.13, width * 0.53], styles, right_column=2))
    total = claim.total if row.state != "refused" else ZERO
    story.append(Spacer(1, 3 * mm))
    story.append(_p(f"本次补助合计：¥{_yuan(total)} 元（人民币大写：{uppercase_rmb(total)}）", styles.body))
    if total > 0:
        if member.bank_account:
            story.append(_p(f"补助款将转入您在{member.bank_name or '开户银行'}开立的账户（尾号 {member.bank_account[-4:]}）。",
                            styles.body))
        else:
            story.append(_p("我们还没有您的银行账号，请尽快通过所在基层工会提供，补助款将在收到账号后发放。", styles.body))
    if balances:
        story.append(Spacer(1, 3 * mm))
        story.append(_p(f"截至本通知，您 {batch.period} 年度各保障项目的剩余补助额度：", styles.body))
        story.append(_grid([["保障项目", "本期最高补助（元）", "剩余额度（元）"]] +
                           [[name, _yuan(cap), _yuan(left)] for name, cap, left in balances],
                           [width * 0.5, width * 0.25, width * 0.25], styles, right_from=1))
    story.append(Spacer(1, 4 * mm))
    if policy.scheme.contact:
        story.append(_p(policy.scheme.contact, styles.small))
    story.append(_p("补助依据：" + policy.scheme.source, styles.small))
    story.append(Spacer(1, 6 * mm))
    story.append(KeepTogether([_p(policy.scheme.issuer, styles.sign), _p(f"{issued:%Y年%m月%d日}", styles.sign)]))
    return story


def write_letters(data: PayoutData, claims: Iterable[PayoutClaim], balances: Balances, out: str | Path,
                  issued: date | None = None, step: Callable[[], None] = lambda: None) -> int:
    """One PDF holding a letter per claim, in the order given (callers group by unit). Returns pages."""
    font = choose_font()
    styles = LetterStyles(font)
    issued = issued or date.today()
    story: list = []
    for index, claim in enumerate(claims):
        if index:
            story.append(PageBreak())
        story.extend(letter_story(claim, data, balances.of(claim.member.member_id, data.batch.period), styles, issued))
        step()
    document = SimpleDocTemplate(str(out), pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                                 bottomMargin=18 * mm, title=TITLE, author=data.policy.scheme.issuer,
                                 subject=f"批次 {data.batch.id}")
    pages = []

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(font.name, 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{data.policy.scheme.name} · 批次 {data.batch.id} · 第 {doc.page} 页")
        canvas.restoreState()
        pages.append(doc.page)

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return len(pages)
