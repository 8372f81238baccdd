"""Finance and auditor pages through Starlette's test client on a real database (SQLite and PostgreSQL):
downloads opened back (XLSX with openpyxl, PDF with pdftotext, the bank file's text), exports recorded like
the CLI's, a second bank file refused, the bank's return file reconciled, the auditor's re-run, log check,
bundle and access list; every other role refused."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from decimal import Decimal
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from claims.store.models import AccessRecord, AuditEntry, BankTransfer, ClaimRow, ExportRecord, ResultLineRow
from tests.conftest import ROOT
from tests.store.helpers import AUDITOR, CLERK, FINANCE, REVIEWER, batch_and_approve, import_folder
from tests.web.test_server import Clock, TestClient, _csrf, log_in

SMALL = ROOT / "tests" / "fixtures" / "small"


@pytest.fixture
def web(store, db_url):
    from claims.web.app import create_app
    from tests.store.helpers import add_users

    add_users(store)
    with TestClient(create_app(db_url, Clock()), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def batch(store):
    import_folder(store, SMALL, "hangzhou")
    return batch_and_approve(store, "hangzhou")


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """The pages' temporary folders go here, so a test can see they were deleted."""
    root = tmp_path / "temp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def _payable(store, batch_id: int) -> tuple[dict[str, Decimal], set[str]]:
    """Each approved claim's current total (the database's lines, summed here) and the members without an
    account, read straight from the tables."""
    from claims.store.models import MemberRow

    with store.session() as s:
        rows = s.execute(select(ResultLineRow.claim_id, func.sum(ResultLineRow.amount_fen))
                         .join(ClaimRow, ClaimRow.claim_id == ResultLineRow.claim_id)
                         .where(ClaimRow.batch_id == batch_id, ClaimRow.state == "approved",
                                ResultLineRow.current.is_(True)).group_by(ResultLineRow.claim_id)).all()
        no_account = {m.member_id for m in s.scalars(select(MemberRow).where(MemberRow.bank_account == ""))}
    return {claim_id: Decimal(fen) / 100 for claim_id, fen in rows}, no_account


def _post(web, path: str, page: str = "/finance", **data):
    return web.post(path, data={"csrf_token": _csrf(web.get(page).text), **data})


def test_the_finance_page_lists_the_approved_batch_with_its_totals(web, store, batch):
    log_in(web, FINANCE)
    page = web.get("/finance")
    assert page.status_code == 200 and f'id="batch-{batch}"' in page.text
    totals, _ = _payable(store, batch)
    assert f"已通过待支付 <b>{len(totals)}</b> 件 {sum(totals.values()):,.2f} 元" in page.text
    assert "杭州某科技有限公司工会" in page.text  # the units, for one unit's letters


def test_the_payout_workbook_downloads_under_its_chinese_name_and_is_recorded(web, store, batch, temp_root):
    log_in(web, FINANCE)
    answer = _post(web, f"/finance/{batch}/payouts")
    assert answer.status_code == 200
    name = f"发放表-批次{batch}.xlsx"
    assert f"filename*=UTF-8''{quote(name)}" in answer.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(answer.content))
    cells = {str(c) for sheet in workbook for row in sheet.iter_rows(values_only=True) for c in row if c is not None}
    totals, _ = _payable(store, batch)
    assert set(totals) <= cells  # every approved claim has its row
    with store.session() as s:
        record = s.scalars(select(ExportRecord)).one()
        viewed = s.scalar(select(func.count()).select_from(AccessRecord).where(AccessRecord.what == "export.payouts"))
    assert (record.kind, record.batch_id, record.created_by, record.file_name) == ("payouts", batch, FINANCE, name)
    assert Decimal(record.total_fen) / 100 == sum(totals.values()) and viewed > 0
    assert list(temp_root.iterdir()) == []  # the temporary folder is gone once the file was sent
    again = _post(web, f"/finance/{batch}/payouts")  # the CLI's refusal: nothing new to export
    assert again.status_code == 403 and "NOTHING_APPROVED" in again.text and "没有已通过" in again.text
    assert "--reexport" not in again.text and "重新导出" in again.text  # the page's control, not the CLI option


