"""The review sheet is read back in every form a spreadsheet program saves it: LibreOffice's own save, and the
forms of Excel and WPS built by rewriting the sheet's XML (shared strings instead of inline, rich-text runs,
numbers as 17-digit text of a double, empty cells left out, versions as 2.0); tampering stays refused in
every form. SQLite only: the reader does not depend on the database (the round trip on both databases is in
test_batches_and_review.py)."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from claims.store.database import Store, init_database
from claims.store.models import ClaimRow
from claims.workflow.batches import create_batch
from claims.workflow.errors import Refusal
from claims.workflow.review import export_review, import_review
from claims.workflow.review_sheet import read_sheets
from tests.store.helpers import CLERK, REVIEWER, SCENARIOS, add_users, import_folder, policy

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS = {"m": MAIN}
SHARED_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SHARED_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
# hand: A1 and A2 approved; returning A3 gives its cap back, so A4 is recalculated (see test_batches_and_review)
CHOICES = {4: "通过", 5: "通过", 6: "退回", 7: "不予补助"}


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    init_database(url)
    store = Store(url)
    yield store
    store.dispose()


@pytest.fixture
def filled(store, tmp_path) -> Path:
    """The batch's review sheet, decided as a reviewer would in a spreadsheet program (saved by openpyxl)."""
    add_users(store)
    import_folder(store, SCENARIOS / "hz_bands_caps_stacking", "hangzhou")
    with store.session() as s:
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    path = tmp_path / "review.xlsx"
    with store.session() as s:
        export_review(s, batch_id, path, CLERK, progress=False)
    book = load_workbook(path)
    for row, choice in CHOICES.items():
        book["审核表"].cell(row, 14).value = choice
    book["审核表"].cell(6, 15).value = "材料不全 & <待补>"  # XML's special characters in a note
    book.save(path)
    return path


def _imported(store, path):
    with store.session() as s:
        done = import_review(s, path, REVIEWER)
    with store.session() as s:
        states = {c.claim_id: c.state for c in s.scalars(select(ClaimRow))}
        notes = {c.claim_id: c.decision_note for c in s.scalars(select(ClaimRow))}
    return done, states, notes


def _assert_applied(store, path):
    done, states, notes = _imported(store, path)
    assert done.decided == {"approve": 2, "return": 1} and done.recalculated == ["A4"]
    assert states == {"A1": "approved", "A2": "approved", "A3": "returned", "A4": "calculated"}
    assert "材料不全 & <待补>" in notes["A3"]


def _refused(store, path) -> str:
    with store.session() as s, pytest.raises(Refusal) as refused:
        import_review(s, path, REVIEWER)
    with store.session() as s:
        assert {c.state for c in s.scalars(select(ClaimRow))} == {"calculated"}
    return refused.value.code + " " + refused.value.message


# ---- rewriting a workbook's XML into the forms other programs save --------------------------------------

