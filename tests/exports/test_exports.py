"""Payout workbook, bank file, letters and mark-paid, checked by opening the files back."""

from __future__ import annotations

import csv
import shutil
import subprocess
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from claims.store.models import ClaimRow, MemberRow, ResultLineRow
from claims.workflow.errors import Refusal
from claims.workflow.payouts import mark_paid, mask_id
from exports import fonts
from exports.commands import export_bank, export_letters, export_payouts
from exports.rmb import uppercase_rmb
from tests.store.helpers import FINANCE, SCENARIOS, add_users, batch_and_approve, import_folder

FOLDER = SCENARIOS / "hz_bands_caps_stacking"
quiet = lambda message: None  # noqa: E731


@pytest.fixture
def paid_batch(store):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    return batch_and_approve(store, "hangzhou")


def approved_total(store, batch_id) -> Decimal:
    with store.session() as s:
        fen = s.scalar(select(func.sum(ResultLineRow.amount_fen)).join(ClaimRow, ClaimRow.claim_id == ResultLineRow.claim_id)
                       .where(ResultLineRow.batch_id == batch_id, ClaimRow.state == "approved"))
    return Decimal(fen) / 100


def test_payout_workbook_reconciles_with_the_database(store, paid_batch, tmp_path):
    out = tmp_path / "payouts.xlsx"
    with store.session() as s:
        export_payouts(s, paid_batch, out, FINANCE, True, quiet)
    book = load_workbook(out)
    assert book.sheetnames == ["汇总", "明细", "待补银行账号", "杭州市第一人民医院工会"]
    detail = book["明细"]
    rows = list(detail.iter_rows(min_row=2, values_only=True))
    # hand figures of the scenario: A1 3,500 + 500; A2 13,700 + 400; A3 13,000 + 1,000 + 10,000 + 20,000; A4 0
    assert [(r[0], r[8]) for r in rows[:-1]] == [("A1", 4000), ("A2", 14100), ("A3", 44000), ("A4", 0)]
    assert rows[-1][0] == "合计" and Decimal(str(rows[-1][8])) == approved_total(store, paid_batch) == Decimal("62100")
    assert rows[0][3] == "330102********0142"
    assert (detail.freeze_panes, detail.auto_filter.ref, detail.print_title_rows) == ("A2", "A1:K5", "$1:$1")
    assert detail.page_setup.orientation == "landscape" and detail.sheet_properties.pageSetUpPr.fitToPage
    assert detail["F2"].number_format == "#,##0.00" and detail.column_dimensions["E"].width >= 20
    summary = {row[0]: row for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}
    # medical 3,500 + 13,700 + 13,000; critical 500 + 400 + 1,000 + 10,000; women 20,000
    assert summary["总计"][1:] == (4, 1, 30200, 11900, 20000, 62100)
    assert summary["银行转账（见银行文件）"][1:4] == (3, 1, 62100)


def test_a_claim_without_an_account_is_listed_apart_not_dropped(store, paid_batch, tmp_path):
    with store.session() as s:
        s.get(MemberRow, "HZ001").bank_account = ""
    out, bank = tmp_path / "payouts.xlsx", tmp_path / "bank.csv"
    with store.session() as s:
        export_payouts(s, paid_batch, out, FINANCE, False, quiet)
        with pytest.raises(Refusal) as refused:  # nothing the bank could pay: refused, naming why
            export_bank(s, paid_batch, bank, FINANCE, quiet)
    assert refused.value.code == "NOTHING_TO_PAY" and "3 件缺银行账号（如 A1）" in refused.value.message
    assert not bank.exists()
    missing = list(load_workbook(out)["待补银行账号"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in missing[:-1]] == ["A1", "A2", "A3"] and missing[0][10] == "（无银行账号）"


def test_bank_file_control_total(store, paid_batch, tmp_path):
    bank = tmp_path / "bank.csv"
    said = []
    with store.session() as s:
        export_bank(s, paid_batch, bank, FINANCE, said.append)
    rows = list(csv.reader(bank.open(encoding="utf-8-sig")))
    assert rows[0] == ["收款账号", "收款户名", "金额", "附言", "开户行"]
    assert rows[1][:3] == ["6222638439044354", "王丽", "62100.00"]  # one member: one transfer
    assert "A1、A2、A3" in rows[1][3] and "A4" not in rows[1][3]
    assert said[0].endswith("1 笔，控制总额 62,100.00 元") and rows[1][4] == "中国工商银行杭州分行"


def test_letters_carry_names_amounts_uppercase_and_an_embedded_cjk_font(store, paid_batch, tmp_path):
    out = tmp_path / "letters.pdf"
    with store.session() as s:
        written = export_letters(s, paid_batch, out, FINANCE, None, quiet)
    assert written.count == 4 and written.pages >= 4
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(out).pages)  # no spaces, no wraps
    for expected in ("职工医疗互助保障补助通知书", "王丽 同志", "330102********0142", "杭州市第一人民医院工会",
                     "44,000.00", uppercase_rmb(Decimal("44000")), "肆万肆仟元整", "13,000.00",
                     "已达到本期最高补助限额", "剩余额度", "30 日内"):
        assert expected.replace(" ", "") in text, expected
    if shutil.which("pdffonts"):
        listing = subprocess.run(["pdffonts", out], capture_output=True, text=True).stdout
        cjk = [line for line in listing.splitlines()[2:] if "WenQuanYi" in line or "CJK" in line or "Hei" in line]
        assert cjk and all(line.split()[-5] == "yes" for line in cjk), listing


