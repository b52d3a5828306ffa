"""The runs' admin through Django's test client, on a real PostgreSQL copy of the shop:
bounded queries on the list, permissions enforced on the server, actions through the
engine's functions and logged with the user, the JSON feed, the start form's preview.
The browser tests (test_admin_browser.py) drive the same pages in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from admin_support import PASSWORD, celery_on, django_on, make_users, seed_runs
from backfill_support import ShopCopy

LIST_URL = "/admin/schemaops_backfill/run/"
NO_BROKER = "o Celery broker is configured, so no worker can take this run"  # capitalized


@pytest.fixture
def site(shop: ShopCopy) -> Iterator[ShopCopy]:
    with django_on(shop):
        make_users()
        yield shop


def client_for(username: str) -> Any:
    from django.test import Client

    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def seed(shop: ShopCopy, runs: int, batches: int, salt: str) -> list[int]:
    conn = shop.connect()
    try:
        with conn.cursor() as cur:
            seed_runs(cur, runs, batches, salt)
            cur.execute("SELECT id FROM schemaops_backfill_run ORDER BY id")
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def list_queries(client: Any) -> tuple[int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_list_page_queries_do_not_grow_with_runs(site: ShopCopy) -> None:
    alice = client_for("alice")
    seed(site, 3, 10, "a")
    few, page = list_queries(alice)
    seed(site, 150, 20, "b")  # more runs than one page, more batches per run
    many, page_many = list_queries(alice)
    assert few == many, f"{few} queries for 3 runs, {many} for 153"
    assert many <= 12
    assert page_many.count('data-field="state"') == 100  # one page of the list
    # every run shows its state in words and its progress; headers are real th cells
    assert "▶ active" in page_many and "⏸ paused" in page and "✗ failed" in page
    assert re.search(r'<progress max="100" value="90\.0"', page)  # 9 of 10 batches done
    assert '<th scope="col"' in page and "<title>Backfill runs" in page


def test_view_only_user_sees_no_actions_and_a_forged_post_is_refused(site: ShopCopy) -> None:
    from django.contrib.admin.models import LogEntry

    run_id = seed(site, 1, 3, "v")[0]  # state of the first seeded run: paused (1 % 4)
    site.query("UPDATE schemaops_backfill_run SET state = 'active' WHERE id = %s", [run_id])
    victor = client_for("victor")
    detail = victor.get(f"{LIST_URL}{run_id}/change/")
    assert detail.status_code == 200
    assert b"action-pause" not in detail.content and b"action-cancel" not in detail.content
    listing = victor.get(LIST_URL).content.decode()
    assert 'name="action"' not in listing and "Start a backfill" not in listing
    assert victor.get(f"{LIST_URL}add/").status_code == 403

    assert victor.post(f"{LIST_URL}{run_id}/act/cancel/").status_code == 403
    bulk = victor.post(LIST_URL, {"action": "cancel_runs", "_selected_action": [run_id]})
    assert bulk.status_code in (200, 302)
    assert site.run_state() == "active"
    assert not LogEntry.objects.exists()


def test_pause_and_cancel_use_the_engine_and_are_logged_with_the_user(site: ShopCopy) -> None:
    from django.contrib.admin.models import LogEntry

    run_id = seed(site, 1, 3, "p")[0]
    site.query("UPDATE schemaops_backfill_run SET state = 'active' WHERE id = %s", [run_id])
    alice = client_for("alice")
    page = alice.get(f"{LIST_URL}{run_id}/change/").content.decode()
    assert 'id="action-pause"' in page and 'id="action-resume"' not in page
    assert alice.get(f"{LIST_URL}{run_id}/act/pause/").status_code == 405  # POST only

    response = alice.post(f"{LIST_URL}{run_id}/act/pause/", follow=True)
    assert site.run_state() == "paused"
    assert "is paused" in response.content.decode()
    # Resuming needs a broker to hand the run to; this process has none configured.
    response = alice.post(f"{LIST_URL}{run_id}/act/resume/", follow=True)
    assert (
        "o Celery broker is configured, so no worker can take this run" in response.content.decode()
    )
    assert site.run_state() == "paused"
    alice.post(LIST_URL, {"action": "cancel_runs", "_selected_action": [run_id]})
    assert site.run_state() == "cancelled"
    # a cancelled run cannot be paused: the engine's own check, shown as a message
    response = alice.post(f"{LIST_URL}{run_id}/act/pause/", follow=True)
    assert "is cancelled: cannot pause it" in response.content.decode()

    entries = list(LogEntry.objects.order_by("id").values_list("user__username", "change_message"))
    assert [user for user, _ in entries] == ["alice", "alice"]
    assert "Pause" in entries[0][1] and "Cancel" in entries[1][1]


def test_detail_shows_chart_failed_batches_settings_and_verification(site: ShopCopy) -> None:
    run_id = seed(site, 1, 30, "d")[0]
    site.query(
        "UPDATE schemaops_backfill_batch SET state = 'failed', attempts = 5,"
        " last_error = 'deadlock detected' WHERE run_id = %s AND lo = 1",
        [run_id],
    )
    site.query(
        "UPDATE schemaops_backfill_run SET state = 'finished', remaining = 7, finished_at = now()"
        " WHERE id = %s",
        [run_id],
    )
    page = client_for("alice").get(f"{LIST_URL}{run_id}/change/").content.decode()
    assert "Failed: 7 rows still do not match." in page
    assert "deadlock detected" in page and "Failed batches (1)" in page
    assert "26 done batches" in page  # 27 done of 30, one made failed above
    points = re.findall(r'<polyline points="([^"]+)"', page)
    assert len(points) == 2 and all(len(p.split()) == 26 // 3 for p in points)  # 3 a slice
    assert "Throughput over time" in page and "100 ms" in page  # Lock timeout setting
    assert 'id="action-' not in page  # nothing to do with a finished run


def test_progress_feed_returns_the_runs_texts(site: ShopCopy) -> None:
    ids = seed(site, 2, 10, "f")
    data = (
        client_for("victor").get("/admin/schemaops_backfill/run/progress.json", {"id": ids}).json()
    )
    assert sorted(r["id"] for r in data["runs"]) == sorted(ids)
    run = next(r for r in data["runs"] if r["id"] == ids[0])  # the paused one
    assert run["cells"]["rows_updated"] == "9,000" and run["percent"] == 90.0
    assert (
        client_for("victor")
        .get("/admin/schemaops_backfill/run/progress.json", {"id": "x"})
        .status_code
        == 400
    )


def test_start_form_previews_before_it_starts(site: ShopCopy) -> None:
    site.seed(500)
    alice = client_for("alice")
    form = alice.get(f"{LIST_URL}add/").content.decode()
    assert '<label for="id_backfill">' in form and "orders.FillTotalCents" in form
    fields = {
        "backfill": "orders.FillTotalCents",
        "target_duration": "0.1",
        "max_rows_per_second": "0",
        "workers": "1",
        "lock_timeout": "100ms",
        "statement_timeout": "240ms",
        "verify": "on",
    }
    # "Start" without a preview only previews
    page = alice.post(f"{LIST_URL}add/", {**fields, "start": "Start"}).content.decode()
    assert "Dry run of orders.FillTotalCents" in page and 'id="preview-rows">500<' in page
    assert site.query("SELECT count(*) FROM schemaops_backfill_run")[0][0] == 0
    assert site.wrong_rows() == 500  # the sample batch was rolled back
    token = re.search(r'name="preview_token" value="([^"]+)"', page)
    assert token is not None
    # the previewed parameters, changed, are previewed again rather than started
    changed = {**fields, "workers": "2", "start": "Start", "preview_token": token.group(1)}
    assert "Dry run of" in alice.post(f"{LIST_URL}add/", changed).content.decode()
    # the previewed parameters: starting needs a broker, and this process has none
    same = {**fields, "start": "Start", "preview_token": token.group(1)}
    response = alice.post(f"{LIST_URL}add/", same, follow=True)
    assert (
        "o Celery broker is configured, so no worker can take this run" in response.content.decode()
    )
    bad = alice.post(f"{LIST_URL}add/", {**fields, "lock_timeout": "soon"}).content.decode()
    assert "bad duration" in bad


def batch_states(shop: ShopCopy, run_id: int) -> dict[str, int]:
    rows = shop.query(
        "SELECT state, count(*) FROM schemaops_backfill_batch WHERE run_id = %s GROUP BY state",
        [run_id],
    )
    return {state: int(n) for state, n in rows}


def test_retry_failed_gives_batches_back_without_changing_a_paused_run(site: ShopCopy) -> None:
    from schemaops.backfill import control
    from schemaops.errors import ConfigError

    run_id = seed(site, 1, 10, "t")[0]  # paused, 9 done and 1 pending
    site.query(
        "UPDATE schemaops_backfill_batch SET state = 'failed', attempts = 3, timeouts = 2"
        " WHERE run_id = %s AND lo < 2000",
        [run_id],
    )
    assert batch_states(site, run_id) == {"done": 7, "failed": 2, "pending": 1}
    control.retry_failed(run_id, "default")
    assert site.run_state() == "paused"
    assert batch_states(site, run_id) == {"done": 7, "pending": 3}
    assert site.query(
        "SELECT max(attempts), max(timeouts) FROM schemaops_backfill_batch"
        " WHERE run_id = %s AND lo < 2000",
        [run_id],
    ) == [(0, 0)]
    site.query(
        "UPDATE schemaops_backfill_batch SET state = 'failed' WHERE run_id = %s AND lo = 1",
        [run_id],
    )
    result = site.cli("retry", str(run_id))  # the command line's retry: the same function
    assert result.returncode == 0, result.stderr
    assert f"run {run_id} paused" in result.stdout
    assert batch_states(site, run_id) == {"done": 7, "pending": 3}
    site.query("UPDATE schemaops_backfill_run SET state = 'finished' WHERE id = %s", [run_id])
    with pytest.raises(ConfigError, match="is finished: cannot retry"):
        control.retry_failed(run_id, "default")
    result = site.cli("retry", str(run_id))
    assert result.returncode == 2 and "is finished: cannot retry" in result.stderr


def test_retry_from_the_admin_resumes_a_failed_run_and_queues_its_task(
    site: ShopCopy, redis_available: str
) -> None:
    import uuid

    import redis

    run_id = seed(site, 1, 10, "q")[0]
    site.query(
        "UPDATE schemaops_backfill_run SET state = 'failed', last_error = '5 batches failed'"
        " WHERE id = %s",
        [run_id],
    )
    site.query(
        "UPDATE schemaops_backfill_batch SET state = 'failed', last_error = 'boom'"
        " WHERE run_id = %s AND lo = 1",
        [run_id],
    )
    alice = client_for("alice")
    page = alice.get(f"{LIST_URL}{run_id}/change/").content.decode()
    assert 'id="action-retry"' in page and 'id="action-resume"' in page
    assert 'id="action-pause"' not in page
    queue = f"schemaops-admin-test-{uuid.uuid4().hex[:8]}"
    broker = redis.Redis.from_url(redis_available)
    try:
        with celery_on(redis_available, queue):
            alice.post(f"{LIST_URL}{run_id}/act/retry/")
        # no worker listens on this queue: the task the admin sent waits there
        assert broker.llen(queue) == 1
    finally:
        broker.delete(queue)
    assert site.run_state() == "active"
    assert batch_states(site, run_id) == {"done": 8, "pending": 2}
    assert site.query("SELECT last_error FROM schemaops_backfill_run")[0][0] == ""


def test_starting_a_backfill_takes_its_own_permission(site: ShopCopy) -> None:
    """add_run, which a role may hold for every model, does not start writes to a table."""
    from django.contrib.auth.models import Permission, User

    def grant(user: Any, *codenames: str) -> None:
        for codename in codenames:
            user.user_permissions.add(
                Permission.objects.get(
                    content_type__app_label="schemaops_backfill", codename=codename
                )
            )

    clerk = User.objects.create_user("clerk", "clerk@example.com", PASSWORD, is_staff=True)
    grant(clerk, "view_run", "change_run", "add_run")
    clerk_client = client_for("clerk")
    assert "start-backfill" not in clerk_client.get(LIST_URL).content.decode()
    assert clerk_client.get(f"{LIST_URL}add/").status_code == 403

    starter = User.objects.create_user("sam", "sam@example.com", PASSWORD, is_staff=True)
    grant(starter, "view_run", "start_backfill")
    starter_client = client_for("sam")
    assert "start-backfill" in starter_client.get(LIST_URL).content.decode()
    assert starter_client.get(f"{LIST_URL}add/").status_code == 200
