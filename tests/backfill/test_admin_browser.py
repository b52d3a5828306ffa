"""The runs' admin in a real headless Chromium against Django's live server.

The live server runs in this process on a copy of the demo shop; a real ``celery
worker`` on Redis (tests/backfill/conftest.py) runs the batches the admin queues.
Screenshots of the list and detail pages go to ``$SCHEMAOPS_SCREENSHOT_DIR`` (the
docs' copies: ``SCHEMAOPS_SCREENSHOT_DIR=docs/img``) or to the test's tmp folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from admin_support import (
    PASSWORD,
    celery_on,
    chromium,
    django_on,
    make_users,
    quit_chromium,
    seed_runs,
)
from backfill_support import REDIS_URL, ShopCopy, Worker, wait_for

pytestmark = pytest.mark.slow
ORDERS = 40_000
RATE = 2_500  # rows per second: the run lasts ~16 s, long enough to pause and resume
RUNS = "/admin/schemaops_backfill/run/"


@contextmanager
def live_server() -> Iterator[str]:
    """Django's live server (with static files) in a thread of this process."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    server = LiveServerThread("127.0.0.1", StaticFilesHandler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.terminate()


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = chromium()
    try:
        yield driver
    finally:
        quit_chromium(driver)


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCHEMAOPS_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_in(driver: Any, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/admin/login/?next={RUNS}")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # The path, not the URL: the login page's own URL ends with ``?next=RUNS``.
    wait_for(lambda: path_of(driver) == RUNS and loaded(driver), timeout=30)


def path_of(driver: Any) -> str:
    return urlsplit(driver.current_url).path


def loaded(driver: Any) -> bool:
    return bool(driver.execute_script("return document.readyState") == "complete")


def text_of(driver: Any, css: str) -> str:
    """The element's text, or "" while the page is being replaced (after a click)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    try:
        return str(driver.find_element("css selector", css).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def rows_done(driver: Any) -> int:
    text = text_of(driver, "#rows-done").replace(",", "")
    return int(text) if text else -1


def state_shown(driver: Any) -> str:
    return text_of(driver, "[data-field=state]")


def click(driver: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, element_id).click()


def start_demo_backfill(driver: Any, base: str, screenshots: Path) -> int:
    """Through the start form and its dry-run preview; returns the run's id."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    click(driver, "start-backfill")
    Select(driver.find_element(By.ID, "id_backfill")).select_by_value("orders.FillTotalCents")
    for field, value in (("id_batch_size", "250"), ("id_max_rows_per_second", str(RATE))):
        driver.find_element(By.ID, field).clear()
        driver.find_element(By.ID, field).send_keys(value)
    click(driver, "preview-button")
    preview = wait_for(lambda: driver.find_elements(By.ID, "preview-rows"), timeout=30)
    assert preview[0].text == str(ORDERS)  # the dry run counted the pending rows
    driver.save_screenshot(str(screenshots / "admin-start-preview.png"))
    click(driver, "start-button")
    wait_for(lambda: path_of(driver).endswith("/change/"), timeout=30)
    return int(path_of(driver).rstrip("/").split("/")[-2])


def test_start_watch_pause_resume_cancel(
    shop: ShopCopy, worker: Worker, browser: Any, screenshots: Path
) -> None:
    from django.contrib.admin.models import LogEntry

    shop.seed(ORDERS)
    worker.start()
    with django_on(shop), celery_on(REDIS_URL, worker.queue), live_server() as base:
        make_users()
        log_in(browser, base, "alice")
        run_id = start_demo_backfill(browser, base, screenshots)
        assert state_shown(browser) == "▶ active"
        # The page polls: the number grows while the page itself is not reloaded.
        browser.execute_script("window.notReloaded = true;")
        first = rows_done(browser)
        wait_for(lambda: rows_done(browser) > first, timeout=60)
        second = rows_done(browser)
        wait_for(lambda: rows_done(browser) > second, timeout=60)
        assert browser.execute_script("return window.notReloaded === true;")

        click(browser, "action-pause")
        wait_for(lambda: state_shown(browser) == "⏸ paused", timeout=10)
        assert shop.run_state() == "paused"
        assert browser.find_elements("id", "action-resume")
        assert not browser.find_elements("id", "action-pause")
        wait_for(lambda: not _running_batches(shop, run_id), timeout=30)
        paused_at = shop.done_batches()
        browser.refresh()
        assert shop.done_batches() == paused_at  # nothing runs while paused

        click(browser, "action-resume")
        wait_for(lambda: state_shown(browser) == "▶ active", timeout=10)
        wait_for(lambda: shop.done_batches() > paused_at, timeout=60)
        resumed = rows_done(browser)
        wait_for(lambda: rows_done(browser) > resumed, timeout=60)
        browser.set_window_size(1600, 1900)  # the whole detail page
        browser.refresh()  # the chart is drawn when the page is rendered
        browser.save_screenshot(str(screenshots / "admin-run-detail.png"))
        browser.set_window_size(1600, 520)
        browser.get(f"{base}{RUNS}")
        click(browser, "toggle-nav-sidebar")  # room for every column (remembered by the page)
        browser.save_screenshot(str(screenshots / "admin-runs-list.png"))
        browser.find_element("link text", "orders.FillTotalCents").click()

        click(browser, "action-cancel")
        wait_for(lambda: state_shown(browser) == "■ cancelled", timeout=10)
        assert shop.run_state() == "cancelled"
        assert not browser.find_elements("css selector", "[id^=action-]")
        log = list(
            LogEntry.objects.filter(object_id=str(run_id))
            .order_by("id")
            .values_list("user__username", "action_flag", "change_message")
        )
    assert [user for user, _, _ in log] == ["alice"] * 4
    assert [flag for _, flag, _ in log] == [1, 2, 2, 2]  # added, then changed three times
    assert [message.split(" (")[0] for _, _, message in log[1:]] == ["Pause", "Resume", "Cancel"]
    assert 0 < shop.wrong_rows() < ORDERS  # cancelled midway, after real progress
    for name in ("admin-run-detail.png", "admin-runs-list.png", "admin-start-preview.png"):
        assert (screenshots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _running_batches(shop: ShopCopy, run_id: int) -> int:
    rows = shop.query(
        "SELECT count(*) FROM schemaops_backfill_batch WHERE run_id = %s AND state = 'running'",
        [run_id],
    )
    return int(rows[0][0])


FORGE = """
const done = arguments[arguments.length - 1];
const token = document.cookie.split("; ").find(c => c.startsWith("csrftoken=")).split("=")[1];
fetch(arguments[0], {method: "POST", credentials: "same-origin",
                     headers: {"X-CSRFToken": token}}).then(r => done(r.status));
"""


def test_view_only_user_sees_no_buttons_and_a_forged_post_is_refused(
    shop: ShopCopy, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    conn = shop.connect()
    with conn.cursor() as cur:
        seed_runs(cur, 2, 20)
        cur.execute("UPDATE schemaops_backfill_run SET state = 'active' RETURNING id")
        run_id = max(row[0] for row in cur.fetchall())
    conn.close()
    with django_on(shop), live_server() as base:
        make_users()
        log_in(browser, base, "victor")
        assert "Backfill runs" in browser.title
        assert not browser.find_elements(By.NAME, "action")  # no bulk actions
        assert not browser.find_elements(By.ID, "start-backfill")
        assert browser.find_elements(By.CSS_SELECTOR, "th[scope=col]")
        browser.get(f"{base}{RUNS}{run_id}/change/")
        assert state_shown(browser) == "▶ active"
        assert not browser.find_elements(By.CSS_SELECTOR, "[id^=action-]")
        status = browser.execute_async_script(FORGE, f"{RUNS}{run_id}/act/cancel/")
        assert status == 403
        assert browser.execute_async_script(FORGE, f"{RUNS}{run_id}/act/pause/") == 403
    assert {state for (state,) in shop.query("SELECT state FROM schemaops_backfill_run")} == {
        "active"
    }
