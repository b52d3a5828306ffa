"""The walk's SQL is Django's SQL, statement for statement, on three corpora.

The walk renders only what an operation reads, and reuses renderings across
operations (:mod:`schemaops.plan`); ``sqlmigrate`` and ``migrate`` render the
whole project and carry it forward (``Migration.apply``: clone the rendered
state, ``state_forwards``, ``database_forwards``). The reference here does
exactly that, through the same offline collecting schema editor (so only the
rendering differs), and credits deferred statements to their operation as the
walk does. Every operation of the labelled cases, the benchmark generator's
project and a set of relation-heavy shapes (foreign keys, many-to-many,
multi-table inheritance, renames, primary key retypes) must get the same
statements, forwards and backwards, and fail where Django fails.
"""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models
from django.db.migrations.state import ProjectState
from django.utils import timezone
from labelled_fixture import place_child
from lintkit import APP, FakeLoader, make_migration
from support import ROOT
from test_labelled_cases import CASES, case_loader
from test_lockmap_agrees_with_sql import OPERATIONS, SETUP

from schemaops import plan
from schemaops.plan import (
    Walker,
    _collecting_editor,
    _no_database,
    django_index_name,
    offline_connection,
)

PG = 150000
Path_ = tuple[str, str, tuple[int, ...]]  # app, migration, operation index (and child)


def walked(loader: Any) -> dict[Path_, tuple[list[str] | None, list[str] | None, str | None]]:
    """Each operation's (SQL, reverse SQL, error type) as the walk generates them (the
    reverse once the whole graph is walked: on the renderings it kept, unchanged since)."""
    walker = Walker(loader, pg_version=PG, want_sql=lambda s: True, want_reverse=lambda s: True)
    out = {}
    for step in walker.walk():
        todo = [((op.index,), op) for op in step.operations]
        while todo:
            where, op = todo.pop()
            todo.extend(((*where, c.index), c) for c in op.children)
            separate = isinstance(op.operation, migrations.SeparateDatabaseAndState)
            if separate or not op.operation.reduces_to_sql:
                continue
            error = op.sql_error.split(":")[0] if op.sql_error else None
            op.make_reverse()
            out[(step.app_label, step.name, where)] = (op.sql, op.reverse_sql, error)
    return out


def djangos(loader: Any) -> dict[Path_, tuple[list[str] | None, list[str] | None, str | None]]:
    """The same, the way ``sqlmigrate`` renders: the whole project at the start of each
    migration, then carried through it (``Migration.apply``)."""
    state = ProjectState(real_apps=set(loader.unmigrated_apps))
    connection = offline_connection(PG)
    out: dict[Path_, Any] = {}
    for key in Walker(loader).full_plan():
        migration = loader.graph.nodes[key]
        state.__dict__.pop("apps", None)  # sqlmigrate renders each migration's state anew
        editor = _collecting_editor(connection)
        owners: dict[int, list[str]] = {}
        for index, op in enumerate(migration.operations):
            if isinstance(op, migrations.SeparateDatabaseAndState):
                db_state = state.clone()
                for i, child in enumerate(op.database_operations):
                    before = db_state.clone()
                    child.state_forwards(key[0], db_state)
                    if child.reduces_to_sql:
                        out[(*key, (index, i))] = _apply(
                            child, key[0], editor, before, db_state, owners
                        )
                op.state_forwards(key[0], state)
                continue
            before = state.clone()
            op.state_forwards(key[0], state)
            if op.reduces_to_sql:
                out[(*key, (index,))] = _apply(op, key[0], editor, before, state, owners)
        for statement in editor.deferred_sql:
            text = str(statement)
            owners[id(statement)].append(text if text.endswith(";") else text + ";")
    return out