def test_the_bank_file_pays_each_member_once_and_a_second_one_pays_nothing_twice(web, store, batch, temp_root):
    log_in(web, FINANCE)
    answer = _post(web, f"/finance/{batch}/bank", template="generic", encoding="")
    assert answer.status_code == 200 and "text/csv" in answer.headers["content-type"]
    assert quote(f"银行文件-批次{batch}.csv") in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    totals, no_account = _payable(store, batch)
    with store.session() as s:
        members = dict(s.execute(select(ClaimRow.claim_id, ClaimRow.member_id)
                                 .where(ClaimRow.claim_id.in_(list(totals)))).all())
    per_member: dict[str, Decimal] = {}
    for claim_id, amount in totals.items():
        if members[claim_id] not in no_account and amount > 0:
            per_member[members[claim_id]] = per_member.get(members[claim_id], Decimal(0)) + amount
    assert rows[0][:3] == ["收款账号", "收款户名", "金额"]
    assert sorted(Decimal(r[2]) for r in rows[1:]) == sorted(per_member.values())
    second = _post(web, f"/finance/{batch}/bank", template="generic", encoding="")
    assert second.status_code == 403 and "NOTHING_TO_PAY" in second.text and "等待银行回盘" in second.text
    assert "claims " not in second.text and "--" not in second.text.split("NOTHING_TO_PAY")[0][-300:]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(BankTransfer)) == len(per_member)
        assert [e.kind for e in s.scalars(select(ExportRecord))] == ["bank"]
    assert list(temp_root.iterdir()) == []
    forged = _post(web, f"/finance/{batch}/bank", template="../../etc/passwd")
    assert forged.status_code == 400 and "BANK_TEMPLATE_UNKNOWN" in forged.text


def test_the_banks_return_file_is_reconciled_and_failures_listed(web, store, batch):
    log_in(web, FINANCE)
    sent = list(csv.reader(io.StringIO(_post(web, f"/finance/{batch}/bank", template="generic").content
                                       .decode("utf-8-sig"))))
    failed_account, failed_name, failed_amount = sent[1][0], sent[1][1], Decimal(sent[1][2])
    answer = io.StringIO()
    writer = csv.writer(answer)
    writer.writerow(["账号", "户名", "金额", "处理结果", "失败原因"])
    for account, name, amount, *_ in sent[1:]:
        writer.writerow([account, name, amount, *(("失败", "账户已销户") if account == failed_account else ("成功", ""))])
    page = web.get("/finance")
    result = web.post(f"/finance/{batch}/reconcile", data={"csrf_token": _csrf(page.text)},
                      files={"result_file": ("回盘.csv", answer.getvalue().encode("utf-8-sig"), "text/csv")})
    assert result.status_code == 200 and 'id="reconciled"' in result.text
    ok_total = sum(Decimal(r[2]) for r in sent[1:]) - failed_amount
    assert f"成功 {len(sent) - 2} 笔 {ok_total:,.2f} 元 + 失败 1 笔 {failed_amount:,.2f} 元" in result.text
    assert failed_name in result.text and "账户已销户" in result.text and failed_account not in result.text
    with store.session() as s:
        statuses = sorted(t.status for t in s.scalars(select(BankTransfer)))
    assert statuses == ["failed"] + ["succeeded"] * (len(sent) - 2)
    refused = _post(web, f"/finance/{batch}/paid")  # a failed transfer: the batch cannot be marked paid whole
    assert refused.status_code == 403 and "BANK_FAILED_TRANSFERS" in refused.text


