"""A review sheet's decisions applied in bulk give exactly what ``decide`` one claim at a time gives: the
same claim states, versions and notes, result lines, ledger heads, adjustments and audit entries (a whole
chain), the same claims left for a new sheet, and the same refusal for the same claim (SQLite and
PostgreSQL). Each comparison runs both paths on the same database, each in a transaction rolled back."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from benchmarks.generate import generate
from claims.store.models import (
    Adjustment,
    AuditEntry,
    Base,
    Batch,
    ClaimRow,
    LedgerEvent,
    LedgerHead,
    ResultLineRow,
)
from claims.workflow import audit_log, decisions
from claims.workflow.batches import create_batch
from claims.workflow.decisions import apply_decisions
from claims.workflow.errors import Refusal
from claims.workflow.ledger import check_ledger
from tests.store.helpers import CLERK, PASSWORD, REVIEWER, SCENARIOS, add_users, import_folder, policy


def _state(session, seq_before: int) -> dict:
    """Everything a decision can change, without ids of time stamps and HMACs (which carry the time)."""
    def rows(model, *order, skip=()):
        table = model.__table__
        return [tuple(v for c, v in row._mapping.items() if c not in skip)
                for row in session.execute(select(table).order_by(*order))]

    count, breaks = audit_log.verify(session)
    assert breaks == [] and count > seq_before  # the chain is whole after either path
    entries = [(e.seq, e.user_name, e.action, e.entity, e.entity_id, json.loads(e.details_json), e.reason)
               for e in session.scalars(select(AuditEntry).where(AuditEntry.seq > seq_before).order_by(AuditEntry.seq))]
    return {"claims": rows(ClaimRow, ClaimRow.claim_id), "lines": rows(ResultLineRow, ResultLineRow.id),
            "heads": rows(LedgerHead, LedgerHead.member_id, LedgerHead.period),
            "adjustments": rows(Adjustment, Adjustment.id),
            "batches": rows(Batch, Batch.id, skip=("created_at",)),
            "events": rows(LedgerEvent, LedgerEvent.id, skip=("at",)), "audit": entries,
            "ledger": [str(v) for v in check_ledger(session)]}


def _run(store, items, user, bulk: bool):
    """(outcome, state after) of one path, in a transaction that is rolled back."""
    session = store._sessions()  # noqa: SLF001 — a session we roll back ourselves
    try:
        _restart_sequences(session)
        seq_before = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
        try:
            outcome = apply_decisions(session, items, user, bulk=bulk)
        except Refusal as refusal:
            return (refusal.code, refusal.message), None
        return outcome, _state(session, seq_before)
    finally:
        session.rollback()
        session.close()


def _restart_sequences(session) -> None:
    """PostgreSQL's sequences do not roll back: both paths must number new batches, lines and events alike."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in Base.metadata.sorted_tables:
        for column in table.primary_key.columns:
            sequence = session.scalar(text("select pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name})
            if sequence:
                top = session.scalar(select(func.max(column)))
                session.execute(text("select setval(:s, :v, :called)"),
                                {"s": sequence, "v": top or 1, "called": top is not None})


def _items(store, batch_id: int, choose) -> list[tuple[str, str, str, int]]:
    with store.session() as s:
        claims = list(s.execute(select(ClaimRow.claim_id, ClaimRow.version).where(
            ClaimRow.batch_id == batch_id, ClaimRow.state == "calculated").order_by(ClaimRow.claim_id)))
    items = []
    for index, (claim_id, version) in enumerate(claims):
        decision = choose(index)
        items.append((claim_id, decision, "材料不全" if decision != "approve" else ("" if index % 3 else "同意"), version))
    return items


def _same(store, items, user=REVIEWER):
    bulk, bulk_state = _run(store, items, user, bulk=True)
    one, one_state = _run(store, items, user, bulk=False)
    assert bulk == one
    if bulk_state and one_state:  # the first differing audit entry, named (the lists are long)
        differing = [(b, o) for b, o in zip(bulk_state["audit"], one_state["audit"], strict=False) if b != o]
        assert not differing, differing[0]
    assert bulk_state == one_state
    return bulk


@pytest.fixture
def generated(store, tmp_path, monkeypatch):
    """200 generated claims in one batch; approvals in rounds of 7, so runs cross round boundaries."""
    monkeypatch.setattr(decisions, "APPROVE_CHUNK", 7)
    add_users(store)
    generate(200, tmp_path / "data")
    import_folder(store, tmp_path / "data", "hangzhou")
    with store.session() as s:
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    return batch_id


@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10 ** 6), returns=st.sampled_from([0.0, 0.03, 0.15, 0.5]))
def test_bulk_and_one_by_one_agree_on_generated_claims(store, generated, seed, returns):
    rng = random.Random(seed)
    items = _items(store, generated, lambda _: "approve" if rng.random() >= returns else rng.choice(["return", "refuse"]))
    counts, _ = _same(store, items)
    assert sum(counts.values()) <= len(items)


