"""``check`` generates and reads the SQL of every operation, without ``--sql``.

The walk renders the models an operation touches, runs Django's own
``database_forwards`` against a collecting schema editor, and the statement
rules read what it collected (with the catalog as it is before the operation).
These tests hold: dangers only the SQL shows are found by default; a hazard is
reported once; the SQL ``--sql`` prints is the SQL the rules read and the SQL
the remedy planner is given; reusing renderings across operations never shows
an operation a stale model.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import migrations, models
from lintkit import APP, QUIET, FakeLoader, codes, lint, make_migration
from models import coupon_model, customer_model, order_model
from test_lockmap_agrees_with_sql import OPERATIONS, SETUP

from schemaops.config import Config
from schemaops.linter import Linter
from schemaops.plan import Walker, operation_sql
from schemaops.remedy.planner import PlanContext, plan_operation
from schemaops.statements import parse


class AddCodeIndex(migrations.operations.base.Operation):
    """A project's own operation: its ``database_forwards`` builds an index."""

    reduces_to_sql = True
    reversible = True

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any):
        model = to_state.apps.get_model(app_label, "order")
        schema_editor.add_index(model, models.Index(fields=["code"], name="order_code_custom"))

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ):
        pass

    def describe(self) -> str:
        return "adds an index on order.code"


class AddFieldAndIndex(migrations.AddField):
    """A subclass of Django's AddField that also indexes the new column."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any):
        super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        schema_editor.add_index(model, models.Index(fields=[self.name], name="order_extra_idx"))


def test_custom_operation_building_an_index_is_caught_without_sql_flag():
    found = [f for f in lint([AddCodeIndex()], setup=[order_model()]) if f.code == "SO201"]
    assert len(found) == 1
    assert "order_code_custom" in found[0].message or "shop_order" in found[0].message


def test_custom_operation_building_an_index_on_a_new_table_is_silent():
    assert "SO201" not in codes(lint([order_model(), AddCodeIndex()]))


def test_subclass_adding_sql_to_a_django_operation_is_read_from_its_sql():
    """AddField's own rules see a plain nullable column; only the SQL shows the index."""
    extra = AddFieldAndIndex("order", "extra", models.IntegerField(null=True))
    plain = migrations.AddField("order", "extra", models.IntegerField(null=True))
    assert codes(lint([extra], setup=[order_model()])).count("SO201") == 1
    assert "SO201" not in codes(lint([plain], setup=[order_model()]))


def test_many_to_many_repoint_is_read_from_its_sql_without_sql_flag():
    repoint = migrations.AlterField("coupon", "customers", models.ManyToManyField("shop.Order"))
    found = codes(lint([repoint], setup=[order_model(), customer_model(), coupon_model()]))
    assert "SO103" in found and "SO204" in found


def test_a_hazard_is_reported_once_per_operation():
    """The index an AddField(db_index=True) builds is SO201 from the operation rule,
    not a second SO201 from the statement rule reading the generated CREATE INDEX."""
    op = migrations.AddField("order", "n", models.IntegerField(null=True, db_index=True))
    assert codes(lint([op], setup=[order_model()])).count("SO201") == 1


def test_generated_sql_is_read_with_the_catalog_before_the_operation():
    """varchar(20) -> text: Django writes ``TYPE text USING "code"::text``; the type
    before the operation is varchar, binary-coercible, so nothing is rewritten."""
    widen = migrations.AlterField("order", "code", models.TextField())
    shrink = migrations.AlterField("order", "code", models.CharField(max_length=10))
    assert "SO206" not in codes(lint([widen], setup=[order_model()]))
    assert codes(lint([shrink], setup=[order_model()])).count("SO206") == 1


def test_djangos_default_fill_is_not_a_second_finding():
    """NULL -> NOT NULL with a default: Django UPDATEs the NULLs first; SO109 names
    that UPDATE, so the statement rules do not report it again as SO305."""
    op = migrations.AlterField("order", "legacy", models.CharField(max_length=20, default="x"))
    found = codes(lint([op], setup=[order_model()]))
    assert "SO109" in found and "SO305" not in found


def test_hygiene_rules_do_not_read_djangos_own_sql():
    op = migrations.AddField("order", "note", models.CharField(max_length=20, null=True))
    assert "SO604" not in codes(lint([op], setup=[order_model()]))


class Opaque:
    """A value no database driver can quote."""


class OpaqueDefaultField(models.IntegerField):
    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        return Opaque()


def test_sql_that_cannot_be_generated_is_a_finding_without_sql_flag():
    op = migrations.AddField("order", "weight", OpaqueDefaultField(default=1))
    found = [f for f in lint([op], setup=[order_model()]) if f.code == "SO903"]
    assert len(found) == 1 and "gap in schemaops" in found[0].message
    fine = migrations.AddField("order", "weight", models.IntegerField(default=1))
    assert "SO903" not in codes(lint([fine], setup=[order_model()]))


