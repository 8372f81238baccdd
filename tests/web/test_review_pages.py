"""Batches and review in the browser's terms, through Starlette's test client on SQLite and PostgreSQL: the
queue's filters against the database's own figures, a reproducible sample, pages that together list every
claim once, four-eyes, 会审 with two reviewers (the CLI's decide obeys the same setting), CSRF, batch
creation with its progress page, the workbench's waits, and roles that may not read."""

from __future__ import annotations

import math
import re
import time

import pytest
from sqlalchemy import select

from claims.store.models import ClaimRow, MemberRow, ResultLineRow
from claims.workflow.batches import create_batch
from claims.workflow.decisions import decide
from claims.workflow.errors import Refusal
from claims.workflow.users import add_user
from tests.store.helpers import (
    ADMIN,
    CLERK,
    FINANCE,
    PASSWORD,
    REVIEWER,
    import_folder,
    policy,
    publish_and_approve,
)
from tests.web.review_data import UNITS, write_period
from tests.web.test_server import Clock, TestClient, _csrf, add_users, log_in

SECOND = "周复核"  # a second reviewer


@pytest.fixture
def users(store):
    add_users(store)
    with store.session() as s:
        add_user(s, ADMIN, SECOND, "reviewer", PASSWORD)


@pytest.fixture
def web(store, db_url, users):
    from claims.web.app import create_app

    with TestClient(create_app(db_url, Clock()), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def period(store, tmp_path, users):
    """120 claims imported and calculated; returns the batch (created by the clerk)."""
    import_folder(store, write_period(tmp_path / "period"), "hangzhou")
    with store.session() as s:
        return create_batch(s, policy("hangzhou"), 2025, CLERK).id


def _truth(store, batch_id):
    """Per claim: (amount in fen, reasons, unit, state) straight from the tables."""
    with store.session() as s:
        claims = {c.claim_id: c for c in s.scalars(select(ClaimRow).where(ClaimRow.batch_id == batch_id))}
        units = {m.member_id: m.unit for m in s.scalars(select(MemberRow))}
        out = {cid: [0, set(), units[c.member_id], c.state] for cid, c in claims.items()}
        for line in s.scalars(select(ResultLineRow).where(ResultLineRow.current.is_(True))):
            if line.claim_id in out:
                out[line.claim_id][0] += line.amount_fen
                if line.reason:
                    out[line.claim_id][1].add(line.reason)
    return out


def _listed(html: str) -> list[str]:
    return re.findall(r'class="claim-link">([^<]+)</a>', html)


def _all_pages(client, url: str) -> list[str]:
    seen, page = [], 1
    while True:
        html = client.get(f"{url}{'&' if '?' in url else '?'}page={page}").text
        seen += _listed(html)
        if 'id="next"' not in html:
            return seen
        page += 1


def test_the_pages_of_a_batch_list_every_claim_once_fifty_at_a_time(web, store, period):
    log_in(web, REVIEWER)
    first = web.get(f"/batches/{period}")
    assert first.status_code == 200 and len(_listed(first.text)) == 50
    assert "第 1 / 3 页" in first.text  # 120 claims, 50 a page
    listed = _all_pages(web, f"/batches/{period}")
    assert listed == sorted(_truth(store, period)) and len(set(listed)) == 120


def test_the_queue_filters_agree_with_the_database(web, store, period):
    truth = _truth(store, period)
    log_in(web, REVIEWER)
    shown = _all_pages(web, f"/batches/{period}/queue?min=3000")
    assert shown == sorted(c for c, t in truth.items() if t[0] >= 300000) and 0 < len(shown) < 120
    flagged = sorted(c for c, t in truth.items() if t[1] & {"LATE_SUBMISSION", "DUPLICATE_INVOICE", "CAPPED", "CAP_REACHED"})
    assert 12 < len(flagged) < 120 and _all_pages(web, f"/batches/{period}/queue?flagged=1") == flagged
    late = sorted(c for c, t in truth.items() if "LATE_SUBMISSION" in t[1])
    assert len(late) == 12  # every tenth claim was submitted after the deadline
    assert _all_pages(web, f"/batches/{period}/queue?reason=LATE_SUBMISSION") == late
    unit = UNITS[1]
    assert _all_pages(web, f"/batches/{period}/queue?unit={unit}&min=1000") == \
        sorted(c for c, t in truth.items() if t[2] == unit and t[0] >= 100000)
    bad = web.get(f"/batches/{period}/queue?min=一千")
    assert bad.status_code == 400 and "AMOUNT_INVALID" in bad.text


def test_a_sample_is_its_percentage_of_the_matches_and_the_same_for_the_same_seed(web, store, period):
    log_in(web, REVIEWER)
    first = web.get(f"/batches/{period}/queue?sample=5&seed=4711")
    drawn = _listed(first.text)
    assert len(drawn) == math.ceil(120 * 5 / 100) and "4711" in first.text
    assert _listed(web.get(f"/batches/{period}/queue?sample=5&seed=4711").text) == drawn
    other = {tuple(_listed(web.get(f"/batches/{period}/queue?sample=5&seed={seed}").text)) for seed in (1, 2, 3)}
    assert len(other | {tuple(drawn)}) > 1  # other seeds draw other claims
    unseeded = web.get(f"/batches/{period}/queue?sample=5")
    seed = re.search(r'id="seed">(\d+)<', unseeded.text).group(1)  # the page shows the seed it drew with
    assert _listed(web.get(f"/batches/{period}/queue?sample=5&seed={seed}").text) == _listed(unseeded.text)
    for bad in ("五", "0", "101"):
        refused = web.get(f"/batches/{period}/queue?sample={bad}")
        assert refused.status_code == 400 and "SAMPLE_PERCENT" in refused.text, bad
    large = _listed(web.get(f"/batches/{period}/queue?min=2000&sample=50&seed=9").text)
    matches = [c for c, t in _truth(store, period).items() if t[0] >= 200000]
    assert set(large) <= set(matches) and len(large) == min(50, math.ceil(len(matches) * 50 / 100))


def _decide(client, claim_id, decision, note="", version=None):
    page = client.get(f"/claims/{claim_id}")
    if version is None:
        version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    return client.post(f"/claims/{claim_id}/decide", data={"csrf_token": _csrf(page.text), "decision": decision,
                                                            "note": note, "version": version}, follow_redirects=False)


def _state(store, claim_id):
    with store.session() as s:
        claim = s.get(ClaimRow, claim_id)
        return claim.state, claim.decided_by


def test_a_reviewer_approves_returns_and_refuses_from_the_claim_page(web, store, period):
    log_in(web, REVIEWER)
    page = web.get("/claims/C0001")
    assert page.status_code == 200 and "C0001" in page.text and "本期剩余限额" in page.text
    assert "三级医院" in page.text and "医院等级 3" not in page.text  # the level as people say it (review_data: 3)
    seen = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    approved = _decide(web, "C0001", "approve")
    assert approved.status_code == 303 and _state(store, "C0001") == ("approved", REVIEWER)
    assert "已通过" in web.get(approved.headers["location"]).text
    assert _decide(web, "C0002", "refuse").status_code == 403  # a refusal needs its reason
    assert _state(store, "C0002") == ("calculated", None)
    assert _decide(web, "C0002", "refuse", "发票不实").status_code == 303
    assert _decide(web, "C0003", "return", "请补充出院小结").status_code == 303
    assert [_state(store, c)[0] for c in ("C0002", "C0003")] == ["refused", "returned"]
    again = _decide(web, "C0001", "return", version=seen)  # the form as it was before the approval
    assert again.status_code == 409 and "CLAIM_" in again.text  # decided once, never twice


def test_a_page_older_than_the_claim_decides_nothing(web, store, period):
    log_in(web, REVIEWER)
    stale = re.search(r'name="version" value="(\d+)"', web.get("/claims/C0005").text).group(1)
    with store.session() as s:
        decide(s, "C0005", "return", SECOND, "另一位审核员先退回了")
    answer = _decide(web, "C0005", "approve", version=stale)
    assert answer.status_code == 409 and "CLAIM_" in answer.text
    assert _state(store, "C0005") == ("returned", SECOND)


def test_the_creator_of_a_batch_sees_why_they_may_not_approve_it_and_is_refused(web, store, period):
    with store.session() as s:
        add_user(s, ADMIN, CLERK, "reviewer")  # clerk and reviewer: created the batch
    log_in(web, CLERK)
    queue = web.get(f"/batches/{period}/queue")
    assert "四眼原则" in queue.text and 'id="four-eyes"' in queue.text
    assert 'id="four-eyes"' in web.get("/claims/C0001").text
    refused = _decide(web, "C0001", "approve")
    assert refused.status_code == 403 and "FOUR_EYES" in refused.text
    assert _state(store, "C0001") == ("calculated", None)


def test_csrf_is_required_to_decide(web, store, period):
    log_in(web, REVIEWER)
    page = web.get("/claims/C0001")
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    for data in ({"decision": "approve", "version": version},
                 {"decision": "approve", "version": version, "csrf_token": "forged"}):
        assert web.post("/claims/C0001/decide", data=data).status_code == 403
    assert _state(store, "C0001") == ("calculated", None)


@pytest.fixture
def threshold(tmp_path, monkeypatch):
    settings = tmp_path / "claims-settings.yaml"
    settings.write_text("review:\n  second_reviewer_above: 3000.00\n", encoding="utf-8")
    monkeypatch.setenv("CLAIMS_SETTINGS", str(settings))


def test_above_the_threshold_two_different_reviewers_approve(web, store, period, threshold):
    truth = _truth(store, period)
    big = min(c for c, t in truth.items() if t[0] > 300000)
    small = min(c for c, t in truth.items() if 0 < t[0] <= 300000)
    log_in(web, REVIEWER)
    assert _decide(web, small, "approve").status_code == 303 and _state(store, small)[0] == "approved"
    assert "会审" in web.get(f"/claims/{big}").text
    assert _decide(web, big, "approve").status_code == 303
    assert _state(store, big) == ("calculated", REVIEWER)
    page = web.get(f"/claims/{big}")
    assert "会审待复核" in page.text and 'id="mine-first"' in page.text
    again = _decide(web, big, "approve")
    assert again.status_code == 403 and "SECOND_REVIEWER" in again.text
    web.post("/logout", data={"csrf_token": _csrf(page.text)})
    log_in(web, SECOND)
    assert big in web.get("/").text  # waits for a second reviewer
    assert _decide(web, big, "approve").status_code == 303
    assert _state(store, big) == ("approved", SECOND)


def test_the_command_lines_decide_obeys_the_same_threshold(store, period, threshold):
    truth = _truth(store, period)
    big = min(c for c, t in truth.items() if t[0] > 300000)
    with store.session() as s:
        decide(s, big, "approve", REVIEWER)
    assert _state(store, big) == ("calculated", REVIEWER)
    with pytest.raises(Refusal) as refused, store.session() as s:
        decide(s, big, "approve", REVIEWER)
    assert refused.value.code == "SECOND_REVIEWER"
    with store.session() as s:
        decide(s, big, "approve", SECOND)
    assert _state(store, big) == ("approved", SECOND)


def test_a_bad_threshold_refuses_the_decision_naming_the_file(store, period, tmp_path, monkeypatch):
    settings = tmp_path / "bad.yaml"
    settings.write_text("review:\n  second_reviewer_above: 很多\n", encoding="utf-8")
    monkeypatch.setenv("CLAIMS_SETTINGS", str(settings))
    with pytest.raises(Refusal) as refused, store.session() as s:
        decide(s, "C0001", "approve", REVIEWER)
    assert refused.value.code == "SETTINGS_BAD_THRESHOLD" and "bad.yaml" in refused.value.message


def test_a_clerk_creates_a_batch_from_the_page_and_follows_its_progress(web, store, tmp_path):
    import_folder(store, write_period(tmp_path / "period", claims=20), "hangzhou")
    publish_and_approve(store)
    log_in(web, REVIEWER)
    form = web.get("/batches")
    assert 'id="create-batch"' not in form.text
    assert web.post("/batches", data={"csrf_token": _csrf(form.text), "period": "2025"}).status_code == 403
    web.post("/logout", data={"csrf_token": _csrf(form.text)})
    log_in(web, CLERK)
    form = web.get("/batches")
    bad = web.post("/batches", data={"csrf_token": _csrf(form.text), "period": "二〇二五"})
    assert bad.status_code == 400 and "PERIOD_INVALID" in bad.text
    started = web.post("/batches", data={"csrf_token": _csrf(form.text), "period": "2025", "claim_ids": "C0001, C0002\nC0003"},
                       follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"].startswith("/batches/jobs/")
    status = _finished(web, started.headers["location"])
    assert "已完成" in status.text, status.text
    batch_id = int(re.search(r'id="job-batch">查看批次 (\d+)<', status.text).group(1))
    assert _listed(web.get(f"/batches/{batch_id}").text) == ["C0001", "C0002", "C0003"]
    def whole_period():
        return _finished(web, web.post("/batches", data={"csrf_token": _csrf(form.text), "period": "2025"},
                                       follow_redirects=False).headers["location"]).text

    assert "已完成" in whole_period()  # the other 17
    empty = whole_period()
    assert "未能计算" in empty and "BATCH_EMPTY" in empty  # nothing left to calculate


def _finished(client, job: str):
    """The job's page once it no longer refreshes itself."""
    for _ in range(300):
        status = client.get(job)
        if 'http-equiv="refresh"' not in status.text:
            return status
        time.sleep(0.1)
    pytest.fail("the batch calculation did not finish in 30 s")


def test_the_workbench_shows_what_waits_for_each_role(web, store, period):
    with store.session() as s:
        for claim_id in ("C0001", "C0002"):
            decide(s, claim_id, "approve", REVIEWER)
        decide(s, "C0003", "return", REVIEWER, "缺材料")
    log_in(web, REVIEWER)
    home = web.get("/").text
    assert f'href="/batches/{period}/queue"' in home and "117 件待审核" in home
    for name, expected in ((CLERK, "1 件"), (FINANCE, "2 件已通过、尚未导出发放表")):
        web.post("/logout", data={"csrf_token": _csrf(home)})
        log_in(web, name)
        home = web.get("/").text
        assert expected in home, name


def test_roles_that_may_not_read_are_refused_in_chinese(web, store, period):
    log_in(web, ADMIN)
    for path in ("/batches", f"/batches/{period}", f"/batches/{period}/queue", "/claims/C0001", "/claim?id=C0001"):
        answer = web.get(path)
        assert answer.status_code == 403 and "ROLE_REFUSED" in answer.text and "只允许" in answer.text, path
    web.post("/logout", data={"csrf_token": _csrf(web.get("/").text)})
    log_in(web, REVIEWER)
    assert web.get("/claims/NO-SUCH").status_code == 404


def test_the_old_claim_address_leads_to_the_claim_page(web, store, period):
    log_in(web, REVIEWER)
    moved = web.get("/claim?id=C0001", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/claims/C0001"

