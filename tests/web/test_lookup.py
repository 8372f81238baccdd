"""The member lookup (/lookup) through Starlette's test client on a real database (SQLite and PostgreSQL):
public but CSRF-protected, the member's own claims and nothing else, one neutral answer whatever was wrong,
rate-limited per client address and per ID number in the database, every success in the access log."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from claims.store.models import AccessRecord, ClaimRow, MemberRow
from claims.web.pages.lookup import FLOOR_SECONDS
from claims.workflow.lookup import TRIES, WHO, member_lookup
from tests.conftest import ROOT
from tests.store.helpers import add_users, batch_and_approve, import_folder
from tests.web.test_server import Clock, TestClient, _csrf

SMALL = ROOT / "tests" / "fixtures" / "small"
# 李强 (HZ1002) from tests/fixtures/small/members.csv: his ID number, his claims, his phone's last four digits
ID_NUMBER, CLAIM, PHONE_LAST4 = "33010219750303025X", "2025-0003", "0002"
HIS_CLAIMS = {"2025-0003", "2025-0012"}
OTHER_MEMBERS_CLAIM = "2025-0001"  # 王丽's


@pytest.fixture
def app(store, db_url):
    from claims.web.app import create_app

    add_users(store)
    import_folder(store, SMALL, "hangzhou")
    batch_and_approve(store, "hangzhou")
    clock = Clock()
    application = create_app(db_url, clock)
    application.clock = clock
    return application


@pytest.fixture
def web(app):
    with TestClient(app, base_url="http://testserver", client=("203.0.113.7", 50000)) as client:
        yield client


def ask(web, id_number=ID_NUMBER, claim_id=CLAIM, phone_last4=PHONE_LAST4):
    form = web.get("/lookup")
    return web.post("/lookup", data={"csrf_token": _csrf(form.text), "id_number": id_number, "claim_id": claim_id,
                                     "phone_last4": phone_last4})


def test_the_lookup_is_public_and_linked_from_the_login_page(web):
    assert 'href="/lookup"' in web.get("/login").text
    form = web.get("/lookup", follow_redirects=False)
    assert form.status_code == 200
    for field in ("id_number", "claim_id", "phone_last4"):
        assert f'name="{field}"' in form.text


def test_a_lookup_post_without_the_forms_token_is_refused(web):
    web.get("/lookup")
    data = {"id_number": ID_NUMBER, "claim_id": CLAIM, "phone_last4": PHONE_LAST4}
    assert web.post("/lookup", data=data).status_code == 403
    assert web.post("/lookup", data={**data, "csrf_token": "forged"}).status_code == 403


def test_the_right_three_fields_show_the_members_claims_only_masked_and_recorded(web, store):
    answer = ask(web, id_number=ID_NUMBER.lower(), phone_last4=" 0002 ")  # a lower-case x and spaces still match
    assert answer.status_code == 200 and 'id="lookup-claims"' in answer.text
    shown = set(re.findall(r"<td>(2025-\d{4})</td>", answer.text))
    assert shown == HIS_CLAIMS
    assert OTHER_MEMBERS_CLAIM not in answer.text and "王丽" not in answer.text
    assert ID_NUMBER not in answer.text and "330102********025X" in answer.text
    assert "[批次" not in answer.text  # the staff's batch references are not the member's business
    with store.session() as s:
        states = {c.claim_id: c.state for c in s.scalars(select(ClaimRow).where(ClaimRow.member_id == "HZ1002"))}
        records = [(r.user_name, r.member_id, r.what) for r in s.scalars(select(AccessRecord))]
    assert states["2025-0003"] == "approved" and "已通过" in answer.text
    assert records == [(WHO, "HZ1002", "lookup")]


@pytest.mark.parametrize("wrong", [
    {"id_number": "330102197503030261"},  # someone else's ID number (赵敏's is 330106…; this is nobody's)
    {"id_number": "330106199007070361"},  # 赵敏's real ID number, 李强's claim
    {"claim_id": OTHER_MEMBERS_CLAIM},  # a claim that exists, of another member
    {"claim_id": "2025-9999"},  # a claim that does not exist
    {"phone_last4": "0003"},  # the wrong phone
])
def test_a_mismatch_shows_one_neutral_message_and_nothing_else(web, store, wrong):
    reference = ask(web, claim_id="no-such-claim")
    started = time.monotonic()
    answer = ask(web, **wrong)
    assert time.monotonic() - started >= FLOOR_SECONDS
    assert answer.status_code == reference.status_code == 200
    assert answer.text == reference.text  # byte for byte: nothing tells which field was wrong
    assert "LOOKUP_NO_MATCH" in answer.text and 'id="lookup-claims"' not in answer.text
    assert "李强" not in answer.text and "赵敏" not in answer.text
    with store.session() as s:
        assert list(s.scalars(select(AccessRecord))) == []


def test_a_member_without_a_registered_phone_never_matches(web, store):
    with store.session() as s:
        s.get(MemberRow, "HZ1002").phone = ""
    assert "LOOKUP_NO_MATCH" in ask(web, phone_last4="").text
    assert "LOOKUP_NO_MATCH" in ask(web).text


def test_five_tries_per_address_then_refused_even_when_right_until_the_window_passes(web, app):
    for _ in range(TRIES):
        assert "LOOKUP_NO_MATCH" in ask(web, phone_last4="9999").text
    limited = ask(web)
    assert limited.status_code == 429 and "LOOKUP_LIMITED" in limited.text and "查询次数过多" in limited.text
    assert 'id="lookup-claims"' not in limited.text
    # another ID number from the same address is limited too
    assert "LOOKUP_LIMITED" in ask(web, id_number="330106199007070361", claim_id="2025-0004", phone_last4="0003").text
    app.clock.now += timedelta(minutes=15)
    assert 'id="lookup-claims"' in ask(web).text


def test_five_tries_per_id_number_from_any_address(app):
    for number in range(TRIES):  # five different addresses, one ID number
        with TestClient(app, client=(f"198.51.100.{number}", 1000)) as client:
            assert "LOOKUP_NO_MATCH" in ask(client, phone_last4="9999").text
    with TestClient(app, client=("198.51.100.200", 1000)) as fresh:
        assert "LOOKUP_LIMITED" in ask(fresh).text  # a new address, the same ID number: limited
        assert "LOOKUP_NO_MATCH" in ask(fresh, id_number="330106199007070361").text  # another ID: not limited


def test_the_limit_is_counted_in_the_database_across_app_instances(store, app, db_url):
    """Two server workers (two applications on the same database) share the count."""
    from claims.web.app import create_app

    other = create_app(db_url, app.clock)
    with TestClient(app, client=("192.0.2.1", 1)) as first, TestClient(other, client=("192.0.2.1", 1)) as second:
        for number in range(TRIES):
            assert "LOOKUP_NO_MATCH" in ask(first if number % 2 else second, phone_last4="9999").text
        assert "LOOKUP_LIMITED" in ask(first).text and "LOOKUP_LIMITED" in ask(second).text


def test_the_workflow_keeps_only_hashes_of_addresses_and_id_numbers(store, app):
    from claims.store.models import LookupAttempt

    with store.session() as s:
        member_lookup(s, ID_NUMBER, CLAIM, PHONE_LAST4, "203.0.113.9", app.clock())
    with store.session() as s:
        attempt = s.scalars(select(LookupAttempt)).one()
    assert attempt.matched and ID_NUMBER not in attempt.id_number_sha256 and "203.0.113.9" not in attempt.client_sha256
    assert len(attempt.id_number_sha256) == len(attempt.client_sha256) == 64
