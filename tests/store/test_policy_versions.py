"""Policy versions: maker-checker on the scheme's rules, the version in force per period, batches that
record and keep their version, and every batch checking its enrollments against the policy it uses."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from claims.audit.rerun import rerun, snapshot_of_batch
from claims.problems import ProblemsFound
from claims.store.models import AuditEntry, Batch, ClaimRow, PolicyVersion, ResultLineRow
from claims.workflow.audit_log import verify
from claims.workflow.batches import create_batch
from claims.workflow.corrections import correct
from claims.workflow.errors import Refusal
from claims.workflow.imports import import_file
from claims.workflow.policy_versions import approve, publish, reject, version_rows
from claims.workflow.users import add_user
from tests.conftest import POLICIES
from tests.store.helpers import (
    ADMIN,
    AUDITOR,
    CLERK,
    REVIEWER,
    SCENARIOS,
    add_users,
    batch_and_approve,
    count,
    import_folder,
    policy,
    publish_and_approve,
)

HANGZHOU = POLICIES / "hangzhou.yaml"
DEDUCTIBLE = SCENARIOS / "hz_waiting_level_deductible"
STACKING = SCENARIOS / "hz_bands_caps_stacking"


def _refused(code: str):
    return pytest.raises(Refusal, match=rf"\[{code}\]")


def _import_all(store, folder, rules=None) -> None:
    """Members, enrollments and claims of a folder; ``rules``: the policy enrollments are checked against
    (None: the approved version of each period)."""
    for kind in ("members", "enrollments", "claims"):
        with store.session() as s:
            assert not import_file(s, kind, folder / f"{kind}.csv", CLERK, rules).problems


def _variant(tmp_path, name: str, *replacements: tuple[str, str]):
    text = HANGZHOU.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- maker-checker ----------------------------------------------------------------------------------------

def test_only_a_clerk_publishes_and_only_another_person_with_the_reviewer_role_decides(store):
    add_users(store)
    with store.session() as s, _refused("ROLE_REFUSED"):
        publish(s, HANGZHOU, REVIEWER)
    with store.session() as s:
        version = publish(s, HANGZHOU, CLERK, "2025 年度委员会决议").id
    with store.session() as s, _refused("ROLE_REFUSED"):
        approve(s, version, CLERK)  # a clerk without the reviewer role
    with store.session() as s:
        add_user(s, ADMIN, CLERK, "reviewer")  # the publisher now also holds the reviewer role
    with store.session() as s, _refused("FOUR_EYES"):
        approve(s, version, CLERK)
    with store.session() as s, _refused("FOUR_EYES"):
        reject(s, version, CLERK, "自己驳回")
    with store.session() as s:
        assert s.get(PolicyVersion, version).state == "pending"
        approve(s, version, REVIEWER, "与决议一致")
    with store.session() as s, _refused("POLICY_VERSION_STATE"):
        approve(s, version, REVIEWER)
    with store.session() as s, _refused("POLICY_VERSION_STATE"):
        reject(s, version, REVIEWER, "太晚了")
    with store.session() as s:
        row = s.get(PolicyVersion, version)
        assert (row.state, row.published_by, row.decided_by) == ("approved", CLERK, REVIEWER)


def test_a_rejection_needs_a_reason_and_a_rejected_or_pending_version_is_never_used(store, tmp_path):
    add_users(store)
    import_folder(store, DEDUCTIBLE, "hangzhou")
    with store.session() as s:
        first = publish(s, HANGZHOU, CLERK).id
    with store.session() as s, _refused("REASON_REQUIRED"):
        reject(s, first, REVIEWER, "  ")
    with store.session() as s:
        reject(s, first, REVIEWER, "起付线与决议不符")
    with store.session() as s:
        publish(s, _variant(tmp_path, "v2.yaml", ("amount: 1000, per: period", "amount: 800, per: period")), CLERK)
    with store.session() as s, _refused("POLICY_NOT_APPROVED"):
        create_batch(s, None, 2025, CLERK)
    assert count(store, Batch) == 0


def test_a_file_that_fails_policy_check_is_not_published(store, tmp_path):
    add_users(store)
    bad = _variant(tmp_path, "bad.yaml", ("rate: 0.50", "rate: 1.50"))
    with store.session() as s, pytest.raises(ProblemsFound) as found:
        publish(s, bad, CLERK)
    first_band = 1 + next(n for n, text in enumerate(bad.read_text(encoding="utf-8").splitlines()) if "rate: 1.50" in text)
    assert [(p.code, p.line) for p in found.value.problems] == [("POLICY_RATE_RANGE", first_band)]
    assert count(store, PolicyVersion) == 0


def test_the_same_text_is_not_published_twice(store):
    add_users(store)
    with store.session() as s:
        publish(s, HANGZHOU, CLERK)
    with store.session() as s, _refused("POLICY_ALREADY_PUBLISHED"):
        publish(s, HANGZHOU, CLERK)


def test_publishing_approving_and_rejecting_are_in_the_audit_log(store, tmp_path):
    add_users(store)
    version = publish_and_approve(store)
    with store.session() as s:
        other = publish(s, _variant(tmp_path, "v2.yaml", ("amount: 1000, per: period", "amount: 800, per: period")),
                        CLERK, "草案").id
    with store.session() as s:
        reject(s, other, REVIEWER, "委员会未通过")
    with store.session() as s:
        entries = [(e.action, e.user_name, e.entity_id, e.reason) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "policy_version").order_by(AuditEntry.seq))]
        assert verify(s)[1] == []
    assert entries == [("policy.publish", CLERK, str(version), "测试"), ("policy.approve", REVIEWER, str(version), ""),
                       ("policy.publish", CLERK, str(other), "草案"),
                       ("policy.reject", REVIEWER, str(other), "委员会未通过")]


# --- the version in force -----------------------------------------------------------------------------------

def _lines(session, batch_id: int) -> list[tuple]:
    return [(r.claim_id, r.item, r.benefit, r.amount_fen, r.reason, r.explanation_json)
            for r in session.scalars(select(ResultLineRow).where(ResultLineRow.batch_id == batch_id)
                                     .order_by(ResultLineRow.position))]


def test_a_batch_without_a_policy_file_equals_the_same_batch_with_the_file(store):
    add_users(store)
    import_folder(store, DEDUCTIBLE, "hangzhou")
    version = publish_and_approve(store)
    results = []
    for loaded in (None, policy("hangzhou")):
        session = store._sessions()
        try:
            batch = create_batch(session, loaded, 2025, CLERK)
            results.append((batch.policy_version_id, batch.policy_sha256, batch.total_fen, _lines(session, batch.id)))
        finally:
            session.rollback()
            session.close()
    without_file, with_file = results
    assert without_file[0] == version and without_file == with_file
    # medical B1 1,000 + B4 150 (see test_audit), B1's living allowance 5 days × 50 = 250
    assert without_file[2] == 140000 and len(without_file[3]) > 0


def test_once_rules_are_approved_an_unapproved_file_cannot_be_named(store, tmp_path):
    add_users(store)
    import_folder(store, DEDUCTIBLE, "hangzhou")
    publish_and_approve(store)
    other = _variant(tmp_path, "mine.yaml", ("amount: 1000, per: period", "amount: 10, per: period"))
    from claims.policy import read_policy
    with store.session() as s, _refused("POLICY_FILE_NOT_APPROVED"):
        create_batch(s, read_policy(other), 2025, CLERK)


def _three_years(tmp_path):
    """One member with `medical` in 2023–2025 and one outpatient claim of 3,000 self-pay each year."""
    folder = tmp_path / "years"
    folder.mkdir()
    (folder / "members.csv").write_text(
        "member_id,name,id_number,unit\nHZ003,赵敏,330102199007070374,杭州市第一人民医院工会\n", encoding="utf-8")
    (folder / "enrollments.csv").write_text(
        "member_id,item,period,shares,start_date\n"
        + "".join(f"HZ003,medical,{y},1,{y}-01-01\n" for y in (2023, 2024, 2025)), encoding="utf-8")
    (folder / "claims.csv").write_text(
        "claim_id,member_id,event_type,admission_date,discharge_date,hospital_level,diagnoses,total_cost,"
        "insurance_paid,self_pay_in_scope,self_pay_out_of_scope,submitted_date\n"
        + "".join(f"Y{y},HZ003,outpatient_special,{y}-04-01,{y}-04-01,3,I10,3000.00,0,3000.00,0,{y}-04-10\n"
                  for y in (2023, 2024, 2025)), encoding="utf-8")
    return folder


def test_each_period_uses_the_version_in_force_and_a_dated_change_inside_it(store, tmp_path):
    add_users(store)
    folder = _three_years(tmp_path)
    v1 = publish_and_approve(store)
    # version 2, from the 2024 period: deductible 800, and the first band's rate 50% → 60% from 2025-01-01
    v2 = publish_and_approve(store, path=_variant(
        tmp_path, "hangzhou-2024.yaml", ("amount: 1000, per: period", "amount: 800, per: period"),
        ("{from: 0, to: 20000, rate: 0.50}", "{from: 0, to: 20000, rate: {2024-01-01: 0.50, 2025-01-01: 0.60}}")),
        from_period=2024)
    _import_all(store, folder)
    used, paid = {}, {}
    for year in (2023, 2024, 2025):
        with store.session() as s:
            batch = create_batch(s, None, year, CLERK)
            used[year] = batch.policy_version_id
            paid[year] = batch.total_fen
    # 2023, version 1: (3,000 − 1,000) × 50% = 1,000.00
    # 2024, version 2: (3,000 − 800) × 50% = 1,100.00
    # 2025, version 2 with the dated rate: (3,000 − 800) × 60% = 1,320.00
    assert used == {2023: v1, 2024: v2, 2025: v2}
    assert paid == {2023: 100000, 2024: 110000, 2025: 132000}
    with store.session() as s:
        covers = {row.version.id: row.covers for row in version_rows(s, AUDITOR)}
    assert covers == {v1: "2023 年度及以前", v2: "2024 年度起"}


def test_a_correction_and_a_rerun_use_the_original_batchs_version_never_a_newer_one(store, tmp_path):
    add_users(store)
    import_folder(store, STACKING, "hangzhou")
    v1 = publish_and_approve(store)
    batch_id = batch_and_approve(store, None)
    v2 = publish_and_approve(store, path=_variant(tmp_path, "lower.yaml",
                                                  ("amount: 1000, per: period", "amount: 500, per: period")))
    with store.session() as s:
        covers = {row.version.id: row.covers for row in version_rows(s, AUDITOR)}
    assert covers == {v1: "已被版本 2 取代", v2: "全部互助期"}
    with store.session() as s:
        done = correct(s, "A1", {"self_pay_in_scope": "4000.00", "total_cost": "28088.00"}, "医院更正了发票", CLERK)
        adjustments = [(a.claim_id, a.benefit, a.before_fen, a.after_fen) for a in done.adjustments]
        assert done.batch.policy_version_id == v1
    # the hand-computed figures of version 1 (deductible 1,000), as in test_corrections_and_audit
    assert adjustments == [("A1", "medical_subsidy", 350000, 150000), ("A2", "medical_subsidy", 1370000, 1330000),
                           ("A3", "medical_subsidy", 1300000, 1540000)]
    with store.session() as s:
        assert rerun(snapshot_of_batch(s, batch_id, AUDITOR)).identical


# --- enrollments checked against the policy of the batch (issue 17) ----------------------------------------

def _beijing_enrollment(tmp_path):
    folder = tmp_path / "bj"
    folder.mkdir()
    (folder / "members.csv").write_text(
        "member_id,name,id_number,unit\nW1,王丽,330102198005120142,测试单位\n", encoding="utf-8")
    (folder / "enrollments.csv").write_text(
        "member_id,item,period,shares,start_date\nW1,women,2025,3,2024-01-01\n".replace("2024-01-01", "2025-01-01"),
        encoding="utf-8")
    (folder / "claims.csv").write_text(
        "claim_id,member_id,event_type,admission_date,discharge_date,hospital_level,diagnoses,total_cost,"
        "insurance_paid,self_pay_in_scope,self_pay_out_of_scope,submitted_date\n"
        "G1,W1,inpatient,2025-06-01,2025-06-03,3,C50.9,0,0,0,0,2025-06-10\n", encoding="utf-8")
    return folder


def test_shares_imported_under_another_policy_are_refused_by_the_batch_that_would_pay_them(store, tmp_path):
    add_users(store)
    folder = _beijing_enrollment(tmp_path)
    beijing = policy("beijing")
    _import_all(store, folder, beijing.policy)
    with store.session() as s, pytest.raises(Refusal) as refused:
        create_batch(s, policy("hangzhou"), 2025, CLERK)
    error = refused.value
    assert error.code == "BATCH_ENROLLMENT_CONFLICT"
    assert "会员“W1”2025 年度“女职工特殊疾病补助”的参保（3 份" in error.message and "上限 1 份" in error.message
    with store.session() as s:
        assert s.get(ClaimRow, "G1").state == "received"
    assert count(store, Batch) == 0 and count(store, ResultLineRow) == 0
    # the approved version refuses it the same way, and the Beijing file can no longer be named
    publish_and_approve(store)
    with store.session() as s, _refused("BATCH_ENROLLMENT_CONFLICT"):
        create_batch(s, None, 2025, CLERK)
    with store.session() as s, _refused("POLICY_FILE_NOT_APPROVED"):
        create_batch(s, beijing, 2025, CLERK)


def test_an_item_the_batch_policy_does_not_have_is_refused(store, tmp_path):
    add_users(store)
    folder = _beijing_enrollment(tmp_path)
    (folder / "enrollments.csv").write_text(
        "member_id,item,period,shares,start_date\nW1,allowance,2025,1,2025-01-01\nW1,women,2025,1,2025-01-01\n",
        encoding="utf-8")
    _import_all(store, folder, policy("beijing").policy)
    with store.session() as s, pytest.raises(Refusal) as refused:
        create_batch(s, policy("hangzhou"), 2025, CLERK)
    assert "项目代码“allowance”" in refused.value.message and "INPUT_UNKNOWN_ITEM" in refused.value.message
    assert "“女职工特殊疾病补助”的参保" not in refused.value.message  # one share of women is what Hangzhou allows


def test_enrollments_without_a_file_are_checked_against_the_version_of_their_period(store, tmp_path):
    add_users(store)
    folder = _beijing_enrollment(tmp_path)
    publish_and_approve(store)
    with store.session() as s:
        assert not import_file(s, "members", folder / "members.csv", CLERK).problems
    with store.session() as s:
        result = import_file(s, "enrollments", folder / "enrollments.csv", CLERK)
    assert [(p.code, p.line, p.column) for p in result.problems] == [("INPUT_TOO_MANY_SHARES", 2, "shares")]
    assert "上限 1 份" in result.problems[0].message


def test_the_batch_records_its_version_in_the_audit_log(store):
    add_users(store)
    import_folder(store, DEDUCTIBLE, "hangzhou")
    version = publish_and_approve(store)
    batch_id = batch_and_approve(store, None)
    with store.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "batch.create")).one()
        assert json.loads(entry.details_json)["policy_version"] == version
        assert s.get(Batch, batch_id).policy_version_id == version
