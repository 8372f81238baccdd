"""Issue 11/17 for the files people open: text never a formula, files whole or not at all, the review sheet
at any size and exact, letters numbered per letter and broken by Chinese rules (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import zipfile
from decimal import ROUND_HALF_UP, Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from claims.engine.explain import render_step
from claims.engine.model import Step
from claims.store.models import ClaimRow, MemberRow
from claims.workflow.batches import create_batch
from claims.workflow.errors import Refusal
from claims.workflow.review import export_review, import_review
from exports import fonts
from exports.commands import export_bank, export_letters, export_payouts
from exports.safety import atomic_output, csv_text, sheet_title
from exports.words import CANNOT_START, cn_date, pad, table, width
from tests.store.helpers import (
    CLERK,
    FINANCE,
    REVIEWER,
    SCENARIOS,
    add_users,
    batch_and_approve,
    import_folder,
    policy,
)

FOLDER = SCENARIOS / "hz_bands_caps_stacking"
HOSTILE = '=HYPERLINK("http://evil.example/x","点击领取")'
quiet = lambda message: None  # noqa: E731


def formulas_in(path) -> list[str]:
    """Every <f> (formula) element in any sheet of an XLSX, read from the file's XML itself."""
    with zipfile.ZipFile(path) as archive:
        return [name for name in archive.namelist() if name.startswith("xl/worksheets/")
                and re.search(rb"<(\w+:)?f[ >]", archive.read(name))]


@pytest.fixture
def hostile_batch(store):
    """The scenario with a member whose name, unit and bank are formulas, approved."""
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s:
        member = s.get(MemberRow, "HZ001")
        member.name, member.unit, member.bank_name = HOSTILE, "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"
    return batch_and_approve(store, "hangzhou")


@pytest.fixture
def approved(store):
    """The scenario imported, calculated and every claim approved; the batch id."""
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    return batch_and_approve(store, "hangzhou")


# ---- formula injection -----------------------------------------------------------------------------------

def test_csv_text_follows_the_owasp_rules():
    for hostile in ("=1+2", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "  =1", "＝1+2"):
        assert csv_text(hostile) == "'" + hostile
    for harmless in ("王丽", "6217001234567890123", "杭州市第一人民医院工会", "", "a=b"):
        assert csv_text(harmless) == harmless
    assert csv_text(Decimal("-1.00")) == Decimal("-1.00")  # our own numbers are not text from outside


def test_payout_workbook_and_bank_file_never_carry_a_formula(store, hostile_batch, tmp_path):
    out, bank = tmp_path / "payouts.xlsx", tmp_path / "bank.csv"
    with store.session() as s:
        export_payouts(s, hostile_batch, out, FINANCE, True, quiet)
        export_bank(s, hostile_batch, bank, FINANCE, quiet)
    assert formulas_in(out) == []
    book = load_workbook(out)
    names = [row[2] for row in book["明细"].iter_rows(min_row=2, values_only=True)]
    assert HOSTILE in names  # kept exactly as typed, as text
    assert "=cmd_' _C calc'!A0" not in book.sheetnames  # the unit's sheet has a valid title
    assert all(len(title) <= 31 and not set(title) & set("[]:*?/\\") for title in book.sheetnames)
    rows = list(csv.reader(bank.open(encoding="utf-8-sig")))
    hostile_rows = [row for row in rows if HOSTILE in row[1]]
    assert hostile_rows and all(row[1] == "'" + HOSTILE for row in hostile_rows)
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row)
    raw = bank.read_text(encoding="utf-8-sig").splitlines()
    assert all(line.startswith('"') for line in raw)  # every field quoted (OWASP)


def test_review_sheet_keeps_hostile_text_as_text_and_round_trips(store, tmp_path):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s:
        s.get(MemberRow, "HZ001").name = HOSTILE
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    path = tmp_path / "review.xlsx"
    with store.session() as s:
        export_review(s, batch_id, path, CLERK, progress=False)
    assert formulas_in(path) == []
    book = load_workbook(path)
    sheet = book["审核表"]
    assert HOSTILE in [sheet.cell(r, 3).value for r in range(4, 8)]
    for row in range(4, 8):
        sheet.cell(row, 14).value = "退回"
    book.save(path)
    with store.session() as s:
        done = import_review(s, path, REVIEWER)
    # a return re-evaluates the member's later claims in the same sheet: those wait, recalculated, for a new sheet
    assert done.decided.get("return", 0) >= 1 and done.decided.get("return", 0) + len(done.recalculated) == 4


