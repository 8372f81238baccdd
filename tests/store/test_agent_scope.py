"""A base-union agent (基层工会代办员) is bound to one unit, in the workflow, on SQLite and PostgreSQL:
their imports take their unit's rows only (another unit's row is refused at its row and column, and the file
imports nothing), nothing stored about another unit shows in a message, and they read only their unit's
claims."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from claims.store.models import AccessRecord, ClaimRow, MemberRow, User
from claims.workflow.batches import create_batch
from claims.workflow.decisions import decide
from claims.workflow.errors import InvalidInput, Refusal
from claims.workflow.imports import import_file
from claims.workflow.settlements import import_settlements
from claims.workflow.units import unit_claims
from claims.workflow.users import add_user
from claims.workflow.views import claim_explanation
from tests.settle import scenarios as settle
from tests.store.helpers import ADMIN, CLERK, PASSWORD, REVIEWER, SCENARIOS, add_users, import_folder, policy

AGENT, UNIT, OTHER = "医院代办员", "杭州市第一人民医院工会", "北京某公司工会"
HZ, HZ2, BJ = (SCENARIOS / n for n in ("hz_bands_caps_stacking", "hz_waiting_level_deductible",
                                       "bj_shares_waiting_cover_end"))


@pytest.fixture
def units(store):
    """Another unit's members and claims stored by the clerk (北京某公司工会: BJ001–BJ003, claims E1–E6) and
    one of the agent's own (HZ001, claims A1–A4); the agent of 杭州市第一人民医院工会."""
    add_users(store)
    import_folder(store, BJ, "beijing")
    import_folder(store, HZ, "hangzhou")
    with store.session() as s:
        add_user(s, ADMIN, AGENT, "agent", PASSWORD, UNIT)
    return store