def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(parts: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def _cell_text(string) -> str:
    """A string's text (an inline <is> or a shared <si>): its runs' <t>, not a phonetic guide's."""
    return "".join(t.text or "" for t in string.iter(f"{{{MAIN}}}t") if not _in_phonetic(string, t))


def _in_phonetic(root, node) -> bool:
    return any(node in list(rph.iter()) for rph in root.iter(f"{{{MAIN}}}rPh"))


def _rich(text: str) -> str:
    """A shared string as two rich-text runs (the second bold) with a phonetic guide that is not text."""
    def t(part):
        return f'<t xml:space="preserve">{part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")}</t>'
    half = len(text) // 2
    return (f"<si><r>{t(text[:half])}</r><r><rPr><b/><sz val=\"11\"/></rPr>{t(text[half:])}</r>"
            f'<rPh sb="0" eb="1"><t>ㄅ</t></rPh></si>')


def as_other_programs_save(source: Path, target: Path, *, shared=True, rich=True, long_numbers=True,
                           omit_empty=True, versions_as_decimals=True) -> Path:
    """The workbook as Excel or WPS would save it after opening it: strings moved into the shared-string
    table (each as rich-text runs), numbers as the 17-significant-digit text of their double (Excel writes
    5268.4499999999998), cells without a value left out, whole numbers written as 2.0."""
    ElementTree.register_namespace("", MAIN)
    parts = _parts(source)
    before = ([_cell_text(si) for si in ElementTree.fromstring(parts["xl/sharedStrings.xml"])]
              if "xl/sharedStrings.xml" in parts else [])
    strings: list[str] = []
    for name in [n for n in parts if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]:
        root = ElementTree.fromstring(parts[name])
        for row in root.iter(f"{{{MAIN}}}row"):
            for cell in list(row):
                kind, value = cell.get("t"), cell.find("m:v", NS)
                if kind == "inlineStr" and shared:
                    inline = cell.find("m:is", NS)
                    text = _cell_text(inline) if inline is not None else ""  # openpyxl: <c t="inlineStr"/> for ""
                    if inline is not None:
                        cell.remove(inline)
                    cell.set("t", "s")
                    ElementTree.SubElement(cell, f"{{{MAIN}}}v").text = str(len(strings))
                    strings.append(text)
                elif kind == "s":  # already shared: moved into the new table (as runs, when rich)
                    text = before[int(value.text)]
                    value.text = str(len(strings))
                    strings.append(text)
                elif kind in (None, "n") and value is not None:
                    number = float(value.text)
                    if long_numbers and not number.is_integer():
                        value.text = format(number, ".17g")
                    elif versions_as_decimals and number.is_integer():
                        value.text = f"{int(number)}.0"
                elif kind is None and value is None and cell.find("m:is", NS) is None and omit_empty:
                    row.remove(cell)
        parts[name] = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    if strings:
        entries = "".join(_rich(s) if rich else f'<si><t xml:space="preserve">{_escape(s)}</t></si>' for s in strings)
        parts["xl/sharedStrings.xml"] = (f'<sst xmlns="{MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
                                         f"{entries}</sst>").encode()
        types = parts["[Content_Types].xml"].decode()
        if "sharedStrings" not in types:
            parts["[Content_Types].xml"] = types.replace(
                "</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_TYPE}"/></Types>').encode()
        rels = parts["xl/_rels/workbook.xml.rels"].decode()
        if "sharedStrings" not in rels:
            parts["xl/_rels/workbook.xml.rels"] = rels.replace(
                "</Relationships>", f'<Relationship Id="rIdShared" Type="{SHARED_REL}" '
                                    'Target="sharedStrings.xml"/></Relationships>').encode()
    return _write(parts, target)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _retyped(path: Path, target: Path, sheet: str, edit) -> Path:
    """The workbook with one sheet's XML text edited by ``edit``."""
    parts = _parts(path)
    parts[sheet] = edit(parts[sheet].decode("utf-8")).encode("utf-8")
    return _write(parts, target)


# ---- the round trip in every form -----------------------------------------------------------------------

def test_a_sheet_saved_by_libreoffice_is_read(store, filled, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) is not installed: the rewritten forms below still run")
    out = tmp_path / "libreoffice"
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(filled)],
                   check=True, capture_output=True, timeout=180)
    saved = out / filled.name
    parts = _parts(saved)
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    assert 't="s"' in sheet and "inlineStr" not in sheet  # LibreOffice keeps its strings in the shared table
    _assert_applied(store, saved)


@pytest.mark.parametrize("form", [
    {},
    {"rich": False},
    {"shared": False},
    {"long_numbers": False, "versions_as_decimals": False, "omit_empty": False},
], ids=["every-change", "plain-shared", "inline-kept", "strings-only"])
def test_a_sheet_in_the_forms_excel_and_wps_save_is_read(store, filled, tmp_path, form):
    variant = as_other_programs_save(filled, tmp_path / "variant.xlsx", **form)
    _assert_applied(store, variant)