# -- the SQL --sql prints is the SQL analysed, and the SQL the planner is given -----


class StatementSpy:
    """A rule that records every statement the linter gives the statement rules."""

    code, name, category, severity, retired = "SO999", "spy", "meta", None, False
    operations = ()

    class _All:
        def __contains__(self, kind: object) -> bool:
            return True

    statements = _All()

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], list[str]] = {}

    @classmethod
    def hooks(cls) -> set[str]:
        return {"check_statement"}

    def check_statement(self, ctx: Any) -> list[Any]:
        step = ctx.operation.step
        self.seen.setdefault((step.migration_name, step.index), []).append(ctx.sql)
        return []


def _run(operations: list[Any], setup: list[Any], rules: list[Any] | None = None) -> Any:
    first = make_migration("0001_initial", setup)
    second = make_migration("0002_change", operations, dependencies=[(APP, "0001_initial")])
    linter = Linter(FakeLoader([first, second]), QUIET, rules=rules, keep_steps=True)
    return linter.run({(APP, "0002_change")})


def test_sql_listing_is_exactly_what_the_statement_rules_read():
    from schemaops.gate.command import _sql_listing

    spy = StatementSpy()
    result = _run(OPERATIONS[:12], SETUP, rules=[spy])
    listing = _sql_listing(result)
    (step,) = result.steps
    assert all(op.sql for op in step.operations)
    for op in step.operations:
        parsed = parse("\n".join(op.sql))
        # all of it, but the default fill Django's NOT NULL change makes (see _lint_sql)
        ddl = [s.sql for s in parsed if type(s.node).__name__ != "UpdateStmt"]
        assert spy.seen[(step.name, op.index)] == ddl
        for statement in op.sql:
            assert statement in listing


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.describe())
def test_walk_sql_equals_the_sql_generated_for_the_operation_alone(op: Any) -> None:
    """What the walk generated (forwards, and the reverse where the planner needs it)
    is what ``operation_sql`` generates on the state before the operation."""
    from django.db.migrations.state import ProjectState

    result = _run([op], SETUP)
    (step,) = result.steps
    state = ProjectState()
    for setup_op in SETUP:
        setup_op.state_forwards(APP, state)
    forwards, backwards = operation_sql(op, APP, state, 150000)
    assert step.operations[0].sql == forwards
    if (APP, "0002_change", 0) in result.sql:
        assert result.sql[(APP, "0002_change", 0)] == (forwards, backwards)
        # and the planner, given that SQL, plans what it plans generating it itself
        given = plan_operation(op, APP, state, PlanContext(sql=(forwards, backwards)))
        alone = plan_operation(op, APP, state)
        assert (given and given.summary) == (alone and alone.summary)


def test_the_planner_gets_the_walks_sql_for_every_remedy():
    """A run with more remedies than the old cap of 50 plans every one of them."""
    from schemaops.remedy.attach import attach_remedies

    ops = [
        migrations.AddIndex("order", models.Index(fields=["amount"], name=f"order_amount_{i}"))
        for i in range(55)
    ]
    first = make_migration("0001_initial", [order_model()])
    second = make_migration("0002_change", ops, dependencies=[(APP, "0001_initial")])
    loader = FakeLoader([first, second])
    result = Linter(loader, Config()).run({(APP, "0002_change")})
    assert len(result.sql) == 55
    remedies = attach_remedies(result.findings, loader, 150000, sql=result.sql)
    assert len(remedies) == 55
    assert all(r["kind"] == "concurrent-index" for r in remedies.values())


def test_the_reverse_sql_is_generated_for_the_operations_check_plans_only():
    """A safe operation's reverse is not generated (nothing plans it); a flagged one's is,
    and it is the reverse ``operation_sql`` generates on the state before it."""
    from django.db.migrations.state import ProjectState

    note = migrations.AddField("order", "note", models.TextField(null=True))
    index = migrations.AddIndex("order", models.Index(fields=["amount"], name="order_amount"))
    first = make_migration("0001_initial", [order_model()])
    second = make_migration("0002_change", [note, index], dependencies=[(APP, "0001_initial")])
    result = Linter(FakeLoader([first, second]), Config()).run({(APP, "0002_change")})
    assert {f.operation for f in result.findings if f.code == "SO201"} == {1}
    assert set(result.sql) == {(APP, "0002_change", 1)}
    state = ProjectState()
    for op in (order_model(), note):
        op.state_forwards(APP, state)
    assert result.sql[(APP, "0002_change", 1)] == operation_sql(index, APP, state, 150000)


# -- renderings reused across operations and migrations -----------------------------