def test_sheet_titles_are_valid_and_unique():
    taken = {"汇总", "明细"}
    titles = [sheet_title(name, taken) for name in
              ["a/b", "a?b", "x" * 40, "x" * 40, "汇总", "'引号'", "", "History", "A/B"]]
    assert titles[:2] == ["a_b", "a_b(2)"]
    assert titles[2] == "x" * 31 and titles[3] == "x" * 28 + "(2)"
    assert titles[4] == "汇总(2)" and titles[5] == "引号" and titles[6] == "单位"
    assert titles[7] == "History_" and titles[8] == "A_B(3)"  # Excel compares titles without case
    assert all(len(t) <= 31 for t in titles) and len({t.lower() for t in titles}) == len(titles)


# ---- atomic writes ---------------------------------------------------------------------------------------

def test_a_failed_export_leaves_the_previous_file(tmp_path):
    out = tmp_path / "bank.csv"
    out.write_text("the previous, valid file\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output(out) as temporary:
        temporary.write_text("half a fi", encoding="utf-8")
        raise RuntimeError("killed")
    assert out.read_text(encoding="utf-8") == "the previous, valid file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["bank.csv"]


def test_a_process_killed_mid_export_leaves_the_previous_file(tmp_path):
    out = tmp_path / "发放表.xlsx"
    out.write_bytes(b"previous")
    script = ("import os, signal, sys\nfrom exports.safety import atomic_output\n"
              "with atomic_output(sys.argv[1]) as t:\n"
              "    t.write_bytes(b'x' * 100000)\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", script, str(out)])
    assert done.returncode == -signal.SIGKILL
    assert out.read_bytes() == b"previous"  # the destination is untouched; only a hidden .part is left


def test_atomic_output_gives_a_new_file_ordinary_permissions(tmp_path):
    with atomic_output(tmp_path / "a.csv") as temporary:
        temporary.write_text("x", encoding="utf-8")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o666 & ~mask


# ---- the review sheet ------------------------------------------------------------------------------------

def _review(store, tmp_path):
    add_users(store)
    import_folder(store, FOLDER, "hangzhou")
    with store.session() as s:
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    path = tmp_path / "review.xlsx"
    with store.session() as s:
        export_review(s, batch_id, path, CLERK, progress=False)
    return batch_id, path


def _decide_all(path, choice="通过"):
    book = load_workbook(path)
    for row in range(4, 8):
        book["审核表"].cell(row, 14).value = choice
    return book


def test_a_money_cell_moved_by_less_than_a_fen_is_refused(store, tmp_path):
    _, path = _review(store, tmp_path)
    book = _decide_all(path)
    book["审核表"]["L5"] = 14100.004  # hand: A2's 合计 is 14,100.00
    book.save(path)
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_review(s, path, REVIEWER)
    assert "L5（合计（元））被改动" in refused.value.message
    with store.session() as s:
        assert {c.state for c in s.scalars(select(ClaimRow))} == {"calculated"}


def test_what_identifies_the_sheet_is_protected_and_required(store, tmp_path):
    batch_id, path = _review(store, tmp_path)
    book = load_workbook(path)
    meta = book["批次信息"]
    assert meta.sheet_state == "veryHidden" and meta.protection.sheet and book.security.lockStructure
    rows = list(meta.iter_rows(values_only=True))
    assert rows[0] == ("batch_id", batch_id) and [r[0] for r in rows[3:]] == ["A1", "A2", "A3", "A4"]
    assert all(isinstance(r[1], int) for r in rows[3:])  # one version per claim, one row each
    for number in range(len(rows), 3, -1):  # remove every version row: the sheet no longer says which versions
        meta.delete_rows(number)
    for row in range(4, 8):
        book["审核表"].cell(row, 14).value = "通过"
    book.save(path)
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_review(s, path, REVIEWER)
    assert refused.value.code == "REVIEW_NO_VERSIONS"


def test_a_changed_version_is_refused(store, tmp_path):
    _, path = _review(store, tmp_path)
    book = _decide_all(path)
    book["批次信息"]["B5"] = book["批次信息"]["B5"].value + 1
    book.save(path)
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_review(s, path, REVIEWER)
    assert refused.value.code in ("REVIEW_OTHER_BATCH", "REVIEW_STALE")


