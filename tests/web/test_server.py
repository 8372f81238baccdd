"""The web server's doors, through Starlette's test client on a real database (SQLite and PostgreSQL):
anonymous visitors sent to /login, the greeting, CSRF, idle expiry (injected clock), headers, lockout,
masked personal data and the access log."""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from claims.store.models import AccessRecord, LoginSession
from tests.store.helpers import (
    ADMIN,
    AUDITOR,
    CLERK,
    PASSWORD,
    SCENARIOS,
    add_users,
    batch_and_approve,
    import_folder,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


class Clock:
    def __init__(self):
        self.now = datetime(2026, 3, 2, 1, 0, 0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def web(store, db_url):
    from claims.web.app import create_app

    add_users(store)
    clock = Clock()
    with TestClient(create_app(db_url, clock), base_url="http://testserver") as client:
        client.clock = clock
        yield client


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def log_in(client, name=CLERK, password=PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": name, "password": password, "csrf_token": _csrf(page.text)},
                       follow_redirects=False)


def test_healthz_answers_without_login_and_every_other_page_sends_to_login(web):
    assert web.get("/healthz").status_code == 200
    for path in ("/", "/claim?id=A1", "/no-such-page", "/admin"):
        response = web.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    form = web.get("/login").text
    assert 'name="username"' in form and 'name="password"' in form and "登录" in form


def test_login_greets_by_name_and_logout_ends_the_session(web, store):
    response = log_in(web)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    home = web.get("/")
    assert home.status_code == 200 and f"您好，{CLERK}" in home.text and "经办员" in home.text
    token = web.cookies.get("claims_session")
    with store.session() as s:  # only the hash is kept
        assert token not in {row.token_sha256 for row in s.scalars(select(LoginSession))}
    bye = web.post("/logout", data={"csrf_token": _csrf(home.text)}, follow_redirects=False)
    assert bye.status_code == 303 and bye.headers["location"] == "/login?bye=1"
    web.cookies.set("claims_session", token)  # the old cookie is dead in the database, not just in the browser
    assert web.get("/", follow_redirects=False).headers["location"] == "/login"


def test_a_wrong_password_is_refused_and_five_lock_this_door_too(web):
    for attempt in range(1, 6):
        response = log_in(web, CLERK, "错误的密码-错误的密码")
        assert response.status_code == (423 if attempt == 5 else 401)
        assert 'id="error"' in response.text and "LOGIN_" in response.text
    assert "LOGIN_LOCKED" in log_in(web).text  # the right password, still locked
    web.clock.now += timedelta(minutes=15)
    assert log_in(web).status_code == 303


def test_csrf_is_required_on_every_state_changing_request(web):
    web.get("/login")
    refused = web.post("/login", data={"username": CLERK, "password": PASSWORD}, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF_REFUSED" in refused.text
    refused = web.post("/login", data={"username": CLERK, "password": PASSWORD, "csrf_token": "forged"})
    assert refused.status_code == 403
    log_in(web)
    assert web.post("/logout", data={}).status_code == 403
    assert web.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert web.post("/logout", headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert web.get("/").status_code == 200  # still logged in: the forged logout did nothing
    assert web.post("/", data={"csrf_token": "forged"}).status_code == 403


def test_a_session_expires_after_30_idle_minutes(web):
    log_in(web)
    web.clock.now += timedelta(minutes=29)
    assert web.get("/").status_code == 200  # the idle time restarts
    web.clock.now += timedelta(minutes=29)
    assert web.get("/").status_code == 200
    web.clock.now += timedelta(minutes=30)
    expired = web.get("/", follow_redirects=False)
    assert expired.status_code == 303 and expired.headers["location"] == "/login?expired=1"
    assert "30 分钟没有操作" in web.get("/login?expired=1").text


def test_security_headers_on_every_answer(web):
    for response in (web.get("/healthz"), web.get("/login"), web.get("/", follow_redirects=False)):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_claim_page_masks_personal_data_and_is_recorded(web, store):
    import_folder(store, SCENARIOS / "hz_bands_caps_stacking", "hangzhou")
    batch_and_approve(store, "hangzhou")
    log_in(web, AUDITOR)
    page = web.get("/claim?id=A1")
    assert page.status_code == 200
    with store.session() as s:
        from claims.store.models import ClaimRow, MemberRow

        member = s.get(MemberRow, s.get(ClaimRow, "A1").member_id)
        records = list(s.scalars(select(AccessRecord)))
    assert member.id_number not in page.text and member.id_number[-4:] in page.text
    assert member.id_number[:6] + "********" + member.id_number[-4:] in page.text
    assert [(r.user_name, r.member_id, r.what) for r in records] == [(AUDITOR, member.member_id, "page.claim")]


def test_the_administrator_is_greeted_but_sees_no_members(web):
    log_in(web, ADMIN)
    home = web.get("/")
    assert f"您好，{ADMIN}" in home.text and "不办理申请业务" in home.text
    assert "ROLE_REFUSED" in web.get("/claim?id=A1").text


def test_a_page_opened_the_wrong_way_answers_in_chinese(web):
    log_in(web)
    answer = web.get("/logout")  # logging out is a button (POST); typing the address must not show English
    assert answer.status_code == 405 and "METHOD_NOT_ALLOWED" in answer.text and "不能直接打开" in answer.text
    assert "Method Not Allowed" not in answer.text