def test_hand_cases_on_one_member(store):
    """HZ001's four claims (A1…A4, one after the other against one cap): returning A1 gives its money back,
    so A2–A4 are re-evaluated and wait for a new sheet; returning A3 re-evaluates only A4."""
    add_users(store)
    import_folder(store, SCENARIOS / "hz_bands_caps_stacking", "hangzhou")
    with store.session() as s:
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    order = ["A1", "A2", "A3", "A4"]
    all_approved = _same(store, _items(store, batch_id, lambda _: "approve"))
    assert all_approved == ({"approve": 4}, [])
    first_returned = _same(store, _items(store, batch_id, lambda i: "return" if i == 0 else "approve"))
    assert first_returned == ({"return": 1}, ["A2", "A3", "A4"])
    third_returned = _same(store, _items(store, batch_id, lambda i: ["approve", "approve", "return", "refuse"][i]))
    assert third_returned == ({"approve": 2, "return": 1}, ["A4"])
    last_refused = _same(store, _items(store, batch_id, lambda i: "refuse" if order[i] == "A4" else "approve"))
    assert last_refused == ({"approve": 3, "refuse": 1}, [])


def test_the_same_refusal_for_the_same_claim(store):
    """The importer cannot approve (four eyes); a claim whose ledger moved is refused (stale) — in bulk as
    one by one, naming the first such claim of the sheet."""
    add_users(store)
    import_folder(store, SCENARIOS / "hz_bands_caps_stacking", "hangzhou")
    with store.session() as s:
        from claims.workflow.users import add_user

        add_user(s, "管理员", CLERK, "reviewer")  # the clerk may review, but not what the clerk imported
        batch_id = create_batch(s, policy(), 2025, CLERK).id
    code, message = _same(store, _items(store, batch_id, lambda _: "approve"), user=CLERK)
    assert code == "FOUR_EYES" and CLERK in message
    with store.session() as s:  # the member-period's ledger moves on after A2 and A3 were calculated
        s.execute(LedgerHead.__table__.update().values(generation=LedgerHead.generation + 1))
    code, message = _same(store, _items(store, batch_id, lambda _: "approve"))
    assert code == "LEDGER_STALE" and "申请 A1 " in message


def test_a_second_review_threshold_holds_in_bulk_as_one_by_one(store, generated, tmp_path, monkeypatch):
    """会审 above 3,000.00: a review sheet approving everything gives the claims above it only their first
    approval (still 已计算, first reviewer recorded), the rest approved — the same in bulk as one by one; a
    second reviewer's sheet then completes exactly those."""
    settings_file = tmp_path / "claims-settings.yaml"
    settings_file.write_text("review:\n  second_reviewer_above: 3000.00\n", encoding="utf-8")
    monkeypatch.setenv("CLAIMS_SETTINGS", str(settings_file))
    items = _items(store, generated, lambda _: "approve")
    with store.session() as s:
        totals = dict(s.execute(select(ResultLineRow.claim_id, func.sum(ResultLineRow.amount_fen)).where(
            ResultLineRow.current.is_(True)).group_by(ResultLineRow.claim_id)).all())
    above = {claim_id for claim_id, *_ in items if totals.get(claim_id, 0) > 300_000}
    assert above and len(above) < len(items)  # the generated batch has claims on both sides of the line
    counts, recalculated = _same(store, items)
    assert recalculated == [] and counts == {"approve": len(items) - len(above), "approve_first": len(above)}
    with store.session() as s:  # applied for real now: the first reviewer's sheet
        apply_decisions(s, items, REVIEWER)
    with store.session() as s:
        from claims.workflow.users import add_user

        add_user(s, "管理员", "第二位审核员", "reviewer", PASSWORD)
        waiting = list(s.execute(select(ClaimRow.claim_id, ClaimRow.version, ClaimRow.decided_by).where(
            ClaimRow.state == "calculated").order_by(ClaimRow.claim_id)))
    assert {c for c, _, _ in waiting} == above and {d for _, _, d in waiting} == {REVIEWER}
    second = [(c, "approve", "", v) for c, v, _ in waiting]
    with store.session() as s:
        with pytest.raises(Refusal) as same_person:
            apply_decisions(s, second, REVIEWER)
        assert same_person.value.code == "SECOND_REVIEWER"
    with store.session() as s:
        assert apply_decisions(s, second, "第二位审核员") == ({"approve": len(above)}, [])
        assert s.scalar(select(func.count()).select_from(ClaimRow).where(ClaimRow.state == "calculated")) == 0
