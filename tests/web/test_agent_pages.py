"""The import page (/imports) and an agent's unit page (/unit) through Starlette's test client, on SQLite and
PostgreSQL: uploads (CSV in UTF-8 and GBK, XLSX, a settlement list), row errors in the page and the errors
workbook for its uploader only, CSRF, roles, another unit refused, and an upload too large."""

from __future__ import annotations

import io
import re
import warnings

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from claims.store.models import ClaimRow, MemberRow
from claims.workflow.users import add_user
from tests.settle import scenarios as settle
from tests.store.helpers import ADMIN, AUDITOR, CLERK, PASSWORD, SCENARIOS, add_users, import_folder
from tests.web.test_server import Clock, _csrf, log_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

AGENT, UNIT, OTHER = "医院代办员", "杭州市第一人民医院工会", "北京某公司工会"
HZ2 = SCENARIOS / "hz_waiting_level_deductible"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def web(store, db_url):
    """北京某公司工会 (BJ001–BJ003, claims E1–E6) and one member of the agent's unit (HZ001, claims A1–A4)
    stored by the clerk; the agent of 杭州市第一人民医院工会."""
    from claims.web.app import create_app

    add_users(store)
    import_folder(store, SCENARIOS / "bj_shares_waiting_cover_end", "beijing")
    import_folder(store, SCENARIOS / "hz_bands_caps_stacking", "hangzhou")
    with store.session() as s:
        add_user(s, ADMIN, AGENT, "agent", PASSWORD, UNIT)
    with TestClient(create_app(db_url, Clock()), base_url="http://testserver") as client:
        yield client


def members_csv(*extra: str) -> str:
    return (HZ2 / "members.csv").read_text(encoding="utf-8") + "".join(line + "\n" for line in extra)


def upload(client, kind: str, name: str, content: bytes, csrf: str | None = None):
    csrf = csrf if csrf is not None else _csrf(client.get("/imports").text)
    return client.post("/imports", data={"kind": kind, "csrf_token": csrf}, files={"file": (name, content)})


def test_an_agent_uploads_their_units_members_and_sees_the_counts(web, store):
    log_in(web, AGENT)
    form = web.get("/imports")
    assert form.status_code == 200 and UNIT in form.text and 'enctype="multipart/form-data"' in form.text
    done = upload(web, "members", "会员.csv", members_csv().encode("utf-8"))
    assert done.status_code == 200, done.text
    assert re.search(r'id="count-added">2<', done.text) and 'id="imported"' in done.text
    again = upload(web, "members", "会员.csv", members_csv().encode("utf-8"))  # the same file: nothing new
    assert re.search(r'id="count-added">0<', again.text) and re.search(r'id="count-unchanged">2<', again.text)
    with store.session() as s:
        assert s.get(MemberRow, "HZ003").unit == UNIT


def test_gbk_csv_and_xlsx_uploads_are_read(web, store):
    log_in(web, AGENT)
    done = upload(web, "members", "会员-gbk.csv", members_csv().encode("gbk"))
    assert re.search(r'id="count-added">2<', done.text), done.text
    book = Workbook()
    sheet = book.active
    for row in (HZ2 / "enrollments.csv").read_text(encoding="utf-8").splitlines():
        sheet.append(row.split(","))
    data = io.BytesIO()
    book.save(data)
    # the enrollments are checked against the approved policy version in force: none here, so every row
    # is refused, each at its period cell — the XLSX was read
    refused = upload(web, "enrollments", "参保.xlsx", data.getvalue())
    assert refused.status_code == 422 and "POLICY_NOT_APPROVED" in refused.text
    assert re.search(r'id="count-refused">3<', refused.text)  # its three rows


def test_a_row_of_another_unit_is_shown_located_and_the_errors_workbook_is_the_uploaders_only(web, store):
    log_in(web, AGENT)
    bad = members_csv(f"HZ009,钱多,110101199003071233,{OTHER},,,")  # file row 4
    page = upload(web, "members", "会员.csv", bad.encode("utf-8"))
    assert page.status_code == 422
    assert "第 4 行" in page.text and "AGENT_OTHER_UNIT" in page.text and OTHER in page.text
    assert "未导入任何一行" in page.text and re.search(r'id="count-refused">1<', page.text)
    with store.session() as s:
        assert s.get(MemberRow, "HZ002") is None  # nothing of the file imported
    link = re.search(r'href="(/imports/errors/[^"]+)"', page.text).group(1)
    workbook = web.get(link)
    assert workbook.status_code == 200 and workbook.headers["content-type"] == XLSX
    rows = list(load_workbook(io.BytesIO(workbook.content)).active.iter_rows(values_only=True))
    assert rows[3][0] == "HZ009" and "AGENT_OTHER_UNIT" not in rows[3][-1] and OTHER in rows[3][-1]
    assert rows[1][-1] is None and rows[2][-1] is None  # the good rows carry no message
    web.cookies.clear()
    log_in(web, CLERK)
    assert web.get(link).status_code == 404  # another user never gets it, even with the link