def test_the_forms_read_as_the_same_values(filled, tmp_path):
    original = read_sheets(filled, ["审核表", "批次信息"])
    variant = read_sheets(as_other_programs_save(filled, tmp_path / "variant.xlsx"), ["审核表", "批次信息"])
    assert variant == original
    row = original["审核表"][4]  # A2, hand: 合计 14,100.00 as a whole number of yuan
    assert row[0] == "A2" and row[11] == 14100 and original["批次信息"][4][1] == 2


def test_tampering_is_refused_in_the_shared_string_form(store, filled, tmp_path):
    variant = as_other_programs_save(filled, tmp_path / "variant.xlsx", rich=False)
    parts = _parts(variant)
    strings = parts["xl/sharedStrings.xml"].decode()
    name = read_sheets(filled, ["审核表"])["审核表"][3][2]  # C4: A1's member's name
    parts["xl/sharedStrings.xml"] = strings.replace(f">{name}<", ">王小丽<", 1).encode()
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    # L5, A2's 合计 (hand: 14,100.00), moved by less than a fen in the 17-digit form
    parts["xl/worksheets/sheet1.xml"] = re.sub(r'(<c r="L5"[^>]*><v>)[^<]*', r"\g<1>14100.004000000001", sheet).encode()
    message = _refused(store, _write(parts, tmp_path / "tampered.xlsx"))
    assert "C4（姓名）被改动：表中为“王小丽”" in message
    assert "L5（合计（元））被改动：表中为“14100.004”，系统中为“14100.00”" in message


def test_a_formula_or_an_error_value_is_not_the_value_written(store, filled, tmp_path):
    def edit(sheet):
        # a formula giving the same amount in L5, an error value in a reasons cell, a formula as a decision
        sheet = re.sub(r'<c r="L5"([^>]*)><v>[^<]*</v>', r'<c r="L5"\1><f>14100</f><v>14100</v>', sheet)
        sheet = re.sub(r'<c r="M4"([^>]*?)(?: t="\w+")?(?:/>|>.*?</c>)', r'<c r="M4"\1 t="e"><v>#N/A</v></c>', sheet)
        return re.sub(r'<c r="N7"([^>]*?) t="\w+">.*?</c>', r'<c r="N7"\1 t="str"><f>"不予"&amp;"补助"</f>'
                      r"<v>不予补助</v></c>", sheet)
    message = _refused(store, _retyped(filled, tmp_path / "formulas.xlsx", "xl/worksheets/sheet1.xml", edit))
    assert "L5（合计（元））被改动：表中为“=14100”" in message
    assert "M4（原因）被改动：表中为“#N/A”" in message
    assert "N7（申请 A4）：审核结论“=\"不予\"&\"补助\"”无效" in message


@pytest.mark.parametrize("kind", ["number", "text"])
def test_a_version_that_is_not_a_whole_number_is_refused(store, filled, tmp_path, kind):
    def edit(sheet):
        if kind == "text":
            return re.sub(r'<c r="B5"([^>]*?)(?: t="n")?><v>[^<]*</v>', r'<c r="B5"\1 t="inlineStr"><is><t>2.5</t></is>',
                          sheet)
        return re.sub(r'(<c r="B5"[^>]*><v>)[^<]*', r"\g<1>2.5", sheet)
    message = _refused(store, _retyped(filled, tmp_path / "version.xlsx", "xl/worksheets/sheet2.xml", edit))
    assert message.startswith("REVIEW_NO_VERSIONS") and "第 5 行的申请版本无效" in message


# ---- the reader against openpyxl (the old reader) on generated workbooks ------------------------------

