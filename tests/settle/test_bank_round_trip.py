"""The bank round trip: templates, a result file with failures, the 待重新发放 sheet, the next bank file
paying the corrected accounts, refusals of a result file that does not match, SMS, and the period report."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from claims.problems import ProblemsFound
from claims.store.models import AuditEntry, BankTransfer, Batch, ClaimRow, MemberRow
from claims.workflow.bank import reconcile
from claims.workflow.errors import Refusal
from claims.workflow.imports import import_file
from claims.workflow.payouts import mark_paid
from claims.workflow.report import period_report
from exports.commands import export_bank, export_payouts
from exports.reconcile import write_reconciliation
from exports.report import write_report
from exports.sms import LIMIT, build_messages, write_sms
from tests.conftest import ROOT
from tests.store.helpers import CLERK, FINANCE, add_users, batch_and_approve, import_folder

SMALL = ROOT / "tests" / "fixtures" / "small"
quiet = lambda message: None  # noqa: E731


@pytest.fixture
def approved(store):
    add_users(store)
    import_folder(store, SMALL, "hangzhou")
    return batch_and_approve(store, "hangzhou")


def bank_csv(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(path.open(encoding=encoding)))


def result_file(path: Path, sent: list[list[str]], fail: dict[str, str]) -> Path:
    """The bank's answer to a generic CSV bank file: account, name, amount, status, reason."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["账号", "户名", "金额", "处理结果", "失败原因"])
        for account, name, amount, *_ in sent[1:]:
            writer.writerow([account, name, amount, "失败" if account in fail else "成功", fail.get(account, "")])
    return path


def test_the_generic_file_has_the_bank_column_and_gbk_on_request(store, approved, tmp_path):
    with store.session() as s:
        written = export_bank(s, approved, tmp_path / "bank.csv", FINANCE, quiet, "generic", "gbk")
    rows = bank_csv(tmp_path / "bank.csv", "gbk")
    assert rows[0] == ["收款账号", "收款户名", "金额", "附言", "开户行"]
    assert {r[4] for r in rows[1:]} >= {"中国工商银行杭州分行"}
    assert sum(Decimal(r[2]) for r in rows[1:]) == written.total and len(rows) - 1 == written.count


def test_a_name_gbk_cannot_carry_is_refused_before_anything_is_written(store, approved, tmp_path):
    with store.session() as s:
        s.get(MemberRow, "HZ1001").name = "王𠮷"
    with store.session() as s, pytest.raises(ProblemsFound) as found:
        export_bank(s, approved, tmp_path / "bank.csv", FINANCE, quiet, "generic", "gbk")
    assert found.value.problems[0].code == "BANK_ENCODING" and "𠮷" in found.value.problems[0].message
    assert not (tmp_path / "bank.csv").exists()