def test_a_return_file_that_does_not_match_is_refused_whole_with_located_problems(web, store, batch):
    log_in(web, FINANCE)
    _post(web, f"/finance/{batch}/bank", template="generic")
    bad = "账号,户名,金额,状态\n9999888877776666,无名氏,1.00,成功\n".encode("utf-8-sig")
    result = web.post(f"/finance/{batch}/reconcile", data={"csrf_token": _csrf(web.get("/finance").text)},
                      files={"result_file": ("回盘.csv", bad, "text/csv")})
    assert result.status_code == 400 and "BANK_RESULT_UNKNOWN_ACCOUNT" in result.text and "回盘.csv:2" in result.text
    with store.session() as s:
        assert {t.status for t in s.scalars(select(BankTransfer))} == {"sent"}


def test_marking_a_batch_paid_pays_every_approved_claim(web, store, batch):
    log_in(web, FINANCE)
    totals, _ = _payable(store, batch)
    answer = _post(web, f"/finance/{batch}/paid")
    assert answer.status_code == 200
    assert f"{len(totals)} 件申请标记为已支付，合计 {sum(totals.values()):,.2f} 元" in answer.text
    with store.session() as s:
        assert set(s.scalars(select(ClaimRow.state).where(ClaimRow.claim_id.in_(list(totals))))) == {"paid"}


def test_letters_download_as_a_pdf_for_the_batch_or_one_unit(web, store, batch, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    log_in(web, FINANCE)

    def text_of(answer) -> str:
        path = tmp_path / "letters.pdf"
        path.write_bytes(answer.content)
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout

    whole = _post(web, f"/finance/{batch}/letters", unit="")
    assert whole.status_code == 200 and whole.content.startswith(b"%PDF")
    assert quote(f"补助通知书-批次{batch}.pdf") in whole.headers["content-disposition"]
    text = text_of(whole)
    assert "王丽" in text and "周平" in text  # members of two units
    one = _post(web, f"/finance/{batch}/letters", unit="西湖区某街道工会")
    text = text_of(one)
    assert "周平" in text and "王丽" not in text
    assert quote(f"补助通知书-批次{batch}-西湖区某街道工会.pdf") in one.headers["content-disposition"]


@pytest.mark.parametrize("name", [CLERK, REVIEWER, AUDITOR])
def test_other_roles_are_refused_the_finance_page_and_its_actions(web, store, batch, name):
    log_in(web, name)
    page = web.get("/finance")
    assert page.status_code == 403 and "ROLE_REFUSED" in page.text and "财务" in page.text
    csrf = _csrf(web.get("/").text)
    for action in ("payouts", "bank", "letters", "paid"):
        refused = web.post(f"/finance/{batch}/{action}", data={"csrf_token": csrf, "template": "generic"})
        assert refused.status_code == 403 and "ROLE_REFUSED" in refused.text, action
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(ExportRecord)) == 0
        assert set(s.scalars(select(ClaimRow.state).where(ClaimRow.batch_id == batch))) <= {"approved", "refused"}


def test_the_auditor_reruns_a_batch_and_sees_it_agree_then_sees_a_changed_amount(web, store, batch):
    log_in(web, AUDITOR)
    same = web.get(f"/audit/rerun?batch={batch}")
    assert same.status_code == 200 and 'class="same" id="rerun-result"' in same.text and "一致" in same.text
    with store.session() as s:
        line = s.scalars(select(ResultLineRow).where(ResultLineRow.batch_id == batch, ResultLineRow.amount_fen > 0)
                         .order_by(ResultLineRow.id)).first()
        claim_id, was = line.claim_id, Decimal(line.amount_fen) / 100
        s.execute(update(ResultLineRow).where(ResultLineRow.id == line.id).values(amount_fen=line.amount_fen + 100))
    changed = web.get(f"/audit/rerun?batch={batch}")
    assert "不一致" in changed.text and 'id="rerun-differences"' in changed.text
    assert claim_id in changed.text and f"{was + 1:.2f}" in changed.text and "金额不同" in changed.text
    assert "自负医疗费补助" in changed.text and "medical_subsidy" not in changed.text  # the policy's names, not codes
    assert "BATCH_UNKNOWN" in web.get("/audit/rerun?batch=999").text