def _apply(
    op: Any, app_label: str, editor: Any, before: Any, after: Any, owners: dict[int, list[str]]
) -> tuple[list[str], list[str] | None, str | None]:
    start, deferred_start = len(editor.collected_sql), len(editor.deferred_sql)
    error = None
    try:
        with _no_database():
            op.database_forwards(app_label, editor, before, after)
    except Exception as exc:
        error = type(exc).__name__
    sql = editor.collected_sql[start:]
    for statement in editor.deferred_sql[deferred_start:]:
        owners[id(statement)] = sql
    reverse = None
    if error is None:
        back = _collecting_editor(editor.connection)
        try:
            with _no_database():
                op.database_backwards(app_label, back, after, before)
            deferred = [str(s) for s in back.deferred_sql]
            reverse = [*back.collected_sql, *(s if s.endswith(";") else s + ";" for s in deferred)]
        except Exception:
            reverse = None
    return sql, reverse, error


@pytest.fixture
def lean_renderings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds of the operations the walk rendered lean, leaving a relation out, and
    "view" for every rendering reused across an index or constraint change."""
    seen: list[str] = []
    original = plan.lean_operation

    def spy(op: Any, app_label: str, state: Any) -> bool:
        lean = original(op, app_label, state)
        model = state.models.get((app_label, getattr(op, "model_name_lower", None)))
        keys = {(app_label, getattr(op, "model_name_lower", None))}
        if (
            lean
            and model is not None
            and plan._lean_renderable(model)
            and len(plan._lean_fields(model, keys)) < len(model.fields)
        ):
            seen.append(type(op).__name__)
        return lean

    def view(*args: Any) -> Any:
        seen.append("view")
        return with_model_states(*args)

    with_model_states = plan._with_model_states
    monkeypatch.setattr(plan, "lean_operation", spy)
    monkeypatch.setattr(plan, "_with_model_states", view)
    return seen


def assert_same(loader: Any) -> int:
    mine, theirs = walked(loader), djangos(loader)
    assert mine.keys() == theirs.keys()
    for where, (sql, reverse, error) in theirs.items():
        got_sql, got_reverse, got_error = mine[where]
        assert (got_sql, got_error) == (sql, error), where
        if got_reverse is not None:  # the walk generates a reverse where Django can
            assert got_reverse == reverse, where
    return len(theirs)


# -- the corpora ---------------------------------------------------------------------


class FrozenClock(datetime.datetime):
    """``timezone.now`` at one instant: a callable default is called once per rendering."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=tz)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_labelled_cases(case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "datetime", FrozenClock)
    assert assert_same(case_loader(case)) > 0