def _walk(*migration_ops: list[Any], setup: list[Any]) -> list[Any]:
    """Walk setup + one migration per list; the operation steps of the later ones."""
    chain = [make_migration("0001_initial", setup)]
    for i, ops in enumerate(migration_ops, start=2):
        chain.append(make_migration(f"{i:04d}_m", ops, dependencies=[(APP, chain[-1].name)]))
    walker = Walker(FakeLoader(chain), want_sql=lambda step: True)
    return [op for m in walker.walk() if m.name != "0001_initial" for op in m.operations]


def test_each_migration_sees_the_model_the_one_before_left():
    steps = _walk(
        [migrations.AddField("order", "note", models.TextField(null=True))],
        [migrations.AlterField("order", "note", models.TextField(default=""))],
        [migrations.AddIndex("order", models.Index(fields=["note"], name="order_note_idx"))],
        [migrations.RemoveIndex("order", "order_note_idx")],
        [migrations.RenameField("order", "note", "remark")],
        [migrations.AlterField("order", "remark", models.CharField(max_length=5, default=""))],
        [migrations.RemoveField("order", "remark")],
        setup=[order_model()],
    )
    sql = [" ".join(s.sql) for s in steps]
    assert all(s.sql_error is None for s in steps)
    assert 'ADD COLUMN "note" text NULL' in sql[0]
    assert 'ALTER COLUMN "note" SET NOT NULL' in sql[1]
    assert 'CREATE INDEX "order_note_idx"' in sql[2]
    assert 'DROP INDEX IF EXISTS "order_note_idx"' in sql[3]
    assert 'RENAME COLUMN "note" TO "remark"' in sql[4]
    assert 'ALTER COLUMN "remark" TYPE varchar(5)' in sql[5]
    assert 'DROP COLUMN "remark"' in sql[6]


def _order_and_coupon() -> list[Any]:
    """Order with a unique code, and Coupon pointing at it by that code."""
    order = migrations.CreateModel(
        "Order",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("code", models.CharField(max_length=20, unique=True)),
        ],
    )
    coupon = migrations.CreateModel(
        "Coupon",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("order", models.ForeignKey("shop.Order", models.CASCADE, to_field="code")),
        ],
    )
    return [order, coupon]


def test_renaming_a_to_field_target_is_seen_by_the_models_pointing_at_it():
    """RenameField edits the to_field of the foreign keys pointing at it in place: a
    rendering made before must not be reused for them."""

    def fk(**kwargs: Any) -> Any:
        return models.ForeignKey("shop.Order", models.CASCADE, to_field="ref", **kwargs)

    steps = _walk(
        [migrations.AddField("coupon", "n", models.IntegerField(null=True))],
        [migrations.RenameField("order", "code", "ref")],
        [migrations.AlterField("coupon", "order", fk(null=True))],
        setup=_order_and_coupon(),
    )
    assert all(s.sql_error is None for s in steps), [s.sql_error for s in steps]
    assert 'RENAME COLUMN "code" TO "ref"' in " ".join(steps[1].sql)
    assert 'ALTER COLUMN "order_id" DROP NOT NULL' in " ".join(steps[2].sql)


def _walker(*migration_ops: list[Any], setup: list[Any]) -> tuple[Walker, list[Any]]:
    chain = [make_migration("0001_initial", setup)]
    for i, ops in enumerate(migration_ops, start=2):
        chain.append(make_migration(f"{i:04d}_m", ops, dependencies=[(APP, chain[-1].name)]))
    walker = Walker(FakeLoader(chain), want_sql=lambda step: True)
    steps = [op for m in walker.walk() if m.name != "0001_initial" for op in m.operations]
    return walker, steps


def _alone(setup: list[Any], before: list[Any], op: Any) -> list[str]:
    from django.db.migrations.state import ProjectState

    state = ProjectState()
    for setup_op in [*setup, *before]:
        setup_op.state_forwards(APP, state)
    return operation_sql(op, APP, state, 150000)[0]


def test_a_rendering_of_more_models_serves_an_operation_on_fewer():
    """Renaming a unique field renders its model with the models pointing at it; the
    next operation on that model alone reuses that rendering, with Django's own SQL."""
    setup = _order_and_coupon()
    rename = migrations.RenameField("order", "code", "ref")
    add = migrations.AddField("order", "note", models.TextField(null=True))
    walker, steps = _walker([rename], [add], setup=setup)
    gen = walker.sql_generator
    # the AddField's "before" is the rename's "after" (order and coupon): no new rendering
    # rendering the order alone again for the AddField's "before" would be a 7th miss
    assert (gen.hits, gen.misses) == (2, 6)
    assert steps[1].sql == _alone(setup, [rename], add)
    assert all(s.sql_error is None for s in steps)