@pytest.mark.parametrize("content", [b"", b"not a workbook", b"PK\x03\x04broken zip"])
def test_an_unreadable_sheet_is_a_located_refusal(store, tmp_path, content):
    _, path = _review(store, tmp_path)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(content if content else path.read_bytes()[: len(path.read_bytes()) // 2])
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_review(s, broken, REVIEWER)
    assert refused.value.code == "REVIEW_UNREADABLE" and str(broken) in refused.value.message


def test_review_sheet_reasons_use_chinese_names_and_print_fitted(store, tmp_path):
    _, path = _review(store, tmp_path)
    sheet = load_workbook(path)["审核表"]
    reasons = [sheet.cell(r, 13).value or "" for r in range(4, 8)]
    assert any(reasons) and not any(re.search(r"[A-Za-z_]", text) for text in reasons)
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$3:$3"
    assert len(sheet.data_validations.dataValidation) == 1  # one validation for the column, not per cell


# ---- words -----------------------------------------------------------------------------------------------

def test_explanation_parts_add_up_to_what_is_paid():
    # 1.30 × 85% = 1.105: half-even would show 1.10, the engine pays 1.11 (half-up)
    one = {"fields": ["self_pay_in_scope"], "base": Decimal("1001.30"), "per": "claim",
           "deductible": Decimal("1000"), "portions": [(Decimal("1.30"), Decimal("0.85"), Decimal("1.105"))],
           "raw": Decimal("1.105"), "shares": 1, "amount": Decimal("1.11")}
    text = render_step(Step("banded", one))
    assert "= 1.11 元" in text and "合计 1.11 元" in text and text.endswith("补助 1.11 元。")
    # two such parts: rounded they would show 1.11 + 1.11 = 2.22 beside a total of 2.21; shown exactly
    two = {**one, "base": Decimal("1002.60"), "portions": one["portions"] * 2, "raw": Decimal("2.21"),
           "amount": Decimal("2.21")}
    text = render_step(Step("banded", two))
    shown = [Decimal(x.replace(",", "")) for x in re.findall(r"= ([\d,.]+) 元", text)]
    assert sum(shown) == Decimal("2.21") and "合计 2.21 元" in text and "补助 2.21 元" in text


def test_display_width_aligns_chinese():
    assert width("杭州") == 4 and width("ab") == 2 and pad("王丽", 6) == "王丽  "
    lines = table(["单位", "金额"], [["杭州市第一人民医院工会", "1.00"], ["ab", "22,000.00"]], "<>")
    assert len({width(line) for line in lines}) == 1  # every line ends at the same column
    assert cn_date(__import__("datetime").date(2025, 6, 10)) == "2025年6月10日"


# ---- letters ---------------------------------------------------------------------------------------------

def test_letters_numbered_per_letter_with_the_service_center_and_chinese_line_breaks(store, approved, tmp_path):
    batch_id = approved
    out = tmp_path / "letters.pdf"
    with store.session() as s:
        written = export_letters(s, batch_id, out, FINANCE, None, quiet)
    reader = PdfReader(out)
    assert written.pages == len(reader.pages)
    footers = [re.search(r"第 (\d+) 页，共 (\d+) 页", page.extract_text()).groups() for page in reader.pages]
    numbers = [(int(a), int(b)) for a, b in footers]
    letters = [n for n in numbers if n[0] == 1]
    assert len(letters) == 4  # each letter starts at 第 1 页
    for index, (page, of) in enumerate(numbers):  # and counts its own pages
        assert 1 <= page <= of and (page == 1 or numbers[index - 1] == (page - 1, of))
    for page in reader.pages:
        text = page.extract_text()
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert not [line for line in lines if line[0] in CANNOT_START], lines
        assert not re.search(r"\d{4}年0\d月|月0\d日", text)  # 2025年6月10日, never 06月
        assert not re.search(r"\d 级", text)  # 三级, not 3 级
    text = "".join(page.extract_text() for page in reader.pages).replace(" ", "")
    assert text.count("咨询电话：0571-85171234") == 4 and text.count("杭州市上城区解放路") == 4  # once a letter


def test_letters_of_one_unit(store, approved, tmp_path):
    batch_id = approved
    with store.session() as s:
        unit = s.get(MemberRow, "HZ001").unit
        written = export_letters(s, batch_id, tmp_path / "one.pdf", FINANCE, None, quiet, unit=unit)
        assert written.count == 4  # the scenario has one member
        with pytest.raises(Refusal) as refused:
            export_letters(s, batch_id, tmp_path / "none.pdf", FINANCE, None, quiet, unit="没有这个单位")
    assert refused.value.code == "UNIT_UNKNOWN" and unit in refused.value.message
    assert not (tmp_path / "none.pdf").exists()


def test_letters_embed_the_bundled_font_when_the_machine_has_none(store, approved, tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "CANDIDATES", ())
    monkeypatch.setattr(fonts, "_fontconfig_candidates", lambda: [])
    monkeypatch.delenv("CLAIMS_FONT", raising=False)
    fonts.reset_font_choice()
    batch_id = approved
    out = tmp_path / "letters.pdf"
    try:
        with store.session() as s:
            export_letters(s, batch_id, out, FINANCE, None, quiet)
        assert "wqy-microhei" in fonts.choose_font().path
    finally:
        fonts.reset_font_choice()
    page = PdfReader(out).pages[0]
    embedded = []
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        for descendant in font.get("/DescendantFonts", [font]):
            descriptor = descendant.get_object().get("/FontDescriptor")
            if descriptor is not None:
                descriptor = descriptor.get_object()
                embedded.append(("/FontFile2" in descriptor, str(descriptor["/FontName"])))
    assert embedded and all(has for has, _ in embedded)
    assert any("WenQuanYi" in name or "Micro" in name for _, name in embedded), embedded
    assert "职工医疗互助保障补助通知书" in page.extract_text().replace(" ", "")


def test_every_explanation_of_the_examples_adds_up_to_what_is_paid():
    from tests.conftest import POLICIES, ROOT

    done = subprocess.run([sys.executable, "-m", "claims.cli", "calculate", "--policy", POLICIES / "hangzhou.yaml",
                           "--members", ROOT / "examples" / "members.xlsx", "--enrollments",
                           ROOT / "examples" / "enrollments.xlsx", "--claims", ROOT / "examples" / "claims.xlsx",
                           "--format", "json"], capture_output=True, text=True, check=True)
    import json

    def money(text):
        return Decimal(text.replace(",", ""))

    checked = 0
    for line in json.loads(done.stdout)["lines"]:
        for sentence in line["explanation_text"].split("。"):
            if "按档补助" not in sentence:
                continue
            parts = [money(x) for x in re.findall(r"= ([\d,.]+) 元", sentence)]
            total = money(re.search(r"合计 ([\d,.]+) 元", sentence).group(1))
            paid = money(re.search(r"补助 ([\d,.]+) 元$", sentence).group(1))
            shares = int((re.search(r"× (\d+) 份", sentence) or [None, "1"])[1])
            # the parts shown add up to the total shown (exactly, or shown exactly and then rounded 四舍五入)
            assert sum(parts) == total or sum(parts).quantize(Decimal("0.01"), ROUND_HALF_UP) == total, sentence
            assert total * shares == paid, sentence
            capped = re.search(r"实补 ([\d,.]+) 元", line["explanation_text"])
            assert (money(capped.group(1)) if capped else paid) == Decimal(line["amount"]), line["explanation_text"]
            checked += 1
    assert checked > 20


def test_payout_summary_prints_with_signature_rows(store, approved, tmp_path):
    batch_id = approved
    out = tmp_path / "payouts.xlsx"
    with store.session() as s:
        export_payouts(s, batch_id, out, FINANCE, False, quiet)
    sheet = load_workbook(out)["汇总"]
    labels = [row[0] for row in sheet.iter_rows(values_only=True) if row and row[0]]
    assert [label for label in labels if "签字" in label] == ["制表（签字）：", "复核（签字）：", "审批（签字）："]
    assert labels.index("制表（签字）：") > labels.index("补助为零（仅通知，不发放）")  # below the control figures
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    wrapped = [c for row in sheet.iter_rows() for c in row if c.value and "待补后另行发放" in str(c.value)]
    assert wrapped and wrapped[0].alignment.wrap_text  # the long label wraps instead of being cut
