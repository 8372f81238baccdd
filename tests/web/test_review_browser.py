"""The whole review round trip in a real headless Chromium against a real `claims serve`: a clerk (who is
also a reviewer) creates a batch from the page and follows its progress; a reviewer opens the queue from the
workbench, samples it, opens a claim and approves it; the clerk is refused approving their own batch and
sees why; both log out. Screenshots at 1366×768 into $CLAIMS_SCREENSHOTS."""

from __future__ import annotations

import pytest

from claims.workflow.users import add_user
from tests.store.helpers import (
    ADMIN,
    CLERK,
    PASSWORD,
    REVIEWER,
    import_folder,
    publish_and_approve,
)
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
from tests.web.review_data import write_period

pytestmark = needs_chromium


@pytest.fixture
def server(tmp_path):
    with staffed_database(tmp_path) as (url, store):
        with store.session() as s:
            add_user(s, ADMIN, CLERK, "reviewer")  # the clerk may review — but not their own batch
        import_folder(store, write_period(tmp_path / "period", claims=60), "hangzhou")
        publish_and_approve(store)
    with serve(url) as base:
        yield base


def _log_out(driver) -> None:
    from selenium.webdriver.common.by import By

    click_and_wait(driver, driver.find_element(By.ID, "logout"))
    assert "已退出登录" in text_of(driver, "notice")


def test_the_review_round_trip_in_a_real_browser(server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with start_browser() as driver:
        driver.set_window_size(1366, 768)
        # the clerk creates the batch of 2025 from the page and watches it finish
        log_in(driver, server, CLERK, PASSWORD)
        click_and_wait(driver, driver.find_element(By.ID, "nav-batches"))
        driver.find_element(By.ID, "period").send_keys("2025")
        shoot(driver, "review-1-create-batch")
        click_and_wait(driver, driver.find_element(By.ID, "create-batch"))
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "job-batch"))  # the page refreshes itself
        shoot(driver, "review-2-batch-done")
        click_and_wait(driver, driver.find_element(By.ID, "job-batch"))
        assert "第 1 / 2 页" in text_of(driver, "pager")  # 60 claims, 50 a page
        shoot(driver, "review-3-batch")
        _log_out(driver)

        # a reviewer: workbench → queue → a 10% sample → a claim → approve
        log_in(driver, server, REVIEWER, PASSWORD)
        assert "60 件待审核" in text_of(driver, "waits")
        shoot(driver, "review-4-workbench")
        click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#waits a"))
        assert "审核队列" in text_of(driver, "batch-title")
        driver.find_element(By.ID, "f-sample").send_keys("10")
        click_and_wait(driver, driver.find_element(By.ID, "apply-filters"))
        assert "随机抽查 10%：6 件" in text_of(driver, "matched")
        seed = text_of(driver, "seed")
        sampled = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "a.claim-link")]
        assert len(sampled) == 6
        shoot(driver, "review-5-queue-sample")
        driver.refresh()  # the same address (its seed) draws the same claims
        assert [a.text for a in driver.find_elements(By.CSS_SELECTOR, "a.claim-link")] == sampled
        assert text_of(driver, "seed") == seed
        click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "a.claim-link"))
        claim_id = sampled[0]
        assert claim_id in text_of(driver, "claim-title") and "本期剩余限额" in text_of(driver, "lines")
        assert not driver.find_elements(By.ID, "four-eyes")
        shoot(driver, "review-6-claim")
        driver.find_element(By.ID, "note").send_keys("材料齐全")
        click_and_wait(driver, driver.find_element(By.ID, "approve"))
        assert "您的决定（通过）已记录" in text_of(driver, "done") and text_of(driver, "claim-state") == "已通过"
        shoot(driver, "review-7-approved")
        _log_out(driver)

        # the clerk, also a reviewer, may not approve the batch they created: told why, and refused
        log_in(driver, server, CLERK, PASSWORD)
        click_and_wait(driver, driver.find_element(By.ID, "nav-batches"))
        click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "#batches a[id^=queue-]"))
        assert "四眼原则" in text_of(driver, "four-eyes")
        other = next(a for a in driver.find_elements(By.CSS_SELECTOR, "a.claim-link") if a.text != claim_id)
        click_and_wait(driver, other)
        assert "四眼原则" in text_of(driver, "four-eyes")
        click_and_wait(driver, driver.find_element(By.ID, "approve"))
        assert "[FOUR_EYES]" in text_of(driver, "error") and text_of(driver, "claim-state") == "已计算"
        shoot(driver, "review-8-four-eyes")
        _log_out(driver)
