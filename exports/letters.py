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
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from claims.engine.explain import stored_step_text
from claims.engine.reasons import Reason
from claims.money import ZERO
from claims.policy.schema import EVENT_TYPE_NAMES
from claims.workflow.payouts import Balances, PayoutClaim, PayoutData, mask_id
from exports.fonts import FontChoice, choose_font
from exports.rmb import uppercase_rmb
from exports.safety import atomic_output
from exports.words import beijing_today, break_lines, cn_date, cn_dates_in, level_name

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
        for style in (self.issuer, self.title, self.body, self.small, self.cell, self.right, self.sign):
            style.widths = {}  # measured words (``_p``): these styles' font, for one run of letters


BODY_WIDTH = A4[0] - 40 * mm - 12  # the frame less its padding


def _p(text: str, style, width: float = BODY_WIDTH) -> Paragraph:
    """A paragraph broken into lines here (Chinese line-breaking rules: no line starts with closing
    punctuation), so the renderer never has to break it; ``width``: the room it has, in points."""
    font, size, widths = style.fontName, style.fontSize, style.widths

    def measure(word: str) -> float:  # each character's or word's width once per style: they repeat
        found = widths.get(word)
        if found is None:
            found = widths[word] = stringWidth(word, font, size)
        return found

    lines = break_lines(text, measure, width - 1)
    return _Broken("<br/>".join(escape(line) for line in lines), style)


class _Broken(Paragraph):
    """A paragraph whose lines ``_p`` has already broken (``<br/>`` between them): laid out line by line as they
    are. Without this, reportlab's CJK wrapping splits a paragraph of several lines into one fragment per
    character, measures and merges them again — most of the time of a run of letters. Each line is drawn as the
    same text (the parsed fragments', spaces collapsed as reportlab collapses them) at the same place (the first
    baseline a font size below the top, ``rl_config.paraFontSizeHeightOffset``; the lines a leading apart;
    aligned by the room left on the line). A one-line paragraph, a line that would not fit the width it is
    given, fragments of another font or with links, and a paragraph split across pages (and its parts) go
    through reportlab's own breaking."""

    own = False  # reportlab's own breaking: once it is split, or asked to split, across pages

    def split(self, availWidth, availHeight):
        self.own = True  # split as reportlab splits its own lines, and the parts laid out as it lays them out
        if hasattr(self, "blPara"):
            del self.blPara
        parts = super().split(availWidth, availHeight)
        for part in parts:
            part.own = True
        return parts

    def breakLinesCJK(self, maxWidths):
        frags, style = self.frags, self.style
        if self.own or len(frags) < 2 or getattr(self, "_splitpara", 0) or self.bulletText:
            return super().breakLinesCJK(maxWidths)
        font, size = style.fontName, style.fontSize
        texts: list[list[str]] = [[]]
        for frag in frags:
            if getattr(frag, "lineBreak", False):
                texts.append([])
            elif frag.fontName != font or frag.fontSize != size or getattr(frag, "cbDefn", None) \
                    or getattr(frag, "link", None) or getattr(frag, "us_lines", None):
                return super().breakLinesCJK(maxWidths)
            else:
                texts[-1].append(frag.text)
        widths = maxWidths if isinstance(maxWidths, list | tuple) else [maxWidths]
        lines = []
        for number, parts in enumerate(texts):
            line = "".join(parts)
            room = widths[min(number, len(widths) - 1)]
            used = stringWidth(line, font, size)
            if used > room:
                return super().breakLinesCJK(maxWidths)
            lines.append((room - used, [line]))
        self.height = 0
        ascent, descent = getAscentDescent(font, size)
        return frags[0].clone(kind=0, lines=lines, ascent=ascent, descent=descent)  # as one fragment's