def _generated_book(path: Path, seed: int) -> None:
    """A sheet of random cells of every kind a review sheet holds, saved by openpyxl (shared strings)."""
    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    sheet.title = "审核表"
    hidden = book.create_sheet("批次信息")
    hidden.sheet_state = "veryHidden"
    hidden["A1"], hidden["B1"] = "batch_id", 7
    texts = ["通过", "退回", " 前后有空格 ", "a & b < c", "住院", "E11.9", "2025-06-01", "C00012", "12", "'quoted'",
             "多行\n文字", "第0011基层工会"]
    for row in range(1, rng.randint(5, 40)):
        for column in range(1, rng.randint(2, 16)):
            kind = rng.randrange(6)
            if kind == 0:
                continue  # a missing cell
            value = (rng.choice(texts) if kind == 1 else
                     Decimal(rng.randrange(0, 10_000_000)) / 100 if kind == 2 else
                     rng.randrange(0, 100_000) if kind == 3 else
                     rng.choice([True, False]) if kind == 4 else
                     f"{rng.choice(texts)}{rng.randrange(1000)}")
            sheet.cell(row, column).value = float(value) if isinstance(value, Decimal) else value
    book.save(path)


def _as_openpyxl_read(path: Path, name: str) -> list[list]:
    """openpyxl's read-only values, as the new reader gives them: no cell is None, no number a float."""
    book = load_workbook(path, read_only=True)
    rows = []
    for row in book[name].iter_rows(values_only=True):
        rows.append(["" if v is None else Decimal(repr(v)) if isinstance(v, float) and not v.is_integer()
                     else int(v) if isinstance(v, float) else v for v in row])
    book.close()
    return rows


def _trimmed(rows: list[list]) -> list[list]:
    rows = [list(r) for r in rows]
    while rows and all(v == "" for v in rows[-1]):
        rows.pop()
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]


@pytest.mark.parametrize("seed", range(8))
def test_the_reader_gives_what_openpyxl_gave(tmp_path, seed):
    path = tmp_path / "generated.xlsx"
    _generated_book(path, seed)
    read = read_sheets(path, ["审核表", "批次信息"])
    assert _trimmed(read["审核表"]) == _trimmed(_as_openpyxl_read(path, "审核表"))
    assert read["批次信息"][0] == ["batch_id", 7]
    rich = as_other_programs_save(path, tmp_path / "rich.xlsx", omit_empty=False)
    assert _trimmed(read_sheets(rich, ["审核表"])["审核表"]) == _trimmed(read["审核表"])


def test_cells_without_a_reference_are_read_in_order(tmp_path):
    path = tmp_path / "book.xlsx"
    _generated_book(path, 0)
    parts = _parts(path)
    parts["xl/worksheets/sheet1.xml"] = re.sub(
        r"<sheetData>.*</sheetData>", '<sheetData><row r="2"><c t="inlineStr"><is><t>甲</t></is></c><c r="C2"><v>1.5</v>'
                                      '</c><c t="b"><v>1</v></c></row><row><c t="inlineStr"><is><t>乙</t></is></c></row>'
                                      "</sheetData>", parts["xl/worksheets/sheet1.xml"].decode(), flags=re.S).encode()
    rows = read_sheets(_write(parts, tmp_path / "unreferenced.xlsx"), ["审核表"])["审核表"]
    assert rows == [["", "", "", ""], ["甲", "", Decimal("1.5"), True], ["乙", "", "", ""]]


def test_a_stray_cell_far_from_the_table_is_refused_before_the_sheet_is_loaded(store, filled, tmp_path):
    """A value typed at XFD1048576: the used area is 17 billion cells, which the reader would allocate at once
    (and the process end); it is refused first, saying where to look."""
    def edit(sheet):
        return sheet.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is>'
                                              "</c></row></sheetData>")
    message = _refused(store, _retyped(filled, tmp_path / "stray.xlsx", "xl/worksheets/sheet1.xml", edit))
    assert message.startswith("REVIEW_TOO_LARGE") and "1,048,576 行 × 16,384 列" in message and "审核表" in message

