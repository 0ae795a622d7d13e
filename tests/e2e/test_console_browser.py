"""The console in a real browser (Debian's chromium, headless) through a whole case: the agent's
queues and case page, the complainant's status page from the signed link, and back."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from shared.auth import mint_token
from shared.runtime import embedded
from shared.runtime.supervisor import ServiceProcess
from shared.settings import ServiceSettings
from tests.support.evidence_harness import image_bytes
from tests.support.suite import create_topics, running_suite
from tests.support.suite_cases import file_charged_no_order
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
SECRET = ServiceSettings().auth_secret
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
AGENT_TOKEN = mint_token(secret=SECRET, subject="agent-7", role="agent", platform="kamen-1")
BUYER = {"Authorization": "Bearer " + mint_token(secret=SECRET, subject="u-2001", role="complainant",
                                                 platform="kamen-1")}
PARTNER = {"Authorization": "Bearer " + mint_token(secret=SECRET, subject="kamen-1-integration", role="partner",
                                                   platform="kamen-1")}
AGENT = {"Authorization": f"Bearer {AGENT_TOKEN}"}


@pytest.fixture(scope="module")
def suite(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    create_topics(env=service_env)
    logs = tmp_path_factory.mktemp("logs")
    port = embedded.free_port()
    env = {**service_env, "NOTIFY_CONSOLE_URL": f"http://127.0.0.1:{port}"}
    with running_suite(env=env, log_dir=logs, console_port=port) as services:
        yield services


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600",
                 "--lang=zh-CN"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _filed_with_evidence(suite: dict[str, ServiceProcess]) -> tuple[dict[str, Any], str]:
    """A charged-but-no-order complaint with its order record and payment page already uploaded."""
    body, ticket = file_charged_no_order(suite, partner=PARTNER, buyer=BUYER)
    paid, tx = datetime.fromisoformat(body["order"]["paid_at"]), body["order"]["transaction_id"]
    for seed, kind, fields in (
            (31, "order_record", {"order_number": body["order"]["number"], "status": "failed",
                                  "item": body["order"]["item"], "ordered_at": paid.isoformat()}),
            (32, "payment_proof", {"channel": "alipay", "notice_type": "payment_page", "amount_minor": 10000,
                                   "currency": "CNY", "paid_at": paid.isoformat(), "transaction_id": tx})):
        sent = httpx.post(f"{suite['evidence'].url}/v1/complaints/{ticket}/evidence", headers=BUYER, timeout=30,
                          files={"file": ("shot.png", image_bytes(seed=seed))},
                          data={"kind": kind, "fields": json.dumps(fields)})
        assert sent.status_code == 201, sent.text
    return body, ticket


def _case(suite: dict[str, ServiceProcess], ticket: str, check: Any, what: str) -> dict[str, Any]:
    def look() -> dict[str, Any] | None:
        r = httpx.get(f"{suite['escalation'].url}/v1/cases/{ticket}", headers=AGENT, timeout=10)
        return r.json() if r.status_code == 200 and check(r.json()) else None
    return wait_until(look, timeout=60, interval=0.3, what=what)


def _status_link(suite: dict[str, ServiceProcess], ticket: str) -> str:
    """The status link the filing notice gave the complainant (their in-app inbox)."""
    def look() -> str | None:
        items = httpx.get(f"{suite['notify'].url}/v1/inbox", headers=BUYER, timeout=10).json()["items"]
        found = [re.search(r"http://\S+/s/\S+", n["body"]) for n in items
                 if n["ticket"] == ticket and n["event_type"] == "ComplaintFiled"]
        return found[0].group(0) if found and found[0] else None
    return wait_until(look, timeout=30, interval=0.3, what="the filing notice with the status link")


def _counts(driver: Any, base: str) -> dict[str, int]:
    from selenium.webdriver.common.by import By

    def counted() -> dict[str, int] | None:
        driver.get(f"{base}/queues?q=unassigned")
        found = {el.get_attribute("data-count"): int(el.text)
                 for el in driver.find_elements(By.CSS_SELECTOR, "[data-count]")}
        return found if "unassigned" in found else None

    # A page whose API calls ran out of time (a loaded machine) answers with its error page: ask again.
    return wait_until(counted, timeout=60, interval=1, what="the queue page with its counts",
                      explain=lambda: driver.find_element(By.TAG_NAME, "main").text[:300])


def _act(driver: Any, action: str, expect_state: str) -> None:
    """Press an action's button and wait for its outcome on the page, without a reload."""
    from selenium.webdriver.common.by import By

    marker = driver.execute_script("window.__sameDocument = true; return true;")
    driver.find_element(By.CSS_SELECTOR, f'#form-{action} button[type=submit]').click()
    wait_until(lambda: _state(driver, outcome=True) == expect_state,
               timeout=20, interval=0.2, what=f"{action} done and the case {expect_state}",
               explain=lambda: driver.find_element(By.ID, "case-body").text[:400])
    assert marker and driver.execute_script("return window.__sameDocument === true"), "the page reloaded"


def _state(driver: Any, *, outcome: bool = False) -> str | None:
    """The case state the page shows (after a done outcome, when asked), read in one step: the
    script may be replacing the body meanwhile."""
    return driver.execute_script(
        "var o = document.querySelector('#outcome.done'); var s = document.querySelector('[data-state]');"
        "return (arguments[0] && !o) || !s ? null : s.getAttribute('data-state');", outcome)


