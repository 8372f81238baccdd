"""Batches store each line's explanation compactly (codes and values, no sentences): what ``explain``, the
letters and a replay bundle show from it must be what the full form showed."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from claims.engine import calculate
from claims.engine.explain import (
    explanation_json,
    full_explanation,
    render_step,
    stored_explanation_json,
    stored_step_text,
)
from claims.workflow.batches import create_batch
from claims.workflow.imports import import_file
from claims.workflow.views import claim_explanation
from tests.engine.test_properties import PROFILE, scenario
from tests.store.helpers import CLERK, REVIEWER, add_users, policy


@PROFILE
@given(data=st.data())
def test_the_compact_form_gives_back_the_full_explanation(hangzhou, beijing, data):
    """For every line of random scenarios under two policies: every step's sentence rendered from the compact
    stored form is the sentence rendered from the engine's own values, and the compact form expands to exactly
    the full JSON form (steps with sentences, references, effective dates, caps)."""
    chosen, items, shares = data.draw(st.sampled_from([(hangzhou, ("medical", "critical", "women"), 1),
                                                       (beijing, ("allowance", "women"), 3)]))
    members, enrollments, claims = data.draw(scenario(items, shares))
    for line in calculate(chosen, members, enrollments, claims).lines:
        stored = json.loads(stored_explanation_json(line.explanation))
        assert all("text" not in step for step in stored["steps"])  # no sentence is stored
        assert [stored_step_text(step) for step in stored["steps"]] == \
            [render_step(step) for step in line.explanation.steps]
        assert full_explanation(stored) == explanation_json(line.explanation)


def test_explain_shows_the_hand_computed_steps_of_a_stored_line(store, tmp_path):
    """One inpatient claim, 5,000.00 元 self-paid in scope at a level-3 hospital, medical item only: the
    deductible of 1,000.00 leaves 4,000.00, paid at 50% (the first band) = 2,000.00 — read back from the
    database through ``explain``."""
    add_users(store)
    files = {
        "members": "member_id,name,id_number,unit,bank_name,bank_account,phone\n"
                   "M1,张三,11010519491231002X,第一基层工会,工商银行,6222000011112222,13800000000\n",
        "enrollments": "member_id,item,period,shares,start_date\nM1,medical,2025,1,2025-01-01\n",
        "claims": "claim_id,member_id,event_type,admission_date,discharge_date,diagnosis_date,hospital_level,"
                  "diagnoses,procedures,total_cost,insurance_paid,self_pay_in_scope,self_pay_out_of_scope,"
                  "invoice_no,submitted_date\n"
                  "C1,M1,inpatient,2025-03-01,2025-03-06,,3,I10,,20000.00,15000.00,5000.00,0.00,INV1,2025-04-01\n",
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        with store.session() as s:
            assert not import_file(s, kind, path, CLERK, policy().policy).problems
    with store.session() as s:
        create_batch(s, policy(), 2025, CLERK)
    with store.session() as s:
        shown = claim_explanation(s, REVIEWER, "C1")
    assert "本次个人自付 5,000.00 元" in shown
    assert "起付线 1,000.00 元（每期累计）" in shown
    assert "4,000.00 元 × 50% = 2,000.00 元" in shown
    assert "补助 2,000.00 元。" in shown
