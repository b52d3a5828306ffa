"""One duration parser: PostgreSQL's units, bare numbers in the unit of the place."""

from __future__ import annotations

import pytest

from schemaops.durations import format_duration, parse_duration, pg_setting


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2s", 2.0),
        ("500ms", 0.5),
        ("1min", 60.0),
        ("1.5h", 5400.0),
        ("2 d", 172800.0),
        ("250us", 0.00025),
        ("3", 3.0),
        (" 0 ", 0.0),
        (1.5, 1.5),
    ],
)
def test_parse_duration_reads_postgresql_units(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


def test_a_bare_number_takes_the_unit_of_the_place():
    assert parse_duration("500", bare_unit="ms") == 0.5
    assert pg_setting("500") == "500"
    assert pg_setting("1min") == "1min"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1s", "cannot be negative"),
        ("5 sec", "unknown unit 'sec'"),
        ("soon", "not a duration"),
        ("", "not a duration"),
    ],
)
def test_bad_durations_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_pg_timeouts_are_whole_milliseconds():
    with pytest.raises(ValueError, match="whole milliseconds"):
        pg_setting("10us")


def test_format_duration_picks_a_short_unit():
    assert [format_duration(s) for s in (0.5, 2, 90, 7200, 0)] == [
        "500ms",
        "2s",
        "1.5min",
        "2h",
        "0",
    ]


def test_every_duration_option_takes_postgresql_units():
    from schemaops.cli.audit import audit_command
    from schemaops.cli.backfill import backfill_group
    from schemaops.cli.migrate import migrate_command

    start = backfill_group.commands["start"]
    durations = {
        (cmd.name, p.name): p
        for cmd in (start, migrate_command, audit_command)
        for p in cmd.params
        if p.type.name == "duration"
    }
    assert {("start", "pause"), ("start", "lease"), ("start", "target_duration"),
            ("start", "max_lag_seconds"), ("start", "lock_timeout"), ("migrate", "retry_delay"),
            ("migrate", "lock_timeout"), ("audit", "timeout")} <= set(durations)  # fmt: skip
    assert durations[("start", "pause")].type.convert("500ms", None, None) == 0.5
    assert durations[("start", "lease")].type.convert("2min", None, None) == 120.0
    assert durations[("start", "lock_timeout")].type.convert("2s", None, None) == "2s"


def test_a_negative_backfill_duration_is_one_line_and_exit_2(tmp_path):
    from support import run_cli

    proc = run_cli("backfill", "start", "orders.Order", "--set", "x = 1", "--lease", "-1s")
    assert proc.returncode == 2
    assert "'-1s': a duration cannot be negative" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