def _tab_reaches(driver: Any, wanted: set[str], presses: int = 120) -> set[str]:
    """The actions (data-action) that Tab alone reaches on the page, from the top."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    reached: set[str] = set()
    for _ in range(presses):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        action = driver.execute_script("return document.activeElement.getAttribute('data-action')")
        if action:
            reached.add(action)
        if wanted <= reached:
            break
    return reached


def test_an_agent_and_the_complainant_take_a_case_to_its_end_in_the_browser(
        suite: dict[str, ServiceProcess], browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base = suite["console"].url
    body, ticket = _filed_with_evidence(suite)
    _case(suite, ticket, lambda c: (c.get("evidence") or {}).get("missing") is not None
          and [m["field"] for m in c["evidence"]["missing"]] == ["channel_notice"],
          "the case lacking only the channel's closing notice")

    # The agent signs in by pasting a token and finds the new complaint in "unassigned".
    browser.get(f"{base}/signin")
    browser.find_element(By.ID, "token").send_keys(AGENT_TOKEN)
    browser.find_element(By.CSS_SELECTOR, "form[action='/signin'] button").click()
    wait_until(lambda: "/queues" in browser.current_url, timeout=10, what="the queues after sign-in")
    before = _counts(browser, base)
    link = browser.find_element(By.LINK_TEXT, ticket)
    browser.save_screenshot(str(SHOTS / "console-queue.png"))
    link.click()

    # Assign, then request the channel's closing notice: each outcome shows without a reload.
    _act(browser, "assign", "acknowledged")
    assert browser.find_element(By.ID, "assignee").text == "agent-7"
    browser.find_element(By.CSS_SELECTOR, "#form-request_evidence input[value='channel_notice']").click()
    _act(browser, "request_evidence", "awaiting_evidence")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.waterfall rect"), "the supervisor's trace waterfall"
    browser.save_screenshot(str(SHOTS / "console-case.png"))
    offered = {el.get_attribute("data-action") for el in browser.find_elements(By.CSS_SELECTOR, "button[data-action]")}
    assert {"propose_resolution", "escalate", "resolve"} <= offered and _tab_reaches(browser, offered) == offered
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    dossier = httpx.get(f"{base}/cases/{ticket}/dossier", cookies=cookies, timeout=30)
    assert dossier.status_code == 200 and dossier.content[:2] == b"PK", dossier.text[:200]
    after_assign = _counts(browser, base)
    assert after_assign["unassigned"] == before["unassigned"] - 1
    assert after_assign["mine"] == before["mine"] + 1 and after_assign["waiting"] == before["waiting"] + 1

    # The complainant opens the status link and uploads the notice from the page (a phone photo).
    browser.get(_status_link(suite, ticket))
    assert urlparse(browser.current_url).path == "/status"
    assert browser.find_element(By.ID, "plain-status").get_attribute("data-state") == "awaiting_evidence"
    photo = tmp_path / "closing-notice.png"
    photo.write_bytes(image_bytes(seed=33))
    picker = browser.find_element(By.CSS_SELECTOR, "input[type=file][data-item='channel_notice']")
    assert picker.get_attribute("accept") == "image/*" and picker.get_attribute("capture")
    picker.send_keys(str(photo))
    browser.find_element(By.CSS_SELECTOR, "form.upload button").click()
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#outcome.done"), timeout=20, what="the upload done")
    _case(suite, ticket, lambda c: c["state"] != "awaiting_evidence" and c["evidence"]["missing"] == [],
          "the case back in review with the evidence complete")

    # The agent proposes the refund; the complainant accepts it on the status page.
    browser.get(f"{base}/cases/{ticket}")
    _act(browser, "propose_resolution", "resolution_proposed")
    browser.get(f"{base}/status")
    assert browser.find_element(By.ID, "offer").text.startswith("全额退款")
    browser.save_screenshot(str(SHOTS / "console-status.png"))
    browser.set_window_size(390, 844)  # a phone: everything fits the width, nothing scrolls sideways
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    browser.save_screenshot(str(SHOTS / "console-status-phone.png"))
    browser.set_window_size(1280, 1600)
    assert _tab_reaches(browser, {"accept_resolution", "reject_resolution", "withdraw"}) >= {
        "accept_resolution", "reject_resolution", "withdraw"}
    _act(browser, "accept_resolution", "resolved")

    # The agent closes the case with the keyboard alone; the queues' counts follow.
    browser.get(f"{base}/cases/{ticket}")
    offered = {el.get_attribute("data-action") for el in browser.find_elements(By.CSS_SELECTOR, "button[data-action]")}
    assert "close" in offered and _tab_reaches(browser, offered) == offered
    browser.execute_script("window.__sameDocument = true;")
    browser.switch_to.active_element.send_keys(Keys.ENTER) if browser.switch_to.active_element.get_attribute(
        "data-action") == "close" else browser.find_element(By.CSS_SELECTOR, "#form-close button").send_keys(Keys.ENTER)
    wait_until(lambda: _state(browser) == "closed",
               timeout=20, what="the case closed")
    final = _counts(browser, base)
    assert final["mine"] == before["mine"] and final["waiting"] == before["waiting"]
    assert final["unassigned"] == before["unassigned"] - 1

    browser.get(f"{base}/analytics")
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) == 3
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar"), "the hot merchants drawn"

    # Every request the pages made went to the console itself.
    hosts = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = urlparse(message["params"]["request"]["url"])
            if url.scheme in ("http", "https"):
                hosts.add(url.netloc)
    assert hosts == {urlparse(base).netloc}
