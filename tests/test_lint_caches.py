"""What the linter keeps for a run must not change what it reports.

The SQL trees are shared across a process (``statements.parsed``), a code
object's bytecode is decoded once (``pycode``) and a folder's relative path is
computed once (``selection.relative_file``), and statements are printed with
one ancestry visitor (``statements.deparse``), and a recipe may be written only
when read (``Rule.finding``): each test here holds one of them to the answer
computed afresh.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import migrations
from lintkit import lint, order_model

from schemaops.pycode import executed_sql, has_loop
from schemaops.selection import relative, relative_file
from schemaops.statements import SQLSyntaxError, deparse, parse, parsed

ADD_VALUE = "ALTER TYPE order_status ADD VALUE 'refunded'"


def test_a_statement_run_twice_in_a_migration_is_judged_where_each_runs():
    # The same text twice in one migration: rules find a statement among the
    # migration's by identity, so the second must not be the first's tree. The
    # first ADD VALUE meets the old type (SO608); the second follows a CREATE TYPE
    # of the same name, a new type with no rows (silent).
    ops = [
        migrations.RunSQL(ADD_VALUE),
        migrations.RunSQL("DROP TYPE order_status; CREATE TYPE order_status AS ENUM ('sent')"),
        migrations.RunSQL(ADD_VALUE),
    ]
    found = [f for f in lint(ops, setup=[order_model()]) if f.code == "SO608"]
    assert [f.operation for f in found] == [0]


def test_the_same_statement_in_two_migrations_is_judged_in_each():
    first = lint([migrations.RunSQL(ADD_VALUE)], setup=[order_model()])
    again = lint([migrations.RunSQL(ADD_VALUE)], setup=[order_model()])
    assert [f.code for f in first if f.code == "SO608"] == ["SO608"]
    assert [f.code for f in again if f.code == "SO608"] == ["SO608"]


def test_parsed_shares_the_trees_parse_would_build():
    sql = "ALTER TABLE shop_order ADD COLUMN note text; CREATE INDEX i ON shop_order (note)"
    shared = parsed(sql)
    assert parsed(sql) is shared
    fresh = parse(sql)
    assert [s.sql for s in shared] == [s.sql for s in fresh]
    assert [s.node for s in shared] == [s.node for s in fresh]
    assert all(a.node is not b.node for a, b in zip(shared, fresh, strict=True))


def test_parsed_raises_for_sql_that_does_not_parse_every_time():
    for _ in range(2):
        with pytest.raises(SQLSyntaxError):
            parsed("ALTER TABLE")


def _loops(apps, schema_editor):
    for row in apps.get_model("shop", "Order").objects.all():
        row.save()


def _executes(apps, schema_editor):
    schema_editor.execute("UPDATE shop_order SET amount = 0")
    schema_editor.execute(f"UPDATE shop_order SET amount = {1}")


def test_bytecode_read_twice_gives_the_same_answers():
    for _ in range(2):
        assert has_loop(_loops) and not has_loop(_executes)
        assert executed_sql(_executes) == (["UPDATE shop_order SET amount = 0"], 1)


@pytest.mark.parametrize(
    "where",
    [
        "proj",  # the project root: app/migrations/0001.py
        "proj/app/migrations",  # the file's own folder
        "proj/app/migrations/sub",  # below it
        "proj/other",  # a sibling folder
        ".",  # above the project
    ],
)
def test_relative_file_is_relative(tmp_path, where):
    folder = tmp_path / "proj/app/migrations"
    (folder / "sub").mkdir(parents=True)
    (tmp_path / "proj/other").mkdir()
    path = str(folder / "0001_initial.py")
    root = (tmp_path / where).resolve()
    assert relative_file(path, root) == relative(path, root) == os.path.relpath(path, root)
    assert relative_file(path, root) == relative_file(path, Path(str(root)))


PRINTED = [
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS o_a ON shop_order (amount) WHERE amount > 0",
    "UPDATE shop_order SET amount = coalesce(amount, 0) * 2 WHERE id IN (SELECT id FROM t)",
    "ALTER TABLE shop_order ADD COLUMN c integer DEFAULT (1 + 2) * 3 NOT NULL",
    "ALTER TABLE shop_order ALTER COLUMN a TYPE bigint USING a::bigint",
    "SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END FROM t WHERE NOT (a = 1 OR b = 2)",
    "CREATE TABLE t (id serial PRIMARY KEY, v text CHECK (v <> ''), w int REFERENCES u)",
    "DELETE FROM t USING u WHERE t.id = u.id AND u.created < now() - interval '1 day'",
    "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y') ON CONFLICT (a) DO UPDATE SET b = 'z'",
]


@pytest.mark.parametrize("sql", PRINTED)
def test_deparse_prints_what_pglast_prints(sql):
    from pglast.stream import RawStream

    for node in [stmt.node for stmt in parse(sql)]:
        assert deparse(node) == str(RawStream()(node))
    where = parse(PRINTED[1])[0].node.whereClause  # an expression printed on its own
    assert deparse(where) == str(RawStream()(where))


def _linted(operation, *codes, extra=()):
    from django.db import models
    from lintkit import APP, FakeLoader, make_migration

    from schemaops.checks import RULES
    from schemaops.config import Config
    from schemaops.linter import Linter

    first = make_migration("0001_initial", [order_model(("note", models.TextField()))])
    second = make_migration("0002_change", [operation], dependencies=[(APP, "0001_initial")])
    loader = FakeLoader([first, second])
    rules = [RULES[code]() for code in (*codes, "SO905")] + list(extra)
    return loader, Linter(loader, Config(), rules=rules).run({(APP, "0002_change")})


def _drop_note():
    return _linted(migrations.RemoveField("order", "note"), "SO101")


def test_a_planned_operations_recipe_is_written_only_when_read():
    from schemaops.findings import recipe_written
    from schemaops.remedy.attach import attach_remedies

    loader, result = _drop_note()
    (drop,) = result.findings
    assert drop.code == "SO101" and not recipe_written(drop)
    assert "drop_order_note" in drop.recipe and recipe_written(drop)  # as the rule wrote it
    _, planned = _drop_note()
    remedies = attach_remedies(planned.findings, loader, 150000, sql=planned.sql)
    assert planned.findings[0].recipe == remedies["shop.0002_change#0"]["recipe"]


def test_a_recipe_that_raises_where_no_remedy_replaces_it_is_its_rules_crash():
    from django.db import models

    from schemaops.checks import RULES

    timeout_rule = RULES["SO401"]  # a timeouts rule: the planner plans nothing for it

    class LateRecipe(timeout_rule):  # type: ignore[misc,valid-type]
        def check_migration(self, ctx):
            return []

        def check_operation(self, ctx):
            def recipe():
                raise KeyError("not there")

            yield self.finding(ctx, "needs a timeout", recipe=recipe)

    LateRecipe.operations = (migrations.AddField,)
    added = migrations.AddField("order", "memo", models.TextField(null=True))
    _, result = _linted(added, extra=[LateRecipe()])
    by_code = {f.code: f for f in result.findings}
    assert sorted(by_code) == ["SO905"]
    assert "rule SO401" in by_code["SO905"].message and "KeyError" in by_code["SO905"].message