def test_icbc_xlsx_and_a_third_template_added_by_a_file_alone(store, approved, tmp_path):
    with store.session() as s:
        done = export_bank(s, approved, tmp_path / "icbc.xlsx", FINANCE, quiet, "icbc")
    sheet = load_workbook(done.files[0])["批量代发"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("账号", "户名", "金额", "用途/附言")
    assert all(isinstance(r[0], str) and r[0].isdigit() for r in rows[1:])  # accounts as text, never numbers
    assert sum(Decimal(r[2]) for r in rows[1:]) == done.total


def test_an_xlsx_template_splits_files_by_size(store, tmp_path):
    add_users(store)
    import_folder(store, SMALL, "hangzhou")
    batch_id = batch_and_approve(store, "hangzhou")
    tiny = tmp_path / "tiny.yaml"  # a bank of our own: one YAML file, a 5,200-byte limit
    tiny.write_text((ROOT / "mappings" / "bank" / "icbc.yaml").read_text(encoding="utf-8")
                    .replace("max_bytes: 5000000", "max_bytes: 5200"), encoding="utf-8")
    with store.session() as s:
        done = export_bank(s, batch_id, tmp_path / "tiny.xlsx", FINANCE, quiet, str(tiny))
    assert len(done.files) >= 2 and all(f.stat().st_size <= 5200 for f in done.files)
    assert [f.name for f in done.files][:2] == ["tiny-1.xlsx", "tiny-2.xlsx"] and not (tmp_path / "tiny.xlsx").exists()
    amounts = [Decimal(r[2]) for f in done.files for r in list(load_workbook(f).active.iter_rows(values_only=True))[1:]]
    assert sum(amounts) == done.total and len(amounts) == done.count


def test_failures_wait_then_go_into_the_next_bank_file_once_the_account_is_corrected(store, approved, tmp_path):
    with store.session() as s:
        first = export_bank(s, approved, tmp_path / "bank1.csv", FINANCE, quiet)
    sent = bank_csv(tmp_path / "bank1.csv")
    failing = sent[1]
    result = result_file(tmp_path / "result1.csv", sent, {failing[0]: "账户已销户"})
    with store.session() as s:  # nothing more to send while the file is at the bank
        with pytest.raises(Refusal) as refused:
            export_bank(s, approved, tmp_path / "again.csv", FINANCE, quiet)
    assert refused.value.code == "NOTHING_TO_PAY" and "等待银行回盘" in refused.value.message
    with store.session() as s:
        done = reconcile(s, approved, result, FINANCE)
        write_reconciliation(s, done, tmp_path / "对账.xlsx")
        assert done.total(done.sent) == done.total(done.succeeded) + done.total(done.failed) == first.total
        assert done.total(done.failed) == Decimal(failing[2]) and not done.batch_paid
        failed_member = s.scalars(select(BankTransfer).where(BankTransfer.status == "failed")).one().member_id
        failed_claims = [c.claim_id for c in s.scalars(select(ClaimRow).where(ClaimRow.member_id == failed_member,
                                                                              ClaimRow.batch_id == approved))]
        assert {s.get(ClaimRow, c).state for c in failed_claims} == {"approved"}
        others = {c.member_id: c.state for c in s.scalars(select(ClaimRow).where(
            ClaimRow.batch_id == approved, ClaimRow.member_id.not_in((failed_member, "HZ1006"))))}
        assert set(others.values()) <= {"paid", "refused"}
        assert s.get(ClaimRow, "2025-0008").state == "approved"  # HZ1006 has no account: not in any bank file
    waiting = list(load_workbook(tmp_path / "对账.xlsx")["待重新发放"].iter_rows(min_row=2, values_only=True))
    assert [(w[0], w[3], Decimal(str(w[5])), w[8]) for w in waiting] == \
        [(failed_member, failing[0], Decimal(failing[2]), "账户已销户")]
    assert waiting[0][10].startswith("否")
    with store.session() as s:  # the same account would fail again: not sent, and not markable as all paid
        with pytest.raises(Refusal) as refused:
            export_bank(s, approved, tmp_path / "bank2.csv", FINANCE, quiet)
        assert "账号尚未更正" in refused.value.message
        with pytest.raises(Refusal) as refused:
            mark_paid(s, approved, FINANCE)
        assert refused.value.code == "BANK_FAILED_TRANSFERS"
    members = bank_csv(SMALL / "members.csv")
    for row in members[1:]:
        if row[0] == failed_member:
            row[5] = "6228480000000000012"
        if row[0] == "HZ1006":
            row[4:6] = ["中国银行杭州分行", "6216610000000000063"]
    corrected = tmp_path / "members.csv"
    with corrected.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(members)
    with store.session() as s:
        updated = import_file(s, "members", corrected, CLERK)
        assert not updated.problems and updated.contact_updated == 2
    with store.session() as s:
        second = export_bank(s, approved, tmp_path / "bank2.csv", FINANCE, quiet)
    resent = bank_csv(tmp_path / "bank2.csv")
    assert sorted(r[0] for r in resent[1:]) == ["6216610000000000063", "6228480000000000012"]
    assert second.total == sum(Decimal(r[2]) for r in resent[1:])
    assert Decimal(next(r[2] for r in resent if r[0] == "6228480000000000012")) == Decimal(failing[2])
    with store.session() as s:
        done = reconcile(s, approved, result_file(tmp_path / "result2.csv", resent, {}), FINANCE)
        assert done.batch_paid and len(done.succeeded) == 2
        assert s.get(Batch, approved).state == "paid"
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.action == "bank.reconcile").limit(1))


def test_a_result_file_that_does_not_match_is_refused_with_located_messages(store, approved, tmp_path):
    with store.session() as s:
        export_bank(s, approved, tmp_path / "bank.csv", FINANCE, quiet)
    sent = bank_csv(tmp_path / "bank.csv")
    wrong = [sent[0], [*sent[1][:2], str(Decimal(sent[1][2]) + Decimal("0.01")), *sent[1][3:]], sent[2], sent[2],
             ["6200000000000000000", "某人", "1.00", "", ""], *sent[3:]]
    result = result_file(tmp_path / "result.csv", wrong, {})
    with store.session() as s, pytest.raises(ProblemsFound) as found:
        reconcile(s, approved, result, FINANCE)
    located = {(p.code, p.line, p.column) for p in found.value.problems}
    assert located == {("BANK_RESULT_AMOUNT", 2, "金额"), ("BANK_RESULT_DUPLICATE", 4, "账号"),
                       ("BANK_RESULT_UNKNOWN_ACCOUNT", 5, "账号")}
    with store.session() as s:  # nothing applied
        assert {t.status for t in s.scalars(select(BankTransfer))} == {"sent"}
    missing = result_file(tmp_path / "short.csv", sent[:-1], {})
    with store.session() as s, pytest.raises(ProblemsFound) as found:
        reconcile(s, approved, missing, FINANCE)
    assert [p.code for p in found.value.problems] == ["BANK_RESULT_MISSING_LINE"]