def _bench_loader(tmp_path: Path, apps: int, count: int) -> FakeLoader:
    spec = importlib.util.spec_from_file_location("gen_project", ROOT / "bench/gen_project.py")
    gen = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(gen)  # type: ignore[union-attr]
    gen.generate(tmp_path, apps, count)
    found = []
    for path in sorted(tmp_path.glob("app_*/migrations/0*.py")):
        app = path.parent.parent.name
        spec = importlib.util.spec_from_file_location(f"bench_{app}_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        found.append(module.Migration(path.stem, app))
    return FakeLoader(found)


def test_bench_project(tmp_path: Path, lean_renderings: list[str]) -> None:
    """Every shape of the benchmark's history, across apps (a foreign key to the
    previous app), long enough for renderings to be reused many times over."""
    assert assert_same(_bench_loader(tmp_path, 3, 26)) > 60
    lean = {"AddField", "AlterField", "AddIndex", "RemoveIndex", "RenameField", "RemoveField"}
    assert lean | {"view"} <= set(lean_renderings)


@pytest.mark.slow
def test_whole_bench_project(tmp_path: Path) -> None:
    assert assert_same(_bench_loader(tmp_path, 20, 50)) > 1000


@pytest.mark.parametrize("index", range(len(OPERATIONS)))
def test_lock_map_operations(index: int) -> None:
    loader = FakeLoader(
        [
            make_migration("0001_initial", SETUP),
            make_migration("0002_op", [OPERATIONS[index]], dependencies=[(APP, "0001_initial")]),
        ]
    )
    assert assert_same(loader) > 0


def _fk(to: str, **kw: Any) -> models.ForeignKey:
    return models.ForeignKey(to, models.CASCADE, **kw)


PLACE = migrations.CreateModel(
    "Place",
    [("id", models.BigAutoField(primary_key=True)), ("name", models.CharField(max_length=50))],
)
LINE = migrations.CreateModel(
    "Line",
    [
        ("id", models.BigAutoField(primary_key=True)),
        ("order", _fk("shop.Order")),
        ("customer", _fk("shop.Customer", null=True)),
        ("parent", _fk("self", null=True)),
        ("sku", models.CharField(max_length=20)),
        ("qty", models.IntegerField(default=1)),
    ],
    options={
        "indexes": [models.Index(fields=["sku"], name="line_sku_idx")],
        "constraints": [models.UniqueConstraint(fields=["order", "sku"], name="line_order_sku")],
    },
)
TAGGED = migrations.CreateModel(
    "Tagged",
    [
        ("id", models.BigAutoField(primary_key=True)),
        ("order", _fk("shop.Order")),
        ("label", models.CharField(max_length=20)),
        ("rank", models.IntegerField(default=0)),
        ("orders", models.ManyToManyField("shop.Order", related_name="+")),
    ],
    options={"order_with_respect_to": "order", "unique_together": {("order", "label")}},
)

POS = ("shop_line", ["pos"])

# relations, many-to-many, multi-table inheritance, renames, primary key retypes; each
# list is one migration after SETUP, LINE, TAGGED and the Place family
SHAPES: list[list[Any]] = [
    # lean: a plain column of a model whose relations point elsewhere
    [
        migrations.AddField("line", "note", models.TextField(null=True)),
        migrations.AlterField("line", "note", models.TextField(default="")),
        migrations.AlterField("line", "qty", models.BigIntegerField(default=1, db_index=True)),
        migrations.AlterField("line", "sku", models.CharField(max_length=40)),
        migrations.RenameField("line", "note", "remark"),
        migrations.AddIndex("line", models.Index(fields=["qty", "-sku"], name="line_q_idx")),
        migrations.RenameIndex("line", new_name="line_q2_idx", old_name="line_q_idx"),
        migrations.RemoveIndex("line", "line_q2_idx"),
        migrations.AddConstraint(
            "line", models.UniqueConstraint(fields=["sku", "qty"], name="line_sku_qty")
        ),
        migrations.RemoveConstraint("line", "line_sku_qty"),
        migrations.RemoveConstraint("line", "line_order_sku"),
        migrations.RemoveField("line", "remark"),
        AddIndexConcurrently("line", models.Index(fields=["qty"], name="line_qc")),
        RemoveIndexConcurrently("line", "line_qc"),
    ],
    [
        migrations.AddField("tagged", "n", models.IntegerField(null=True)),
        migrations.AlterField("tagged", "label", models.CharField(max_length=40)),
        migrations.RenameField("tagged", "rank", "position"),
        migrations.RemoveField("tagged", "n"),
    ],
    # renderings reused across index and constraint changes where Meta is not read, and
    # made anew where it is: a type check's column renamed, a db_index dropped (Django
    # skips the Meta constraint and index named like its own check and db_index index)
    [
        migrations.AddIndex("line", models.Index(fields=["sku"], name="line_sku2")),
        migrations.AlterField("line", "sku", models.CharField(max_length=30)),
        migrations.AddConstraint(
            "line", models.UniqueConstraint(fields=["sku", "qty"], name="line_u2")
        ),
        migrations.RenameField("line", "qty", "quantity"),
        migrations.RemoveIndex("line", "line_sku2"),
        migrations.RemoveConstraint("line", "line_u2"),
        migrations.AddField("line", "pos", models.PositiveIntegerField(default=0)),
        migrations.AddConstraint(
            "line",
            models.UniqueConstraint(fields=["pos"], name=django_index_name(*POS, "_check")),
        ),
        migrations.AddIndex("line", models.Index(fields=["sku"], name="line_sku3")),
        migrations.AlterField("line", "pos", models.IntegerField(default=0)),
        migrations.AlterField("line", "pos", models.IntegerField(db_index=True)),
        migrations.AddIndex(
            "line", models.Index(fields=["pos"], name=django_index_name(*POS, "_idx"))
        ),
        migrations.AlterField("line", "pos", models.IntegerField(default=0)),
        migrations.RenameField("line", "pos", "position"),
        migrations.RemoveIndex("line", "line_sku3"),
    ],
    # not lean: the operation is about a relation, a key, or reads expressions
    [
        migrations.AddField("line", "coupon", _fk("shop.Coupon", null=True)),
        migrations.AlterField("line", "customer", _fk("shop.Customer", null=True, db_index=False)),
        migrations.RenameField("line", "customer", "buyer"),
        migrations.RemoveField("line", "buyer"),
        migrations.AddIndex("line", models.Index(fields=["order", "qty"], name="line_oq_idx")),
        migrations.AddConstraint(
            "line", models.CheckConstraint(condition=models.Q(qty__gte=0), name="line_qty")
        ),
        migrations.AddConstraint(
            "line",
            models.UniqueConstraint(
                fields=["sku"], condition=models.Q(parent__isnull=True), name="line_top_sku"
            ),
        ),
        migrations.AddField("line", "code", models.CharField(max_length=5, unique=True, null=True)),
        migrations.AlterField("line", "sku", models.CharField(max_length=20, unique=True)),
        migrations.AddField("tagged", "extra", models.ManyToManyField("shop.Customer")),
        migrations.RemoveField("tagged", "orders"),
    ],
    # an auto field added to a model keyed otherwise (Django makes it the primary key)
    [
        migrations.CreateModel(
            "Legacy", [("code", models.CharField(max_length=10, primary_key=True))]
        ),
        migrations.AddField("legacy", "number", models.BigAutoField(unique=True, serialize=False)),
    ],
    # primary key retypes and renames with referrers
    [migrations.AlterField("order", "id", models.BigAutoField(primary_key=True))],
    [migrations.AlterField("customer", "id", models.UUIDField(primary_key=True))],
    [migrations.RenameModel("Order", "Purchase")],
    [migrations.AlterModelTable("customer", "customers")],
    [migrations.RenameField("order", "id", "order_id")],
    [migrations.DeleteModel("Tagged")],
    # multi-table inheritance
    [
        migrations.AddField("restaurant", "stars", models.IntegerField(null=True)),
        migrations.AlterField("restaurant", "seats", models.IntegerField(default=0)),
        migrations.AddIndex("restaurant", models.Index(fields=["seats"], name="rest_seats")),
        migrations.RenameField("place", "name", "title"),
        migrations.AlterField("place", "id", models.AutoField(primary_key=True)),
        migrations.RemoveField("restaurant", "seats"),
    ],
    [
        migrations.AddField(
            "line",
            "total",
            models.GeneratedField(
                expression=models.F("qty") * 2, output_field=models.IntegerField(), db_persist=True
            ),
        ),
        migrations.AddField("line", "note", models.TextField(null=True)),
    ],
]


@pytest.mark.parametrize("operations", SHAPES, ids=lambda ops: type(ops[0]).__name__)
def test_relation_shapes(operations: list[Any], lean_renderings: list[str]) -> None:
    setup = [
        *SETUP,
        LINE,
        TAGGED,
        PLACE,
        place_child("Restaurant", ("seats", models.IntegerField(null=True))),
    ]
    loader = FakeLoader(
        [
            make_migration("0001_initial", setup),
            make_migration("0002_shape", operations, dependencies=[(APP, "0001_initial")]),
        ]
    )
    assert assert_same(loader) >= len(operations)


def test_every_lean_operation_is_compared(lean_renderings: list[str]) -> None:
    """The lean shapes above render every kind of lean operation without a relation, and
    reuse renderings across index and constraint changes."""
    for operations in SHAPES[:3]:
        test_relation_shapes(operations, lean_renderings)
    assert {t.__name__ for t in plan._lean_types()} | {"view"} <= set(lean_renderings)