def rows_of(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def agent_import(store, kind: str, path: Path, name: str = AGENT):
    with store.session() as s:
        result = import_file(s, kind, path, name, policy("hangzhou").policy)
        if result.problems:
            s.rollback()
        return result


def count(store, model) -> int:
    with store.session() as s:
        return len(list(s.scalars(select(model))))


def test_an_agent_needs_a_unit_no_other_role_has_one_and_the_role_stands_alone(store):
    add_users(store)
    with store.session() as s:
        with pytest.raises(InvalidInput) as missing:
            add_user(s, ADMIN, "代办甲", "agent", PASSWORD)
        assert missing.value.code == "UNIT_REQUIRED"
        with pytest.raises(InvalidInput) as blank:
            add_user(s, ADMIN, "代办甲", "agent", PASSWORD, "   ")
        assert blank.value.code == "UNIT_REQUIRED"
        with pytest.raises(InvalidInput) as clerk:
            add_user(s, ADMIN, "经办乙", "clerk", PASSWORD, UNIT)
        assert clerk.value.code == "UNIT_NOT_FOR_ROLE"
        add_user(s, ADMIN, "代办甲", "agent", PASSWORD, f" {UNIT} ")
    with store.session() as s:
        assert s.get(User, "代办甲").unit == UNIT  # as the members file writes it, surrounding spaces dropped
        with pytest.raises(Refusal) as combined:
            add_user(s, ADMIN, "代办甲", "clerk")
        assert combined.value.code == "AGENT_SEPARATE"
        with pytest.raises(Refusal) as other_way:
            add_user(s, ADMIN, CLERK, "agent", None, UNIT)
        assert other_way.value.code == "AGENT_SEPARATE"


def test_an_agent_imports_their_own_units_members_and_claims(units, tmp_path):
    for kind in ("members", "enrollments", "claims"):
        result = agent_import(units, kind, HZ2 / f"{kind}.csv")
        assert not result.problems, result.problems
        assert result.added == len(rows_of(HZ2 / f"{kind}.csv"))
    with units.session() as s:
        assert s.get(ClaimRow, "B3").member_id == "HZ003"


def test_a_members_row_of_another_unit_is_refused_at_its_unit_cell_and_nothing_is_imported(units, tmp_path):
    rows = rows_of(HZ2 / "members.csv")
    rows[1]["unit"] = OTHER  # file row 3
    before = count(units, MemberRow)
    result = agent_import(units, "members", write(tmp_path / "members.csv", rows))
    assert [(p.code, p.line, p.column) for p in result.problems] == [("AGENT_OTHER_UNIT", 3, "unit")]
    message = result.problems[0].message
    assert OTHER in message and UNIT in message and "删去这一行" in message  # the value, the unit, what to do
    assert count(units, MemberRow) == before


def test_a_member_number_another_unit_uses_is_refused_without_saying_whose_it_is(units, tmp_path):
    rows = rows_of(HZ2 / "members.csv")
    rows[0]["member_id"] = "BJ001"  # 张军 of 北京某公司工会, stored by the clerk
    result = agent_import(units, "members", write(tmp_path / "members.csv", rows))
    assert [(p.code, p.line, p.column) for p in result.problems] == [("AGENT_MEMBER_ID_TAKEN", 2, "member_id")]
    text = " ".join(p.message for p in result.problems)
    assert "张军" not in text and OTHER not in text and "330102198001011176" not in text


def test_claims_and_enrollments_of_another_units_member_are_refused_and_say_nothing_of_that_unit(units, tmp_path):
    claims = rows_of(HZ2 / "claims.csv")
    claims[2]["member_id"] = "BJ002"  # row 4: a member of the other unit
    assert not agent_import(units, "members", HZ2 / "members.csv").problems
    result = agent_import(units, "claims", write(tmp_path / "claims.csv", claims))
    assert [(p.code, p.line, p.column) for p in result.problems] == [("AGENT_OTHER_UNIT", 4, "member_id")]
    assert "BJ002" in result.problems[0].message and UNIT in result.problems[0].message
    assert "何琳" not in result.problems[0].message and OTHER not in result.problems[0].message
    unknown = rows_of(HZ2 / "claims.csv")
    unknown[2]["member_id"] = "NOBODY"  # a member nowhere gets the very same answer: nothing to probe with
    same = agent_import(units, "claims", write(tmp_path / "claims2.csv", unknown)).problems
    assert same[0].message.replace("NOBODY", "BJ002") == result.problems[0].message
    enrollments = rows_of(HZ2 / "enrollments.csv")
    enrollments[0]["member_id"] = "BJ003"
    refused = agent_import(units, "enrollments", write(tmp_path / "enrollments.csv", enrollments))
    assert [(p.code, p.line) for p in refused.problems] == [("AGENT_OTHER_UNIT", 2)]
    assert count(units, ClaimRow) == 10  # E1–E6 and A1–A4 only


def test_a_claim_number_another_unit_uses_is_refused_without_its_state(units, tmp_path):
    assert not agent_import(units, "members", HZ2 / "members.csv").problems
    assert not agent_import(units, "enrollments", HZ2 / "enrollments.csv").problems
    claims = rows_of(HZ2 / "claims.csv")
    claims[0]["claim_id"] = "E1"  # the other unit's claim
    result = agent_import(units, "claims", write(tmp_path / "claims.csv", claims))
    assert [(p.code, p.line, p.column) for p in result.problems] == [("AGENT_CLAIM_ID_TAKEN", 2, "claim_id")]
    assert "已受理" not in result.problems[0].message and "received" not in result.problems[0].message
    with units.session() as s:
        assert s.get(ClaimRow, "E1").member_id == "BJ001"


def test_the_clerk_still_imports_any_unit(units, tmp_path):
    rows = rows_of(HZ2 / "members.csv")
    rows[1]["unit"] = OTHER
    with units.session() as s:
        result = import_file(s, "members", write(tmp_path / "members.csv", rows), CLERK)
    assert not result.problems and result.added == 2


def test_an_agents_settlement_list_takes_only_their_units_members_and_reverses_only_their_claims(units, tmp_path):
    rows = settle.settlement_rows(HZ2)  # B1–B4 of HZ002/HZ003 (the agent's unit)
    assert not agent_import(units, "members", HZ2 / "members.csv").problems
    assert not agent_import(units, "enrollments", HZ2 / "enrollments.csv").problems
    foreign = dict(rows[0], setl_id="S-BJ", certno="330102198001011176", psn_name="张军")  # BJ001, other unit
    reversal = dict(rows[0], setl_id="E2", refd_setl_flag="1")  # reverses the other unit's claim E2
    path = settle.write(tmp_path / "结算清单.csv", [*rows, foreign, reversal])
    with units.session() as s:
        done = import_settlements(s, path, AGENT)
    assert not done.problems, done.problems
    assert done.result.added == 4
    skipped = {(k.row, k.reason) for k in done.translated.skipped}
    assert skipped == {(6, "非会员"), (7, "冲销的结算不在本文件或库中")}  # as if nobody: nothing learnt
    with units.session() as s:
        assert s.get(ClaimRow, "S-BJ") is None
        assert s.get(ClaimRow, "E2").state == "received"  # the other unit's claim untouched


def test_an_agent_sees_their_units_claims_with_amounts_and_never_another_units(units):
    with units.session() as s:
        create_batch(s, policy("hangzhou"), 2025, CLERK, claim_ids=["A1", "A2", "A3", "A4"])
    with units.session() as s:
        for claim_id in ("A1", "A2", "A3"):
            decide(s, claim_id, "approve", REVIEWER)
    with units.session() as s:
        found = unit_claims(s, AGENT)
    assert found.unit == UNIT and found.total == 4
    assert [c.claim_id for c in found.claims] == ["A1", "A2", "A3", "A4"]
    assert {c.member_name for c in found.claims} == {"王丽"}
    assert [c.state for c in found.claims] == ["已通过", "已通过", "已通过", "已计算"]
    assert found.by_state == {"已通过": 3, "已计算": 1}
    # A1: (8,000 − 1,000 deductible) × 50% = 3,500 + 10 nights × 50 = 500; A4: every line 0 (caps, paid before)
    assert (found.claims[0].proposed, found.claims[0].approved) == (400000, 400000)
    assert (found.claims[3].proposed, found.claims[3].approved) == (0, None)  # calculated, not approved yet
    with units.session() as s:  # the members shown are recorded as viewed
        seen = {(r.user_name, r.member_id, r.what) for r in s.scalars(select(AccessRecord))}
    assert seen == {(AGENT, "HZ001", "page.unit")}
    with units.session() as s:
        with pytest.raises(Refusal) as read:
            claim_explanation(s, AGENT, "E1")
        assert read.value.code == "ROLE_REFUSED"  # not "does not exist", not its content: agents do not read
        with pytest.raises(Refusal) as clerk:
            unit_claims(s, CLERK)
        assert clerk.value.code == "ROLE_REFUSED"


def test_a_unit_of_thousands_is_shown_a_page_at_a_time(units, tmp_path):
    """250 claims of the unit: pages of 100, the last one 50; the counts are of the whole unit."""
    template = rows_of(HZ / "claims.csv")[0]
    rows = [dict(template, claim_id=f"P{n:04d}", invoice_no=f"INV-P{n:04d}") for n in range(250)]
    with units.session() as s:
        assert not import_file(s, "claims", write(tmp_path / "claims.csv", rows), AGENT).problems
    with units.session() as s:
        last = unit_claims(s, AGENT, page=3)
        beyond = unit_claims(s, AGENT, page=99)
    assert (last.total, last.pages, len(last.claims)) == (254, 3, 54)
    assert last.claims[-1].claim_id == "P0249" and last.by_state == {"已受理": 254}
    assert beyond.page == 3