def _in_cell(text: str, style, column: float) -> Paragraph:
    return _p(text, style, column - 12)  # a table cell's padding: 6 points each side


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
             _p(f"通知编号：{batch.id}-{row.claim_id}　　通知日期：{cn_date(issued)}", styles.small),
             Spacer(1, 4 * mm), _p(f"{member.name} 同志：", styles.body)]
    stay = (f"{cn_date(row.admission_date)}至{cn_date(row.discharge_date)}住院"
            if row.event_type == "inpatient" else f"{cn_date(row.admission_date)}规定病种门诊就医")
    verdict = "已审核办结，补助结果如下：" if row.state in ("approved", "paid") else "经审核，不予补助。"
    story.append(_p(f"您因{stay}（申请编号 {row.claim_id}）向{policy.scheme.name}提出的补助申请，{verdict}", styles.body))
    story.append(Spacer(1, 3 * mm))
    story.append(_grid([["姓名", "会员编号", "身份证号", "单位"],
                        [member.name, member.member_id, mask_id(member.id_number), _in_cell(member.unit, styles.cell, width * 0.40)]],
                       [width * 0.15, width * 0.17, width * 0.28, width * 0.40], styles))
    story.append(Spacer(1, 2 * mm))
    story.append(_grid([["类别", "就医日期", "医院等级", "诊断编码", "手术编码"],
                        [EVENT_TYPE_NAMES[row.event_type],
                         _in_cell(f"{cn_date(row.admission_date)}至{cn_date(row.discharge_date)}", styles.cell, width * 0.30),
                         level_name(row.hospital_level), _in_cell(row.diagnoses.replace(";", "、"), styles.cell, width * 0.22),
                         _in_cell(row.procedures.replace(";", "、") or "无", styles.cell, width * 0.22)]],
                       [width * 0.14, width * 0.30, width * 0.12, width * 0.22, width * 0.22], styles))
    story.append(Spacer(1, 3 * mm))
    if row.state == "refused":
        story.append(_p(f"不予补助的理由：{row.decision_note or '见审核意见'}", styles.body))
    lines = [["保障项目", "补助项目", "金额（元）", "计算说明"]]
    for line in claim.lines:
        text = "".join(stored_step_text(step) for step in line.explanation["steps"])
        if line.reason and Reason(line.reason).text not in text:
            text += Reason(line.reason).text + "。"
        lines.append([_in_cell(names.get(line.item, "整件申请"), styles.cell, width * 0.18),
                      _in_cell(benefit_names.get(line.benefit, "（整件）"), styles.cell, width * 0.16),
                      _yuan(line.amount) if row.state != "refused" else "0.00",
                      _in_cell(cn_dates_in(text), styles.cell, width * 0.53)])
    story.append(_grid(lines, [width * 0.18, width * 0.16, width * 0.13, width * 0.53], styles, right_column=2))
    total = claim.total if row.state != "refused" else ZERO
    closing = [Spacer(1, 3 * mm),
               _p(f"本次补助合计：¥{_yuan(total)} 元（人民币大写：{uppercase_rmb(total)}）", styles.body)]
    if total > 0:
        if member.bank_account:
            closing.append(_p(f"补助款将转入您在{member.bank_name or '开户银行'}开立的账户（尾号 {member.bank_account[-4:]}）。",
                              styles.body))
        else:
            closing.append(_p("我们还没有您的银行账号，请尽快通过所在基层工会提供，补助款将在收到账号后发放。", styles.body))
    if balances:
        closing.append(Spacer(1, 3 * mm))
        closing.append(_p(f"截至本通知，您 {batch.period} 年度各保障项目的剩余补助额度：", styles.body))
        closing.append(_grid([["保障项目", "本期最高补助（元）", "剩余额度（元）"]] +
                             [[name, _yuan(cap), _yuan(left)] for name, cap, left in balances],
                             [width * 0.5, width * 0.25, width * 0.25], styles, right_from=1))
    closing.append(Spacer(1, 4 * mm))
    if policy.scheme.contact:
        closing.append(_p(policy.scheme.contact, styles.small))
    closing.append(_p(service_center(policy.scheme), styles.small))
    closing.append(_p("补助依据：" + policy.scheme.source, styles.small))
    closing.append(Spacer(1, 6 * mm))
    closing += [_p(policy.scheme.issuer, styles.sign), _p(cn_date(issued), styles.sign)]
    # the total, the balances, how to query and the signature stay together: never a page of signature alone
    story.append(KeepTogether(closing))
    return story


