"""A base-union agent in a real headless Chromium against a real `claims serve`: uploads a members file with
a row of another unit, sees the located error, downloads the errors workbook (opened back with openpyxl);
the busy button and the size check before sending; their unit's claims, and another unit's claim refused."""

from __future__ import annotations

import time

import pytest
from openpyxl import load_workbook

from claims.workflow.batches import create_batch
from claims.workflow.decisions import decide
from claims.workflow.users import add_user
from tests.store.helpers import ADMIN, CLERK, PASSWORD, REVIEWER, SCENARIOS, import_folder, policy
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

AGENT, UNIT, OTHER = "医院代办员", "杭州市第一人民医院工会", "北京某公司工会"
HZ2 = SCENARIOS / "hz_waiting_level_deductible"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """北京某公司工会's members and claims (E1–E6) and HZ001 of the agent's unit (A1–A4), stored by the clerk."""
    folder = tmp_path_factory.mktemp("agent-web")
    with staffed_database(folder) as (url, store):
        import_folder(store, SCENARIOS / "bj_shares_waiting_cover_end", "beijing")
        import_folder(store, SCENARIOS / "hz_bands_caps_stacking", "hangzhou")
        with store.session() as s:
            add_user(s, ADMIN, AGENT, "agent", PASSWORD, UNIT)
            create_batch(s, policy("hangzhou"), 2025, CLERK, claim_ids=["A1", "A2", "A3", "A4"])
        with store.session() as s:
            decide(s, "A1", "approve", REVIEWER)
    with serve(url) as base:
        yield base


@pytest.fixture
def browser(tmp_path):
    with start_browser() as driver:
        driver.set_window_size(1366, 768)
        driver.downloads = tmp_path / "downloads"
        driver.downloads.mkdir()
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(driver.downloads)})
        yield driver


def choose(driver, kind_label: str, path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "kind")).select_by_visible_text(kind_label)
    driver.find_element(By.ID, "file").send_keys(str(path))


def test_an_agent_uploads_a_bad_row_sees_where_and_downloads_the_errors_workbook(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    members = tmp_path / "本单位会员.csv"
    members.write_text((HZ2 / "members.csv").read_text(encoding="utf-8")
                       + f"HZ009,钱多,110101199003071233,{OTHER},,,\n", encoding="utf-8")  # row 4: another unit
    log_in(browser, server, AGENT, PASSWORD)
    click_and_wait(browser, browser.find_element(By.ID, "nav-imports"))
    assert UNIT in text_of(browser, "scope")
    shoot(browser, "agent-1-imports")
    choose(browser, "会员名单", members)
    click_and_wait(browser, browser.find_element(By.ID, "submit"))
    problems = text_of(browser, "problems")
    assert "第 4 行" in problems and "unit" in problems and OTHER in problems and "AGENT_OTHER_UNIT" in problems
    assert "未导入任何一行" in text_of(browser, "refused")
    assert browser.find_element(By.ID, "count-refused").text == "1"
    shoot(browser, "agent-2-row-error")
    browser.find_element(By.ID, "errors-download").click()
    deadline = time.monotonic() + 20
    while not (found := [p for p in browser.downloads.glob("*.xlsx")]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found, "the errors workbook was not downloaded"
    time.sleep(0.3)  # the file is renamed from .crdownload only when whole
    rows = list(load_workbook(found[0]).active.iter_rows(values_only=True))
    assert rows[0][-1].startswith("错误说明")
    assert rows[3][:4] == ("HZ009", "钱多", "110101199003071233", OTHER)
    assert OTHER in rows[3][-1] and UNIT in rows[3][-1] and rows[1][-1] is None


def test_the_import_button_shows_it_is_working_and_a_file_too_large_is_stopped_before_sending(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    log_in(browser, server, AGENT, PASSWORD)
    browser.get(server + "/imports")
    limit = int(browser.find_element(By.ID, "import-form").get_attribute("data-max-bytes"))
    big = tmp_path / "太大的文件.csv"
    with big.open("wb") as handle:
        handle.truncate(limit + 1)
    choose(browser, "补助申请", big)
    browser.find_element(By.ID, "submit").click()
    assert browser.find_element(By.ID, "too-large").is_displayed()
    assert browser.current_url == server + "/imports"  # nothing sent
    shoot(browser, "agent-3-too-large")
    browser.get(server + "/imports")
    choose(browser, "会员名单", HZ2 / "members.csv")
    # hold the form back after the page's own handler has run, to see the button as the agent sees it
    browser.execute_script("document.getElementById('import-form')"
                           ".addEventListener('submit', function (e) { e.preventDefault(); });")
    button = browser.find_element(By.ID, "submit")
    button.click()
    assert not button.is_enabled() and button.text == "正在导入…"
    shoot(browser, "agent-4-busy")


def test_an_agent_sees_their_units_claims_and_cannot_open_another_units(server, browser):
    from selenium.webdriver.common.by import By

    log_in(browser, server, AGENT, PASSWORD)
    click_and_wait(browser, browser.find_element(By.ID, "nav-unit"))
    table = text_of(browser, "unit-claims")
    assert "A1" in table and "王丽" in table and "E1" not in table and "张军" not in table
    assert "共 4 件" in text_of(browser, "unit-summary")
    first = browser.find_element(By.CSS_SELECTOR, "#unit-claims tbody tr").text
    assert first.split() == ["A1", "王丽", "已通过", "4,000.00", "4,000.00"]  # 3,500 banded + 10 nights × 50
    shoot(browser, "agent-5-unit")
    browser.get(server + "/claim?id=E1")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "ROLE_REFUSED" in page and "张军" not in page and OTHER not in page
    assert not browser.find_elements(By.TAG_NAME, "dl")  # no member details at all
    shoot(browser, "agent-6-other-unit-claim")
    browser.get(server + "/claims/E1")  # the claim page's other address, where there is one
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "张军" not in page and OTHER not in page and not browser.find_elements(By.TAG_NAME, "dl")