def test_sms_only_for_money_that_arrived_within_70_characters(store, approved, tmp_path):
    with store.session() as s:
        export_bank(s, approved, tmp_path / "bank.csv", FINANCE, quiet)
        s.get(MemberRow, "HZ1002").phone = ""
    sent = bank_csv(tmp_path / "bank.csv")
    with store.session() as s, pytest.raises(Refusal):
        build_messages(s, approved, FINANCE, "杭州市总工会")
    with store.session() as s:
        reconcile(s, approved, result_file(tmp_path / "r.csv", sent, {sent[1][0]: "户名不符"}), FINANCE)
    with store.session() as s:
        messages = build_messages(s, approved, FINANCE, "杭州市总工会")
        apart = write_sms(messages, tmp_path / "sms.csv")
    rows = bank_csv(tmp_path / "sms.csv")[1:]
    arrived = {(r[0], r[1]) for r in sent[2:]}  # every transfer but the failed one
    assert len(rows) + len(messages.without_phone) == len(arrived)
    assert all(len(r[1]) <= LIMIT and int(r[2]) == len(r[1]) for r in rows)
    assert not any(sent[1][1] + "同志" in r[1] for r in rows)  # the failed transfer's member gets no SMS
    by_text = {r[1] for r in rows}
    for account, name in arrived:
        amount = next(Decimal(r[2]) for r in sent[1:] if r[0] == account)
        text = f"【杭州市总工会】{name}同志，您的职工医疗互助补助 {amount:,.2f} 元已发放至尾号 {account[-4:]} 的账户。"
        assert text in by_text or name == "李强", text
    assert apart is not None and [r[1] for r in bank_csv(apart)[1:]] == ["李强"]
    long = build_messages.__globals__["message"]("杭州市总工会职工服务中心", "欧阳娜娜娜", Decimal("123456.78"), "8224")
    assert len(long) <= LIMIT


def test_report_totals_equal_the_payout_workbooks(store, approved, tmp_path):
    with store.session() as s:
        payouts = export_payouts(s, approved, tmp_path / "payouts.xlsx", FINANCE, False, quiet)
        mark_paid(s, approved, FINANCE)
    with store.session() as s:
        report = period_report(s, 2025, FINANCE)
        write_report(report, tmp_path / "report.xlsx")
    assert report.total.paid == payouts.total
    book = load_workbook(tmp_path / "report.xlsx")
    header, total = [list(r) for r in book["汇总"].iter_rows(min_row=2, max_row=3, values_only=True)]
    figures = dict(zip(header, total, strict=True))
    assert Decimal(str(figures["补助支出（元）"])) == payouts.total
    detail = list(load_workbook(tmp_path / "payouts.xlsx")["明细"].iter_rows(values_only=True))
    total_column = next(i for i, h in enumerate(detail[0]) if str(h).startswith("合计"))
    assert detail[-1][0] == "合计" and Decimal(str(detail[-1][total_column])) == payouts.total
    by_item = {r[0]: Decimal(str(r[6])) for r in book["按项目"].iter_rows(min_row=2, values_only=True)}
    assert sum(by_item.values()) == payouts.total
    by_unit = sum(Decimal(str(r[6])) for r in book["按单位"].iter_rows(min_row=2, values_only=True))
    assert by_unit == payouts.total
    # contributions: hand count of the small fixture's 2025 enrollments × each item's contribution
    income = Decimal(str(figures["互助金收入（元）"]))
    assert income > 0 and Decimal(str(figures["补助率"])) == (payouts.total / income).quantize(Decimal("0.0001"))
    assert book["按项目"]._charts and book["按单位"]._charts
    check = list(book["批次核对"].iter_rows(values_only=True))
    assert check[-1][-1] == "一致"


def test_a_result_workbook_whose_accounts_excel_turned_into_numbers_is_refused(store, approved, tmp_path):
    from openpyxl import Workbook

    with store.session() as s:
        export_bank(s, approved, tmp_path / "bank.csv", FINANCE, quiet)
    sent = bank_csv(tmp_path / "bank.csv")
    book = Workbook()
    sheet = book.active
    sheet.append(["账号", "户名", "金额", "状态"])
    for account, name, amount, *_ in sent[1:]:
        sheet.append([int(account), name, Decimal(amount), "成功"])  # 16 digits: Excel keeps 15
    book.save(tmp_path / "回盘.xlsx")
    with store.session() as s, pytest.raises(ProblemsFound) as found:
        reconcile(s, approved, tmp_path / "回盘.xlsx", FINANCE)
    assert {p.code for p in found.value.problems} == {"INPUT_NUMBER_CELL"}
    assert found.value.problems[0].line == 2 and found.value.problems[0].column == "账号"


def test_a_template_file_dropped_into_the_folder_is_chosen_by_its_name(store, approved, tmp_path):
    with store.session() as s:
        done = export_bank(s, approved, tmp_path / "abc.csv", FINANCE, quiet, "abc")
    rows = bank_csv(tmp_path / "abc.csv", "gbk")  # the template's own encoding
    assert rows[0] == ["序号", "收款方账号", "收款方户名", "收款方开户行", "金额（元）", "备注"]
    assert [r[0] for r in rows[1:]] == [str(n) for n in range(1, done.count + 1)]
    with store.session() as s, pytest.raises(Refusal) as refused:
        export_bank(s, approved, tmp_path / "x.csv", FINANCE, quiet, "no-such-bank")
    assert refused.value.code == "BANK_TEMPLATE_UNKNOWN" and "abc、generic、icbc" in refused.value.message
