"""Audit: re-runs from the database and from bundles, tampering found, what-if with hand-computed costs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from claims.audit.bundle import BundleRefused, bundle_batch, read_bundle
from claims.audit.rerun import rerun, snapshot_of_batch
from claims.audit.whatif import simulate
from claims.policy import parse_policy
from claims.store.models import Batch
from claims.workflow.batches import create_batch
from claims.workflow.corrections import correct
from claims.workflow.decisions import decide
from claims.workflow.imports import import_file
from tests.conftest import POLICIES, cli_login
from tests.store.helpers import (
    AUDITOR,
    CLERK,
    REVIEWER,
    SCENARIOS,
    add_users,
    batch_and_approve,
    import_folder,
    policy,
    publish_and_approve,
)

DEDUCTIBLE = SCENARIOS / "hz_waiting_level_deductible"


def test_a_rerun_of_an_untouched_batch_is_identical(store, batch):
    with store.session() as s:
        report = rerun(snapshot_of_batch(s, batch, AUDITOR))
    assert report.identical
    assert (report.claims, report.lines, report.stored_total) == (4, 11, Decimal("62100.00"))


def test_an_altered_stored_amount_is_reported_with_its_claim(store, batch):
    with store.session() as s:
        s.execute(text("update result_lines set amount_fen = 1400000 where claim_id = 'A2' and benefit = 'medical_subsidy'"))
    with store.session() as s:
        report = rerun(snapshot_of_batch(s, batch, AUDITOR))
    assert not report.identical
    assert [(d.claim_id, d.item, d.benefit, d.stored, d.recomputed) for d in report.differences] == [
        ("A2", "medical", "medical_subsidy", "14000.00", "13700.00")]


def test_an_altered_policy_text_is_found_by_its_hash(store, batch):
    with store.session() as s:
        s.execute(text("update batches set policy_text = replace(policy_text, 'rate: 0.70', 'rate: 0.75')"))
    with store.session() as s:
        report = rerun(snapshot_of_batch(s, batch, AUDITOR))
    assert not report.policy_intact and not report.identical
    assert report.differences == []  # A3 stays capped: the amounts happen not to move, the hash still tells


def test_a_bundle_re_runs_without_the_database_and_a_tampered_one_is_refused(store, batch, tmp_path):
    path = tmp_path / "bundle.zip"
    with store.session() as s:
        written = bundle_batch(s, batch, path, AUDITOR)
    store.dispose()
    snapshot, manifest_sha = read_bundle(path)
    assert manifest_sha == written.manifest_sha256
    with zipfile.ZipFile(path) as archive:  # the manifest names the approved policy version the batch used
        listed = json.loads(archive.read("manifest.json"))["batch"]
    with store.session() as s:
        assert "policy_version" in listed and listed["policy_version"] == s.get(Batch, batch).policy_version_id
    assert rerun(snapshot).identical
    env = {**os.environ, "CLAIMS_DB": f"sqlite:///{tmp_path / 'no' / 'such.db'}"}
    done = subprocess.run([sys.executable, "-m", "claims.cli", "audit", "rerun", "--bundle", path], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0 and "identical" in done.stdout, done.stderr
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "results.csv":
                data = data.replace(b"13700.00", b"13800.00")
            target.writestr(item, data)
    with pytest.raises(BundleRefused) as refused:
        read_bundle(tampered)
    assert "results.csv 已被改动" in refused.value.message
    done = subprocess.run([sys.executable, "-m", "claims.cli", "audit", "rerun", "--bundle", tampered], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "BUNDLE_REFUSED" in done.stderr


def test_rerun_command_exits_1_on_a_difference(store, batch, db_url):
    env = cli_login(db_url, AUDITOR)
    command = [sys.executable, "-m", "claims.cli", "audit", "rerun", str(batch)]
    assert subprocess.run(command, env=env, capture_output=True).returncode == 0
    with store.session() as s:
        s.execute(text("update result_lines set reason = '' where claim_id = 'A4' and item = 'medical'"))
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "A4" in done.stdout and "原因不同" in done.stdout


def _draft(tmp_path, old: str, new: str):
    text_ = (POLICIES / "hangzhou.yaml").read_text(encoding="utf-8")
    assert old in text_
    path = tmp_path / "draft.yaml"
    path.write_text(text_.replace(old, new), encoding="utf-8")
    return parse_policy(path.read_text(encoding="utf-8"), str(path))


def test_whatif_raising_one_band_rate_costs_the_hand_computed_difference(store, tmp_path):
    add_users(store)
    import_folder(store, DEDUCTIBLE, "hangzhou")
    publish_and_approve(store)
    batch_and_approve(store, None)
    draft = _draft(tmp_path, "{from: 0, to: 20000, rate: 0.50}", "{from: 0, to: 20000, rate: 0.60}")
    with store.session() as s:
        whatif = simulate(s, draft, 2025, AUDITOR)
    # B1 (HZ002): 2,000 above the deductible: 1,000 → 1,200 (+200)
    # B4 (HZ003): cumulative 500 → 1,300, 300 above: 150 → 180 (+30); B2, B3 pay nothing either way
    assert whatif.current.per_item["medical"] == Decimal("1150.00")
    assert whatif.draft.per_item["medical"] - whatif.current.per_item["medical"] == Decimal("230.00")
    assert whatif.draft.total - whatif.current.total == Decimal("230.00")
    assert [(c.member_id, c.difference) for c in whatif.changes] == [("HZ002", Decimal("200.00")),
                                                                     ("HZ003", Decimal("30.00"))]
    # contribution income: medical 36 × 2 members, critical 60 × 1
    assert (whatif.current.contributions["medical"], whatif.current.contributions["critical"]) == (72, 60)


@pytest.mark.parametrize("members_per_partition", [1, 2, 1000])
def test_whatif_by_member_ranges_settles_a_shared_invoice_for_everyone_first(store, tmp_path, members_per_partition):
    """B4 (HZ003) carries B1's (HZ002) invoice and is discharged later: a duplicate under both policies, even
    when HZ002 and HZ003 are simulated in different member ranges."""
    claims = tmp_path / "claims.csv"
    lines = (DEDUCTIBLE / "claims.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    invoice = header.index("invoice_no")
    rows = [line.split(",") for line in lines[1:]]
    for row in rows:
        if row[0] in ("B1", "B4"):
            row[invoice] = "INV-SHARED"
    claims.write_text("\n".join([lines[0], *(",".join(row) for row in rows)]) + "\n", encoding="utf-8")
    add_users(store)
    import_folder(store, DEDUCTIBLE, "hangzhou", claims)
    publish_and_approve(store)
    batch_and_approve(store, None)
    draft = _draft(tmp_path, "{from: 0, to: 20000, rate: 0.50}", "{from: 0, to: 20000, rate: 0.60}")
    with store.session() as s:
        whatif = simulate(s, draft, 2025, AUDITOR, members_per_partition=members_per_partition)
    # B1 alone pays medical: 1,000 → 1,200; B4 is a duplicate of B1's invoice either way (150 without it)
    assert (whatif.current.per_item["medical"], whatif.draft.per_item["medical"]) == (Decimal("1000.00"),
                                                                                     Decimal("1200.00"))
    assert [(c.member_id, c.difference) for c in whatif.changes] == [("HZ002", Decimal("200.00"))]
    assert whatif.claims == 4 and whatif.units == sorted(whatif.current.per_unit)


def test_whatif_under_the_current_policy_reproduces_the_stored_batch(store, batch):
    publish_and_approve(store)
    with store.session() as s:
        whatif = simulate(s, policy(), 2025, AUDITOR)
    assert whatif.current.total == whatif.draft.total == Decimal("62100.00") and whatif.changes == []


def test_whatif_workbook_and_nothing_changes(store, tmp_path, db_url):
    add_users(store)
    import_folder(store, DEDUCTIBLE, "hangzhou")
    publish_and_approve(store)
    batch_and_approve(store, None)
    draft = tmp_path / "draft.yaml"
    draft.write_text((POLICIES / "hangzhou.yaml").read_text(encoding="utf-8").replace("amount: 1000, per: period",
                                                                                   "amount: 500, per: period"),
                     encoding="utf-8")
    env = cli_login(db_url, AUDITOR)  # the login itself is logged; the simulation adds nothing
    with store.session() as s:
        before = [tuple(r) for r in s.execute(text("select claim_id, state, version from claims order by claim_id"))]
        log = s.execute(text("select count(*) from audit_log")).scalar()
    out = tmp_path / "whatif.xlsx"
    done = subprocess.run([sys.executable, "-m", "claims.cli", "simulate", "--policy", draft, "--period", "2025",
                           "-o", out], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # deductible 1,000 → 500: B1 2,500 above → 1,250 (+250); B3 0 → 0 (500 not above 500);
    # B4 cumulative 1,300: 800 above → 400, but B3's 500 was below: 400 (+250). Total +500
    book = load_workbook(out)
    assert book.sheetnames == ["说明", "按保障项目", "按单位", "会员变化"]
    rows = {r[0]: r for r in book["按保障项目"].iter_rows(min_row=2, values_only=True)}
    assert Decimal(str(rows["合计"][3])) == Decimal("500")
    with store.session() as s:
        assert [tuple(r) for r in s.execute(text("select claim_id, state, version from claims order by claim_id"))] == before
        assert s.execute(text("select count(*) from audit_log")).scalar() == log


def test_correcting_a_claim_whose_duplicate_was_refused_keeps_its_invoice(store, tmp_path):
    """The later duplicate must not turn the original into the duplicate when the original is re-evaluated."""
    add_users(store)
    import_folder(store, DEDUCTIBLE, "hangzhou")
    header, *rows = (DEDUCTIBLE / "claims.csv").read_text(encoding="utf-8").splitlines()
    copy = rows[0].replace("B1,", "B9,", 1).replace("2025-05-05", "2025-06-05")  # same invoice INV-B1, sent again
    extra = tmp_path / "claims.csv"
    extra.write_text("\n".join([header, *rows, copy]) + "\n", encoding="utf-8")
    with store.session() as s:
        import_file(s, "claims", extra, CLERK)
    with store.session() as s:
        create_batch(s, policy(), 2025, CLERK)
    with store.session() as s:
        for claim_id in ("B1", "B2", "B3", "B4"):
            decide(s, claim_id, "approve", REVIEWER)
        decide(s, "B9", "refuse", REVIEWER, "发票已报销过")
    with store.session() as s:
        done = correct(s, "B1", {"hospital_level": "3"}, "医院等级登记有误", CLERK)
    assert done.adjustments == []  # B1 keeps its 1,000 + 250; it is not the duplicate


def test_bundle_and_rerun_need_a_registered_user(store, batch):
    from claims.workflow.errors import Refusal

    with store.session() as s, pytest.raises(Refusal):
        snapshot_of_batch(s, batch, "nobody")


def test_pdf_tools_present_in_ci():
    if os.environ.get("CI"):
        assert shutil.which("pdffonts") and shutil.which("pdftoppm")
