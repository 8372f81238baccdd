"""A real headless Chromium against a real `claims serve`: finance downloads the payout workbook (the file
lands in the browser's download folder and opens in openpyxl), the auditor re-runs a batch and sees 一致,
and a member looks up their claims — right, then wrong."""

from __future__ import annotations

import time

import pytest
from openpyxl import load_workbook

from tests.conftest import ROOT
from tests.store.helpers import AUDITOR, FINANCE, PASSWORD, batch_and_approve, import_folder
from tests.web.browsing import (
    click_and_wait,
    log_in,
    needs_chromium,
    serve,
    shoot,
    staffed_database,
    start_browser,
    text_of,
)

pytestmark = needs_chromium
SMALL = ROOT / "tests" / "fixtures" / "small"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with staffed_database(tmp_path_factory.mktemp("finance-audit")) as (url, store):
        import_folder(store, SMALL, "hangzhou")
        batch = batch_and_approve(store, "hangzhou")
    with serve(url) as base:
        yield base, batch


def test_finance_downloads_the_payout_workbook_in_the_browser(server, tmp_path):
    from selenium.webdriver.common.by import By

    base, batch = server
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with start_browser(downloads) as browser:
        log_in(browser, base, FINANCE, PASSWORD)
        click_and_wait(browser, browser.find_element(By.ID, "nav-finance"))
        assert f"批次 {batch}" in text_of(browser, f"batch-{batch}")
        shoot(browser, "finance-1-page")
        browser.find_element(By.ID, f"payouts-{batch}").click()
        expected = downloads / f"发放表-批次{batch}.xlsx"
        deadline = time.monotonic() + 30
        while not expected.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert expected.exists(), sorted(p.name for p in downloads.iterdir())
        workbook = load_workbook(expected)
        cells = {str(c) for sheet in workbook for row in sheet.iter_rows(values_only=True) for c in row if c}
        assert {"2025-0001", "2025-0003"} <= cells
        browser.get(base + "/finance")  # the export is listed with who made it
        assert "发放表" in text_of(browser, f"batch-{batch}") and FINANCE in text_of(browser, f"batch-{batch}")
        shoot(browser, "finance-2-after-download")


def test_the_auditor_reruns_a_batch_and_sees_it_agree(server, tmp_path):
    from selenium.webdriver.common.by import By

    base, batch = server
    with start_browser(tmp_path) as browser:
        log_in(browser, base, AUDITOR, PASSWORD)
        click_and_wait(browser, browser.find_element(By.ID, "nav-audit"))
        shoot(browser, "audit-1-page")
        click_and_wait(browser, browser.find_element(By.ID, f"rerun-{batch}"))
        assert text_of(browser, "rerun-result").startswith("一致")
        shoot(browser, "audit-2-rerun")
        click_and_wait(browser, browser.find_element(By.ID, "verify-log"))
        assert text_of(browser, "verify-result").startswith("审计日志完好")
        shoot(browser, "audit-3-verify")


def test_a_member_looks_up_their_claims_right_and_wrong(server, tmp_path):
    from selenium.webdriver.common.by import By

    base, _ = server
    with start_browser(tmp_path) as browser:
        browser.get(base + "/login")
        click_and_wait(browser, browser.find_element(By.ID, "lookup-link"))

        def fill(id_number: str, claim_id: str, phone_last4: str) -> None:
            for name, value in (("id_number", id_number), ("claim_id", claim_id), ("phone_last4", phone_last4)):
                browser.find_element(By.ID, name).send_keys(value)
            click_and_wait(browser, browser.find_element(By.ID, "lookup-submit"))

        fill("33010219750303025X", "2025-0003", "9999")  # the wrong phone
        assert "没有查到相符的申请" in text_of(browser, "lookup-error")
        assert not browser.find_elements(By.ID, "lookup-claims")
        shoot(browser, "lookup-1-wrong")
        fill("33010219750303025X", "2025-0003", "0002")
        table = text_of(browser, "lookup-claims")
        assert "2025-0003" in table and "2025-0012" in table and "2025-0001" not in table
        assert "330102********025X" in text_of(browser, "lookup-member")
        shoot(browser, "lookup-2-right")