def test_a_letter_page_renders(store, paid_batch, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed")
    out = tmp_path / "letters.pdf"
    with store.session() as s:
        export_letters(s, paid_batch, out, FINANCE, "member", quiet)
    [pdf] = list(out.glob("*.pdf"))
    assert pdf.name == "HZ001-王丽.pdf"
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", pdf, tmp_path / "page"], check=True)
    from PIL import Image  # reportlab depends on pillow

    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    dark = sum(image.histogram()[:128])
    assert dark / (image.width * image.height) > 0.005  # text and table lines were drawn: not a blank page


def test_without_a_cjk_font_letters_fall_back_with_a_warning(store, paid_batch, tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "CANDIDATES", ())
    monkeypatch.setattr(fonts, "_fontconfig_candidates", lambda: [])
    monkeypatch.setattr(fonts, "_bundled", lambda: [])  # as if the font wheel were missing
    monkeypatch.delenv("CLAIMS_FONT", raising=False)
    fonts.reset_font_choice()
    said = []
    try:
        with store.session() as s:
            export_letters(s, paid_batch, tmp_path / "letters.pdf", FINANCE, None, said.append)
    finally:
        fonts.reset_font_choice()
    assert said[0].startswith("警告：本机没有可嵌入的中文 TrueType 字体")
    assert "未嵌入字体" in said[-1]


def test_claims_font_pointing_nowhere_is_an_error(monkeypatch):
    monkeypatch.setenv("CLAIMS_FONT", "/nonexistent/font.ttf")
    fonts.reset_font_choice()
    try:
        with pytest.raises(fonts.FontError):
            fonts.choose_font()
    finally:
        monkeypatch.delenv("CLAIMS_FONT")
        fonts.reset_font_choice()


def test_mark_paid(store, tmp_path):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    from claims.workflow.batches import create_batch
    from tests.store.helpers import CLERK, REVIEWER, policy

    with store.session() as s:
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    with store.session() as s, pytest.raises(Refusal) as refused:
        mark_paid(s, batch_id, FINANCE)
    assert refused.value.code == "BATCH_UNDECIDED"
    from claims.workflow.decisions import decide

    with store.session() as s:
        for claim_id, decision in (("A1", "approve"), ("A2", "approve"), ("A3", "return"), ("A4", "approve")):
            decide(s, claim_id, decision, REVIEWER, "缺材料")
    with store.session() as s, pytest.raises(Refusal):
        mark_paid(s, batch_id, REVIEWER)
    with store.session() as s:
        # A3 returned before A4 was decided: A4 (0 after A3 had spent the cap) is recalculated in place
        a4 = sum(line.amount_fen for line in s.scalars(select(ResultLineRow).where(
            ResultLineRow.claim_id == "A4", ResultLineRow.current.is_(True))))
        assert a4 > 0
    with store.session() as s:  # A1 4,000 + A2 14,100 + A4 as recalculated
        assert mark_paid(s, batch_id, FINANCE) == (3, Decimal("18100.00") + Decimal(a4) / 100)
    with store.session() as s:
        assert {c.claim_id: c.state for c in s.query(ClaimRow)} == {
            "A1": "paid", "A2": "paid", "A3": "returned", "A4": "paid"}
    with store.session() as s, pytest.raises(Refusal):
        mark_paid(s, batch_id, FINANCE)


def test_mask_id():
    assert mask_id("330102198005120142") == "330102********0142"


def test_split_letters_with_workers_match_one_process(store, tmp_path):
    add_users(store)
    import_folder(store, SCENARIOS / "hz_waiting_level_deductible", "hangzhou")
    batch_id = batch_and_approve(store, "hangzhou")
    with store.session() as s:
        one = export_letters(s, batch_id, tmp_path / "one", FINANCE, "member", quiet, workers=1)
        two = export_letters(s, batch_id, tmp_path / "two", FINANCE, "member", quiet, workers=2)
    assert [f.name for f in one.files] == [f.name for f in two.files] == ["HZ002-李强.pdf", "HZ003-赵敏.pdf"]
    assert one.pages == two.pages
    for a, b in zip(one.files, two.files, strict=True):
        text = lambda path: "".join(p.extract_text() for p in PdfReader(path).pages)  # noqa: E731
        assert text(a) == text(b)


def test_many_letters_some_over_two_pages_all_lay_out(tmp_path):
    """Regression: flowables shared between letters broke after ~1,800 letters of this very data (a letter
    running onto a second page left layout state behind). Each letter now builds its own."""
    from benchmarks.generate import generate
    from claims.store.database import Store, init_database
    from claims.workflow.imports import import_file
    from claims.workflow.payouts import Balances, payout_data
    from exports.letters import write_letters
    from tests.store.helpers import CLERK, policy

    paths = generate(10_000, tmp_path / "data", seed=7)
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    init_database(url)
    store = Store(url)
    add_users(store)
    for kind in ("members", "enrollments", "claims"):
        with store.session() as s:
            assert not import_file(s, kind, paths[kind], CLERK, policy().policy).problems
    batch_id = batch_and_approve(store, "hangzhou")
    with store.session() as s:
        data = payout_data(s, batch_id, FINANCE, explanations=True)  # letters show them
        balances = Balances(s, data.policy, {c.member.member_id for c in data.claims[:2000]})
    pages = write_letters(data, data.claims[:2000], balances, tmp_path / "letters.pdf")
    store.dispose()
    assert pages > 2000  # some letters needed a second page
    assert len(PdfReader(tmp_path / "letters.pdf").pages) == pages


def test_letters_laid_out_from_their_broken_lines_look_as_reportlab_lays_them_out(store, paid_batch, tmp_path,
                                                                                   monkeypatch):
    """The letters' paragraphs keep the lines ``_p`` broke (``_Broken``) instead of reportlab's per-character CJK
    wrapping: every page renders to the same pixels as with reportlab's own wrapping, and holds the same text."""
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed")
    from reportlab.platypus import Paragraph

    from exports import letters

    fast, reference = tmp_path / "fast.pdf", tmp_path / "reference.pdf"
    with store.session() as s:
        export_letters(s, paid_batch, fast, FINANCE, None, quiet)
        monkeypatch.setattr(letters._Broken, "breakLinesCJK", Paragraph.breakLinesCJK)
        export_letters(s, paid_batch, reference, FINANCE, None, quiet)
    pages = [[page.extract_text() for page in PdfReader(pdf).pages] for pdf in (fast, reference)]
    assert pages[0] == pages[1] and len(pages[0]) >= 4
    for pdf in (fast, reference):
        subprocess.run(["pdftoppm", "-r", "100", "-gray", pdf, tmp_path / pdf.stem], check=True)
    for page in sorted(tmp_path.glob("fast-*.pgm")):
        assert page.read_bytes() == (tmp_path / page.name.replace("fast", "reference")).read_bytes(), page.name


def test_broken_lines_with_runs_of_spaces_and_markup_draw_as_reportlab_draws_them(tmp_path, monkeypatch):
    """Text a policy or a member's file may carry — runs of spaces, full-width spaces, &, <, codes and amounts —
    in paragraphs of several lines, in each alignment the letters use: the same pixels as reportlab's own wrapping."""
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed")
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    from exports import letters

    styles = letters.LetterStyles(fonts.choose_font())
    text = ("杭州市  总工会　　职工服务中心 <通知> & “说明”，C50.9 1,234.50 " * 6 + "\n第二段　　 两个空格  之后。")

    def story() -> list:  # built afresh for each document: platypus keeps layout state on a flowable
        return [letters._p(text, style) for style in (styles.body, styles.title, styles.sign, styles.small)] \
            + [letters._in_cell(text, styles.cell, 120)]

    fast, reference = tmp_path / "fast.pdf", tmp_path / "reference.pdf"
    margins = {"leftMargin": 20 * mm, "rightMargin": 20 * mm}  # the letters' page: the lines fit its width
    SimpleDocTemplate(str(fast), pagesize=A4, **margins).build(story())
    monkeypatch.setattr(letters._Broken, "breakLinesCJK", Paragraph.breakLinesCJK)
    SimpleDocTemplate(str(reference), pagesize=A4, **margins).build(story())
    for pdf in (fast, reference):
        subprocess.run(["pdftoppm", "-r", "100", "-gray", pdf, tmp_path / pdf.stem], check=True)
    pages = sorted(tmp_path.glob("fast-*.pgm"))
    assert pages
    for page in pages:
        assert page.read_bytes() == (tmp_path / page.name.replace("fast", "reference")).read_bytes(), page.name