def test_the_auditor_verifies_the_log_and_sees_a_tampered_entry(web, store, batch):
    log_in(web, AUDITOR)
    with store.session() as s:
        count = s.scalar(select(func.count()).select_from(AuditEntry))
    intact = web.get("/audit/verify")
    assert f"审计日志完好：共 {count} 条记录" in intact.text
    with store.session() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(user_name="别人"))
    broken = web.get("/audit/verify")
    assert "发现 1 处问题" in broken.text and "AUDIT_TAMPERED" in broken.text and "第 2 条" in broken.text


def test_the_auditor_lists_who_viewed_whose_data_and_downloads_the_bundle(web, store, batch, temp_root):
    log_in(web, REVIEWER)
    web.get("/claim?id=2025-0003")
    web.post("/logout", data={"csrf_token": _csrf(web.get("/").text)})
    log_in(web, AUDITOR)
    listed = web.get("/audit/access?member=HZ1002")
    assert listed.status_code == 200 and REVIEWER in listed.text and "网页查看申请说明" in listed.text
    assert "共 1 条" in listed.text and "HZ1001" not in listed.text
    with store.session() as s:
        states = sorted(s.scalars(select(ClaimRow.state)))
    bundle = _post(web, f"/audit/{batch}/bundle", page="/audit")
    assert bundle.status_code == 200 and quote(f"复算包-批次{batch}.zip") in bundle.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    assert "manifest.json" in names
    assert list(temp_root.iterdir()) == []
    with store.session() as s:  # read-only: no claim changed
        assert sorted(s.scalars(select(ClaimRow.state))) == states
        assert s.scalar(select(func.count()).select_from(AccessRecord).where(AccessRecord.what == "audit.bundle")) > 0


@pytest.mark.parametrize("name", [CLERK, REVIEWER, FINANCE])
def test_other_roles_are_refused_the_auditor_pages(web, store, batch, name):
    log_in(web, name)
    for path in ("/audit", f"/audit/rerun?batch={batch}", "/audit/verify", "/audit/access"):
        refused = web.get(path)
        assert refused.status_code == 403 and "ROLE_REFUSED" in refused.text and "审计" in refused.text, path
    bundle = web.post(f"/audit/{batch}/bundle", data={"csrf_token": _csrf(web.get("/").text)})
    assert bundle.status_code == 403 and "ROLE_REFUSED" in bundle.text


def test_anonymous_visitors_are_sent_to_login_from_finance_and_audit(web):
    for path in ("/finance", "/audit", "/audit/verify"):
        assert web.get(path, follow_redirects=False).headers["location"] == "/login"


def test_a_differences_reason_code_is_shown_in_words():
    from claims.workflow.auditor import _in_words

    shown = _in_words("0.00 CAP_REACHED")
    assert shown.startswith("0.00（") and "CAP_REACHED" not in shown and re.search(r"[\u4e00-\u9fff]", shown)
    assert _in_words("12.00") == "12.00" and _in_words("（无）") == "（无）"


def test_the_access_list_shows_the_newest_first_and_counts_them_all(store):
    from datetime import datetime, timedelta

    from claims.workflow.access import record_access
    from claims.workflow.auditor import access_list
    from tests.store.helpers import add_users

    add_users(store)
    start = datetime(2026, 3, 2, 1, 0, 0)
    with store.session() as s:
        for minute, member in enumerate(("M1", "M2", "M3")):
            record_access(s, REVIEWER, [member], "page.claim", "", start + timedelta(minutes=minute))
    with store.session() as s:
        total, rows = access_list(s, AUDITOR, None, newest=2)
    assert total == 3 and [row[2] for row in rows] == ["M3", "M2"]
    assert rows[0][0] == "2026-03-02 09:02:00"  # Beijing time
