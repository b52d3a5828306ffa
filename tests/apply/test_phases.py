"""--phase pre / post on a project whose contract migration is marked deploy_phase = "post"."""

from __future__ import annotations

from migrate_support import columns, recorded
from phase_project import write
from support import run_cli, shop_env


def _migrate(root, params, *args):
    return run_cli("migrate", *args, cwd=root, env=shop_env(params), timeout=120)


def test_pre_applies_additive_and_leaves_the_contract_for_post(tmp_path, scratch_db):
    root = write(tmp_path)
    pre = _migrate(root, scratch_db, "--phase", "pre")
    assert pre.returncode == 0, pre.stderr
    assert recorded(scratch_db, "alpha") == {"0001_initial"}
    assert recorded(scratch_db, "beta") == {"0001_initial"}
    assert "1 post-deploy migration(s) left for --phase post" in pre.stdout
    assert "old" in columns(scratch_db, "alpha_thing")
    post = _migrate(root, scratch_db, "--phase", "post")
    assert post.returncode == 0, post.stderr
    assert "→ alpha.0002_drop_old (post, atomic)" in post.stderr
    assert "old" not in columns(scratch_db, "alpha_thing")


def test_pre_stops_when_a_pre_migration_needs_a_post_one(tmp_path, scratch_db):
    root = write(tmp_path, beta_needs_post=True)
    for args in (("--phase", "pre"), ("--phase", "pre", "--plan")):
        run = _migrate(root, scratch_db, *args)
        assert run.returncode == 1
        assert (
            "pre-deploy migration beta.0002_other_note depends on post-deploy migration "
            "alpha.0002_drop_old, which is not applied" in run.stderr
        )
        assert "Traceback" not in run.stderr
    assert recorded_or_none(scratch_db) is None  # nothing was applied


def test_plan_shows_phases(tmp_path, scratch_db):
    root = write(tmp_path)
    run = _migrate(root, scratch_db, "--plan", "--phase", "pre")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.split()[:2] == ["alpha.0001_initial", "pre"] for line in lines)
    assert any(
        "alpha.0002_drop_old" in line and "deferred to --phase post" in line for line in lines
    )


def test_bad_timeout_is_a_usage_error(tmp_path, scratch_db):
    root = write(tmp_path)
    run = _migrate(root, scratch_db, "--lock-timeout", "soon")
    assert run.returncode == 2
    # caught by the option itself, before any connection: one line, exit 2
    assert run.stderr.startswith("schemaops: error: Invalid value for '--lock-timeout'")
    assert "'soon' is not a duration" in run.stderr and len(run.stderr.splitlines()) == 1


def recorded_or_none(params):
    import psycopg2

    conn = psycopg2.connect(**params)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('django_migrations')")
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_usage_errors_are_one_line_and_exit_2(tmp_path, scratch_db):
    root = write(tmp_path)
    cases = [
        (("alpha", "9999"), "migration alpha.9999"),
        (("--allow", "alpha.0009_nope", "--plan"), "--allow names a migration that is not planned"),
        (("nosuchapp",), "app 'nosuchapp' has no migrations"),
    ]
    for args, message in cases:
        run = _migrate(root, scratch_db, *args)
        assert run.returncode == 2, run.stderr
        assert run.stderr.count("\n") == 1 and message in run.stderr
    gone = run_cli("migrate", cwd=root, env={**shop_env(scratch_db), "SHOP_DB_NAME": "nope_db"})
    assert gone.returncode == 2
    assert gone.stderr.startswith("schemaops: error: cannot ") and "nope_db" in gone.stderr
    assert gone.stderr.count("\n") == 1
