"""What every browser test shares: a real `claims serve` on a free port (``serve``), a real headless
Chromium (Debian's chromium + chromium-driver, driven by Selenium: ``start_browser``), and the few moves a
person makes (submit the login form, read an element, take a screenshot into $CLAIMS_SCREENSHOTS).

Browser test modules set ``pytestmark = needs_chromium``: skipped, with the reason, where Chromium is not
installed (.ci/run installs it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
needs_chromium = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                                reason="Chromium / chromedriver not installed (Debian: chromium chromium-driver)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def staffed_database(folder):
    """A new SQLite database in ``folder`` with the staff users of tests/store/helpers (``add_users``): yields
    its address and an open ``Store`` for the test's own data, disposed of afterwards (before ``serve``)."""
    from claims.store.database import Store, init_database
    from tests.store.helpers import add_users

    url = f"sqlite:///{folder / 'claims.db'}"
    init_database(url)
    store = Store(url)
    try:
        add_users(store)
        yield url, store
    finally:
        store.dispose()


@contextmanager
def serve(url: str):
    """`claims serve` on ``url`` (an initialised database) on a free port; yields its base address."""
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
    try:
        yield base
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def start_browser(downloads=None):
    """A headless Chromium at an office screen's 1366×768, in Chinese; ``downloads``: a folder where files
    are saved without asking."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1366,768",
                 "--disable-dev-shm-usage", "--lang=zh-CN"):
        options.add_argument(flag)
    if downloads is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                                  "download.prompt_for_download": False,
                                                  "safebrowsing.enabled": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def shoot(driver, name: str) -> None:
    folder = os.environ.get("CLAIMS_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        driver.save_screenshot(os.path.join(folder, f"{name}.png"))


def text_of(driver, element_id: str) -> str:
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


def submit_login(driver, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    field = driver.find_element(By.NAME, "username")
    field.clear()
    field.send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    old = driver.find_element(By.TAG_NAME, "html").id
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 10).until(new_document(old))  # the answer page has loaded


def new_document(old_id: str):
    """A wait condition: the page's document has been replaced. (Selenium's ``staleness_of`` asks the old
    node whether it is enabled, which Chromium sometimes answers with an inspector error instead of a stale
    reference while the new document is being swapped in.)"""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    def replaced(driver) -> bool:
        try:
            return driver.find_element(By.TAG_NAME, "html").id != old_id and \
                driver.execute_script("return document.readyState") == "complete"
        except WebDriverException:
            return False
    return replaced




def log_in(driver, base: str, name: str, password: str) -> None:
    """Open the login page and log in as a person would."""
    driver.get(base + "/login")
    submit_login(driver, name, password)


def click_and_wait(driver, element) -> None:
    """Click a link or submit button and wait for the next page to be loaded."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html").id
    element.click()
    WebDriverWait(driver, 15).until(new_document(old))
