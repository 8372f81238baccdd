"""A hypothesis state machine over the workflow: random sequences of import, batch create, approve, return,
refuse, resubmit, correct (and its review), export and mark-paid over a few members of the small fixture;
after every step every invariant of the period ledger holds (``check_ledger``, the checker behind
``claims audit ledger``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import select

from claims.problems import ProblemsFound
from claims.store.database import Store, init_database
from claims.store.models import Batch, ClaimRow
from claims.workflow.batches import create_batch
from claims.workflow.corrections import approve_correction, correct, reject_correction
from claims.workflow.decisions import decide
from claims.workflow.errors import Refusal
from claims.workflow.imports import import_file
from claims.workflow.ledger import check_ledger
from claims.workflow.payouts import mark_paid
from exports.commands import export_bank
from tests.conftest import ROOT
from tests.store.helpers import CLERK, FINANCE, REVIEWER, add_users, policy

SMALL = ROOT / "tests" / "fixtures" / "small"
CLAIMS = [f"2025-{n:04d}" for n in range(1, 13)]


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ledger-machine-"))
        url = f"sqlite:///{self.folder / 'claims.db'}"
        init_database(url)
        self.store = Store(url)
        add_users(self.store)
        self.loaded = policy()
        for kind in ("members", "enrollments", "claims"):
            self._try(lambda s, kind=kind: import_file(s, kind, SMALL / f"{kind}.csv", CLERK, self.loaded.policy))

    def _try(self, work):
        try:
            with self.store.session() as s:
                return work(s)
        except (Refusal, ProblemsFound):
            return None

    @rule(claims=st.lists(st.sampled_from(CLAIMS), min_size=0, max_size=4, unique=True))
    def batch_create(self, claims):
        self._try(lambda s: create_batch(s, self.loaded, 2025, CLERK, claim_ids=claims or None))

    @rule(claim=st.sampled_from(CLAIMS), decision=st.sampled_from(["approve", "approve", "return", "refuse"]))
    def decide(self, claim, decision):
        self._try(lambda s: decide(s, claim, decision, REVIEWER, "机审"))

    @rule()
    def resubmit(self):
        self._try(lambda s: import_file(s, "claims", SMALL / "claims.csv", CLERK, self.loaded.policy))

    @rule(claim=st.sampled_from(CLAIMS), level=st.sampled_from(["1", "2", "3"]), approve=st.booleans())
    def correct(self, claim, level, approve):
        done = self._try(lambda s: correct(s, claim, {"hospital_level": level}, "更正医院等级", CLERK))
        if done is not None:
            batch_id = done.batch.id
            if approve:
                self._try(lambda s: approve_correction(s, batch_id, REVIEWER))
            else:
                self._try(lambda s: reject_correction(s, batch_id, REVIEWER, "不同意"))

    @rule(pay=st.booleans())
    def export_and_pay(self, pay):
        with self.store.session() as s:
            batches = list(s.scalars(select(Batch.id).where(Batch.state != "paid")))
        for batch_id in batches[:1]:
            self._try(lambda s, b=batch_id: export_bank(s, b, self.folder / f"bank{b}.csv", FINANCE, lambda m: None))
            if pay:
                self._try(lambda s, b=batch_id: mark_paid(s, b, FINANCE))

    @invariant()
    def ledger_holds(self):
        with self.store.session() as s:
            assert [str(v) for v in check_ledger(s)] == []
            states = set(s.scalars(select(ClaimRow.state)))
        assert states <= {"received", "calculated", "approved", "returned", "refused", "paid"}

    def teardown(self):
        self.store.dispose()


LedgerMachine.TestCase.settings = settings(max_examples=6, stateful_step_count=12, deadline=None,
                                           suppress_health_check=list(HealthCheck))
test_the_ledger_holds_through_random_work = LedgerMachine.TestCase
