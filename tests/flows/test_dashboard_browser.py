"""The operators' dashboard in real headless Chromium against the real local stack (`make demo`).

Skipped when Chromium, its driver or selenium is not installed (`make browser` installs them).
Saves tests/artifacts/dashboard.png.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_DIR / "tests" / "artifacts"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
DRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="chromium / chromedriver not installed (make browser)"
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1440,2200",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def stack():
    """`python -m chalicelib.local --demo` on a free port; yields its base URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "CREDITFIRST_"))}
    env.update(PORT=str(port), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.local", "--demo"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready, lines = threading.Event(), []

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "creditfirst local stack on" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    started = time.monotonic()
    try:
        if not ready.wait(120):
            pytest.fail("the local stack did not start:\n" + "".join(lines[-40:]))
        yield f"http://127.0.0.1:{port}", started
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cf-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, condition, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = condition()
            if value:
                return value
        except Exception:  # the element is not there yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out; page says: {driver.find_element('tag name', 'body').text[:500]}")


def test_operator_signs_in_and_sees_the_charts(stack, browser):
    from selenium.webdriver.common.by import By

    base, started = stack
    browser.get(base + "/admin")
    assert browser.find_element(By.ID, "login").is_displayed()
    key = browser.find_element(By.ID, "key")
    key.send_keys("wrong-key")
    browser.find_element(By.ID, "signin").click()
    _wait(browser, lambda: "refused" in browser.find_element(By.ID, "loginerr").text)

    key.clear()
    key.send_keys("local-admin-key")
    browser.find_element(By.ID, "signin").click()
    _wait(browser, lambda: browser.find_element(By.ID, "charts").get_attribute("data-ready") == "1")
    charts_at = time.monotonic()
    assert browser.execute_script("return sessionStorage.getItem('creditfirst.adminKey')") == "local-admin-key"

    bars = browser.find_elements(By.CSS_SELECTOR, "#c-dist rect.bar")
    assert len(bars) == 7 and sum(float(b.get_attribute("height")) > 0 for b in bars) >= 6  # the demo's bands
    assert len(browser.find_elements(By.CSS_SELECTOR, "#c-band rect.bar")) == 14
    assert len(browser.find_elements(By.CSS_SELECTOR, "#c-daily rect.bar")) == 60  # 30 days x 2 series
    assert browser.find_elements(By.CSS_SELECTOR, "#c-daily polyline.line")
    kpis = browser.find_element(By.ID, "kpis").text
    assert "AUTHORIZATION RATE" in kpis.upper() and "%" in kpis and "¥" in kpis

    # The tables: served by the risk/admin routes, or a clear "not available" until they exist.
    for box in ("reviews", "blacklist", "scenarios", "webhooks", "reconciliation"):
        _wait(browser, lambda: "Loading" not in browser.find_element(By.ID, box).text)  # noqa: B023 (called within the iteration)
        assert "HTTP 5" not in browser.find_element(By.ID, box).text
    history = browser.find_element(By.ID, "history")
    _wait(browser, lambda: history.text not in ("—", ""))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.getElementById('app').getBoundingClientRect().bottom + 140")
    browser.set_window_size(1440, max(900, min(int(height) + 40, 4000)))
    time.sleep(0.3)
    shot = ARTIFACTS / "dashboard.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    print(f"\ncharts drawn {charts_at - started:.1f}s after the stack was started; screenshot {shot}")

    errors = [
        e
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and "404" not in e["message"] and "401" not in e["message"]
    ]
    assert errors == [], errors


STUB_REVIEWS = """
window.calls = [];
let pending = [{id: "rv_1", kind: "rental", ref_id: "r_1", member_id: "m_demo", rule: "velocity",
                created_at: "2026-11-23T09:00:00.000Z"},
               {id: "rv_2", kind: "order", ref_id: "o_2", member_id: "m_other", rule: "first_order_large",
                created_at: "2026-11-23T09:05:00.000Z"}];
const realFetch = window.fetch;
window.fetch = async (path, init) => {
  if (!String(path).startsWith("/v1/admin/reviews")) return realFetch(path, init);
  window.calls.push({path: String(path), method: init.method, headers: init.headers});
  const m = String(path).match(/reviews\\/([^/]+)\\/(approve|reject)$/);
  if (m) { pending = pending.filter(r => r.id !== m[1]); return new Response("{}", {status: 200}); }
  return new Response(JSON.stringify({items: pending}), {status: 200});
};
loadReviews();
"""


def test_review_queue_buttons_call_the_review_routes(stack, browser):
    """The review routes belong to the risk feature; here they are stubbed in the page's fetch."""
    from selenium.webdriver.common.by import By

    base, _ = stack
    browser.get(base + "/admin")  # the key is still in this tab's session storage
    _wait(browser, lambda: browser.find_element(By.ID, "charts").get_attribute("data-ready") == "1")
    _wait(browser, lambda: "Loading" not in browser.find_element(By.ID, "reviews").text)  # the real call answered
    browser.execute_script(STUB_REVIEWS)
    buttons = _wait(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#reviews button[data-act]"))
    assert [b.text for b in buttons] == ["Approve", "Reject", "Approve", "Reject"]
    assert "velocity" in browser.find_element(By.ID, "reviews").text
    buttons[0].click()
    _wait(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "#reviews button[data-act]")) == 2)
    browser.find_element(By.CSS_SELECTOR, "#reviews button[data-act='reject']").click()
    _wait(browser, lambda: "Nothing here" in browser.find_element(By.ID, "reviews").text)
    posts = [c for c in browser.execute_script("return window.calls") if c["method"] == "POST"]
    assert [c["path"] for c in posts] == ["/v1/admin/reviews/rv_1/approve", "/v1/admin/reviews/rv_2/reject"]
    assert all(
        c["headers"]["Authorization"] == "Bearer local-admin-key" and c["headers"]["Idempotency-Key"] for c in posts
    )