def service_center(scheme) -> str:
    """The service center's telephone and address, from the policy (scheme.telephone, scheme.address)."""
    parts = []
    if scheme.telephone:
        parts.append(f"咨询电话：{scheme.telephone}")
    if scheme.address:
        parts.append(f"地址：{scheme.address}")
    return "　".join(parts) if parts else "咨询：请向所在基层工会询问服务中心的电话和地址。"


class _LetterStart(Flowable):
    """Marks, on the canvas, the page where a letter begins (drawn first on that page)."""

    width = height = 0

    def wrap(self, available_width, available_height):
        return 0, 0

    def draw(self):
        self.canv.letter_starts.add(self.canv.getPageNumber())


class _LetterCanvas(Canvas):
    """Holds back the pages of one letter until the next letter begins, then numbers them
    第 i 页，共 n 页 — per letter, with only one letter's pages in memory at a time."""

    def __init__(self, *args, footer: Callable[[Canvas, int, int], None], **kwargs):
        super().__init__(*args, **kwargs)
        self.letter_starts: set[int] = set()
        self.pending: list[dict] = []
        self.footer = footer
        self.counts = {"pages": 0}  # a shared object: page states are swapped in and out of __dict__

    def showPage(self):
        state = dict(self.__dict__)
        if self.getPageNumber() in self.letter_starts and self.pending:
            self._flush()  # the pages held back are one whole letter
        self.pending.append(state)
        self.__dict__.update(state)
        self._startPage()

    def _flush(self):
        held = list(self.pending)
        self.pending.clear()
        for number, state in enumerate(held, start=1):
            self.__dict__.update(state)
            self.footer(self, number, len(held))
            Canvas.showPage(self)
            self.counts["pages"] += 1

    def save(self):
        if self.pending:
            self._flush()
        Canvas.save(self)


def write_letters(data: PayoutData, claims: Iterable[PayoutClaim], balances: Balances, out: str | Path,
                  issued: date | None = None, step: Callable[[], None] = lambda: None) -> int:
    """One PDF holding a letter per claim, in the order given (callers group by unit). Returns pages.
    Each letter's pages are numbered on their own (第 1 页，共 2 页)."""
    font = choose_font()
    styles = LetterStyles(font)
    issued = issued or beijing_today()
    story: list = []
    for index, claim in enumerate(claims):
        if index:
            story.append(PageBreak())
        story.append(_LetterStart())
        story.extend(letter_story(claim, data, balances.of(claim.member.member_id, data.batch.period), styles, issued))
        step()

    def footer(canvas: Canvas, number: int, of: int) -> None:
        canvas.saveState()
        canvas.setFont(font.name, 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm,
                                 f"{data.policy.scheme.name} · 批次 {data.batch.id} · 第 {number} 页，共 {of} 页")
        canvas.restoreState()

    canvases: list[_LetterCanvas] = []

    def make_canvas(*args, **kwargs):
        canvases.append(_LetterCanvas(*args, footer=footer, **kwargs))
        return canvases[-1]

    with atomic_output(out) as temporary:
        document = SimpleDocTemplate(str(temporary), pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                                     topMargin=18 * mm, bottomMargin=18 * mm, title=TITLE,
                                     author=data.policy.scheme.issuer, subject=f"批次 {data.batch.id}")
        document.build(story, canvasmaker=make_canvas)
    return canvases[-1].counts["pages"] if canvases else 0