def test_a_header_problem_is_reported_once(web):
    log_in(web, AGENT)
    text = "member_id,name,id_number\nHZ002,李强,33010219750303025X\nHZ003,赵敏,330102199007070374\n"
    page = upload(web, "members", "会员.csv", text.encode("utf-8"))
    assert page.status_code == 422
    assert page.text.count("<td class=\"num\">表头</td>") == 1 and "第 2 行" not in page.text


def test_claims_of_another_units_member_are_refused_and_the_page_says_nothing_of_them(web, store):
    log_in(web, AGENT)
    claims = (SCENARIOS / "bj_shares_waiting_cover_end" / "claims.csv").read_text(encoding="utf-8")
    claims = claims.replace("E1,", "X1,").replace("E2,", "X2,")  # fresh numbers, BJ001's member number kept
    page = upload(web, "claims", "申请.csv", claims.encode("utf-8"))
    assert page.status_code == 422 and page.text.count("AGENT_OTHER_UNIT") == 6
    assert OTHER not in page.text and "张军" not in page.text and "何琳" not in page.text
    with store.session() as s:
        assert s.get(ClaimRow, "X1") is None


def test_a_settlement_list_can_be_uploaded_by_its_units_agent(web, store):
    log_in(web, AGENT)
    assert upload(web, "members", "会员.csv", members_csv().encode("utf-8")).status_code == 200
    rows = settle.settlement_rows(HZ2)
    text = io.StringIO()
    import csv

    writer = csv.DictWriter(text, list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    page = upload(web, "settlements", "结算清单.csv", text.getvalue().encode("utf-8"))
    assert page.status_code == 200, page.text
    assert re.search(r'id="count-added">4<', page.text) and "结算清单.csv：4 行结算记录" in page.text
    assert "/tmp" not in page.text and "claims-web-" not in page.text  # no server path in what the agent reads
    with store.session() as s:
        assert s.scalar(select(ClaimRow.member_id).where(ClaimRow.claim_id == "B3")) == "HZ003"


def test_an_upload_without_the_csrf_token_is_refused_and_imports_nothing(web, store):
    log_in(web, AGENT)
    refused = upload(web, "members", "会员.csv", members_csv().encode("utf-8"), csrf="forged")
    assert refused.status_code == 403 and "CSRF_REFUSED" in refused.text
    refused = web.post("/imports", data={"kind": "members"}, files={"file": ("会员.csv", members_csv().encode())})
    assert refused.status_code == 403
    with store.session() as s:
        assert s.get(MemberRow, "HZ002") is None


def test_an_upload_over_the_limit_is_refused_in_chinese(web):
    from claims.web.guard import MAX_UPLOAD_BYTES

    log_in(web, AGENT)
    csrf = _csrf(web.get("/imports").text)
    big = b"member_id,name\n" + b"x" * (MAX_UPLOAD_BYTES + 1)
    refused = upload(web, "members", "会员.csv", big, csrf)
    assert refused.status_code == 413 and "UPLOAD_TOO_LARGE" in refused.text and "文件太大" in refused.text
    assert web.get("/imports").status_code == 200  # still logged in, the page works


def test_roles_the_import_and_unit_pages_refuse(web):
    log_in(web, AUDITOR)
    assert web.get("/imports").status_code == 403 and "ROLE_REFUSED" in web.get("/imports").text
    assert web.get("/unit").status_code == 403
    web.cookies.clear()
    log_in(web, CLERK)
    assert web.get("/imports").status_code == 200 and "任何单位" in web.get("/imports").text
    assert web.get("/unit").status_code == 403


def test_an_agent_sees_their_unit_and_cannot_open_another_units_claim(web):
    log_in(web, AGENT)
    home = web.get("/")
    assert home.status_code == 200 and 'id="agent-start"' in home.text and "/unit" in home.text
    unit = web.get("/unit")
    assert unit.status_code == 200 and UNIT in unit.text
    assert [c for c in ("A1", "A2", "A3", "A4") if f"<td>{c}</td>" in unit.text] == ["A1", "A2", "A3", "A4"]
    assert "E1" not in unit.text and "张军" not in unit.text and "王丽" in unit.text
    for claim_id in ("E1", "A1", "NOSUCH"):  # another unit's, their own, none: the same refusal, no content
        page = web.get(f"/claim?id={claim_id}")
        assert page.status_code == 403 and "ROLE_REFUSED" in page.text
        assert "张军" not in page.text and OTHER not in page.text and "王丽" not in page.text


def test_a_file_that_is_not_a_table_gets_a_chinese_message_and_no_workbook(web):
    log_in(web, AGENT)
    page = upload(web, "claims", "申请.xlsx", b"PK\x03\x04 this is not a workbook")
    assert page.status_code == 422 and "未导入任何一行" in page.text
    assert "errors-download" not in page.text and "Traceback" not in page.text
    empty = upload(web, "claims", "申请.csv", b"")
    assert empty.status_code == 400 and "IMPORT_EMPTY_FILE" in empty.text
    unknown = upload(web, "payouts", "申请.csv", b"a,b\n")
    assert unknown.status_code == 400 and "IMPORT_KIND" in unknown.text