def test_a_rendering_of_more_models_is_not_reused_once_one_of_them_changed():
    """The same walk with the coupon changed in between: the larger rendering is stale."""
    setup = _order_and_coupon()
    rename = migrations.RenameField("order", "code", "ref")
    touch = migrations.AlterModelTable("coupon", "coupon_t")
    add = migrations.AddField("order", "note", models.TextField(null=True))
    with_touch, steps = _walker([rename], [touch], [add], setup=setup)
    without, _ = _walker([rename], [add], setup=setup)
    # one more rendering for the AddField: the rename's was made from the old coupon
    assert with_touch.sql_generator.misses > without.sql_generator.misses
    assert steps[-1].sql == _alone(setup, [rename, touch], add)


def test_state_only_operations_render_nothing():
    first = make_migration("0001_initial", [order_model()])
    second = make_migration(
        "0002_change",
        [
            migrations.AlterModelOptions("order", {"ordering": ["code"]}),
            migrations.AlterModelManagers("order", []),
        ],
        dependencies=[(APP, "0001_initial")],
    )
    walker = Walker(
        FakeLoader([first, second]), want_sql=lambda step: step.migration_name == "0002_change"
    )
    (step,) = [m for m in walker.walk() if m.name == "0002_change"]
    assert [op.sql for op in step.operations] == [[], []]
    assert walker._rendered == 0


def test_operations_on_unmanaged_models_render_nothing():
    unmanaged = migrations.CreateModel(
        "Legacy",
        [("id", models.BigAutoField(primary_key=True))],
        options={"managed": False},
    )
    first = make_migration("0001_initial", [unmanaged])
    second = make_migration(
        "0002_change",
        [migrations.AddField("legacy", "n", models.IntegerField(null=True))],
        dependencies=[(APP, "0001_initial")],
    )
    walker = Walker(FakeLoader([first, second]), want_sql=lambda step: True)
    steps = [m for m in walker.walk()]
    assert steps[0].operations[0].sql == [] and steps[1].operations[0].sql == []
    assert walker._rendered == 0


def _django_sql(op: Any, setup: list[Any]) -> list[str]:
    """The SQL of ``op`` on fully rendered project states, as Django's executor has them."""
    from django.db.migrations.state import ProjectState

    from schemaops.plan import _collecting_editor, _no_database, offline_connection

    before = ProjectState()
    for setup_op in setup:
        setup_op.state_forwards(APP, before)
    after = before.clone()
    op.state_forwards(APP, after)
    editor = _collecting_editor(offline_connection(150000))
    with _no_database():
        op.database_forwards(APP, editor, before, after)
    deferred = [str(s) for s in editor.deferred_sql]
    return [*editor.collected_sql, *(s if s.endswith(";") else s + ";" for s in deferred)]


FAT_TARGET = migrations.CreateModel(
    "Account",
    [
        ("id", models.BigAutoField(primary_key=True)),
        ("email", models.CharField(max_length=50, unique=True)),
        *[(f"f{i}", models.IntegerField(default=i)) for i in range(8)],
        ("owner", models.ForeignKey("shop.Order", models.CASCADE, null=True)),
    ],
)


@pytest.mark.parametrize(
    "op",
    [
        migrations.AddField(
            "order", "acct", models.ForeignKey("shop.Account", models.CASCADE, null=True)
        ),
        migrations.AddField(
            "order",
            "by_email",
            models.ForeignKey("shop.Account", models.CASCADE, to_field="email", null=True),
        ),
        migrations.AddField("order", "accounts", models.ManyToManyField("shop.Account")),
        migrations.CreateModel(
            "Note",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("acct", models.ForeignKey("shop.Account", models.CASCADE)),
            ],
        ),
    ],
    ids=lambda op: op.describe(),
)
def test_targets_rendered_as_stand_ins_give_djangos_own_sql(op: Any) -> None:
    """A relation's target is rendered with only its key (and to_field): the SQL is the
    SQL Django generates on the whole project's models."""
    setup = [order_model(), FAT_TARGET]
    result = _run([op], setup)
    assert result.steps[0].operations[0].sql == _django_sql(op, setup)


def test_operations_with_a_model_name_but_no_model_name_lower_get_their_sql():
    """contrib.postgres' ValidateConstraint names its model by ``model_name`` only: its
    model is rendered and its statement read (it was 'SQL unavailable': LookupError)."""
    from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint

    check = models.CheckConstraint(condition=models.Q(amount__gte=0), name="amount_pos")
    # alone in its migration: no rendering of an earlier operation to borrow
    result = _run(
        [ValidateConstraint("order", "amount_pos")],
        [order_model(), AddConstraintNotValid("order", check)],
    )
    (step,) = result.steps
    assert step.operations[0].sql_error is None
    assert step.operations[0].sql == ['ALTER TABLE "shop_order" VALIDATE CONSTRAINT "amount_pos";']
