"""A real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) against a real
`claims serve`: log in, the greeting, log out, and the lockout. Skipped, with the reason, where Chromium
is not installed (.ci/run installs it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from claims.store.database import Store, init_database
from tests.store.helpers import PASSWORD, REVIEWER, add_users

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                                reason="Chromium / chromedriver not installed (Debian: chromium chromium-driver)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    init_database(url)
    store = Store(url)
    add_users(store)
    store.dispose()
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "claims.cli", "--db", url, "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as answer:
                assert answer.status == 200
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("claims serve did not start: " + process.stderr.read().decode())
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(10)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,800",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def _shoot(driver, name: str) -> None:
    folder = os.environ.get("CLAIMS_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        driver.save_screenshot(os.path.join(folder, f"{name}.png"))


def _text(driver, element_id: str) -> str:
    """The text of an element of the page just loaded; waits for it (a loaded machine may still be swapping
    the document in)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    for _ in range(20):
        try:
            WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, element_id)))
            return driver.find_element(By.ID, element_id).text
        except WebDriverException:
            time.sleep(0.25)
    return driver.find_element(By.ID, element_id).text


def _submit(driver, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    field = driver.find_element(By.NAME, "username")
    field.clear()
    field.send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(field))  # the answer page has loaded


def test_login_greeting_and_logout_in_a_real_browser(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server + "/")
    assert browser.current_url == server + "/login"
    _shoot(browser, "1-login")
    _submit(browser, REVIEWER, PASSWORD)
    assert browser.find_element(By.ID, "greeting").text == f"您好，{REVIEWER}"
    assert browser.current_url == server + "/"
    _shoot(browser, "2-workbench")
    cookie = browser.get_cookie("claims_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie").find("claims_session") == -1  # scripts cannot read it
    button = browser.find_element(By.ID, "logout")
    button.click()
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(button))
    assert browser.current_url == server + "/login?bye=1"
    assert "已退出登录" in browser.find_element(By.ID, "notice").text
    _shoot(browser, "3-logged-out")
    browser.get(server + "/")
    assert browser.current_url == server + "/login"


def test_lockout_in_a_real_browser(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server + "/login")
    for attempt in range(1, 6):
        _submit(browser, REVIEWER, f"错误的密码-{attempt}-错误")
        error = _text(browser, "error")
        assert ("LOGIN_LOCKED" if attempt == 5 else "LOGIN_FAILED") in error
    _submit(browser, REVIEWER, PASSWORD)  # the right password is refused while locked
    assert "已锁定" in _text(browser, "error")
    assert not browser.find_elements(By.ID, "greeting")
    _shoot(browser, "4-locked")
