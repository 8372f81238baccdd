"""A real headless Chromium against a real `claims serve`: log in, the greeting, log out, and the lockout."""

from __future__ import annotations

import pytest

from tests.store.helpers import PASSWORD, REVIEWER
from tests.web.browsing import (
    needs_chromium,
    new_document,
    serve,
    shoot,
    staffed_database,
    start_browser,
    submit_login,
    text_of,
)

pytestmark = needs_chromium


@pytest.fixture
def server(tmp_path):
    with staffed_database(tmp_path) as (url, _):
        pass
    with serve(url) as base:
        yield base


@pytest.fixture
def browser():
    with start_browser() as driver:
        yield driver


def test_login_greeting_and_logout_in_a_real_browser(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/")
    assert browser.current_url == server + "/login"
    shoot(browser, "1-login")
    submit_login(browser, REVIEWER, PASSWORD)
    assert browser.find_element(By.ID, "greeting").text == f"您好，{REVIEWER}"
    assert browser.current_url == server + "/"
    shoot(browser, "2-workbench")
    cookie = browser.get_cookie("claims_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie").find("claims_session") == -1  # scripts cannot read it
    old = browser.find_element(By.TAG_NAME, "html").id
    browser.find_element(By.ID, "logout").click()
    WebDriverWait(browser, 10).until(new_document(old))
    assert browser.current_url == server + "/login?bye=1"
    assert "已退出登录" in browser.find_element(By.ID, "notice").text
    shoot(browser, "3-logged-out")
    browser.get(server + "/")
    assert browser.current_url == server + "/login"


def test_lockout_in_a_real_browser(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server + "/login")
    for attempt in range(1, 6):
        submit_login(browser, REVIEWER, f"错误的密码-{attempt}-错误")
        error = text_of(browser, "error")
        assert ("LOGIN_LOCKED" if attempt == 5 else "LOGIN_FAILED") in error
    submit_login(browser, REVIEWER, PASSWORD)  # the right password is refused while locked
    assert "已锁定" in text_of(browser, "error")
    assert not browser.find_elements(By.ID, "greeting")
    shoot(browser, "4-locked")
