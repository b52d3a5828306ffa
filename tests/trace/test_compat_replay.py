"""The replay itself: safe expand/contract patterns replay clean, real breaks are found."""

from __future__ import annotations

from compat_support import replay
from django.db import migrations, models
from lintkit import order_model

from schemaops.trace.compat import BEFORE, NEW, OLD, POST_DEPLOY, PRE_DEPLOY


def _sql(text: str) -> migrations.RunSQL:
    return migrations.RunSQL(text, migrations.RunSQL.noop)


def _clean(compat) -> None:
    assert compat.error is None and compat.notes == [], (compat.error, compat.notes)
    assert compat.breaks == [], [b.to_dict() for b in compat.breaks]


def test_a_nullable_column_dropped_after_its_state_only_removal_replays_clean():
    compat, _ = replay(
        [order_model()],
        [
            migrations.SeparateDatabaseAndState(
                state_operations=[migrations.RemoveField("order", "legacy")]
            )
        ],
        post=[_sql("ALTER TABLE shop_order DROP COLUMN legacy")],
    )
    _clean(compat)
    assert [(p.name, p.releases) for p in compat.phases] == [
        (BEFORE, [OLD]),
        (PRE_DEPLOY, [OLD, NEW]),
        (POST_DEPLOY, [NEW]),
    ]
    assert [p.models for p in compat.phases] == [1, 2, 1]


def test_a_field_renamed_with_its_db_column_kept_replays_clean():
    keep = models.CharField(max_length=20, null=True, db_column="legacy")
    compat, _ = replay(
        [order_model()],
        [
            migrations.AlterField("order", "legacy", keep),
            migrations.RenameField("order", "legacy", "reference"),
        ],
    )
    _clean(compat)
    assert compat.phases[1].models == 2  # the state changed, so both releases ran


def test_a_new_column_with_a_db_default_replays_clean():
    compat, _ = replay(
        [order_model()],
        [migrations.AddField("order", "status", models.CharField(max_length=9, db_default="new"))],
    )
    _clean(compat)


def test_the_same_drop_in_the_pre_deploy_phase_breaks_the_old_code():
    compat, _ = replay([order_model()], [_sql("ALTER TABLE shop_order DROP COLUMN legacy")])
    # the state still has the field, so the new code breaks as well
    assert [(b.release, b.phase) for b in compat.breaks] == [(OLD, PRE_DEPLOY), (NEW, PRE_DEPLOY)]
    brk = compat.breaks[0]
    assert (brk.release, brk.phase, brk.model, brk.step) == (
        OLD,
        PRE_DEPLOY,
        "shop.Order",
        "insert",
    )
    assert brk.error.startswith('column "legacy" of relation "shop_order" does not exist')
    assert brk.statement.startswith('INSERT INTO "shop_order"')
    assert brk.suspects == [("shop", "0002_change", 0)]  # the SQL names no model: blamed


def test_a_table_created_only_after_the_deploy_breaks_the_new_code():
    invoice = migrations.CreateModel(
        "Invoice",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("order", models.ForeignKey("shop.Order", on_delete=models.CASCADE)),
            ("total", models.DecimalField(max_digits=6, decimal_places=2)),
        ],
    )
    compat, _ = replay([order_model()], [invoice], phase="post")
    (brk,) = compat.breaks
    assert (brk.release, brk.phase, brk.model) == (NEW, PRE_DEPLOY, "shop.Invoice")
    assert 'relation "shop_invoice" does not exist' in brk.error
    assert brk.suspects == [("shop", "0002_change", 0)]  # the post-deploy CreateModel
    assert compat.phases[-1].name == POST_DEPLOY and compat.phases[-1].models == 1
    finding = compat.findings()[0]
    assert (finding.code, finding.name) == ("SO804", "new-code-breaks-during-rollout")
    assert (finding.migration, finding.operation) == ("0002_change", 0)
    assert finding.evidence["phase"] == PRE_DEPLOY


def test_the_new_code_reads_rows_the_old_code_wrote_during_the_rollout():
    """NOT NULL in the new state only (the column still takes NULL): the old code's rows
    carry NULL there, and the new code, which never expects one, reads them."""
    strict = models.CharField(max_length=20, default="x")
    compat, _ = replay(
        [order_model()],
        [
            migrations.SeparateDatabaseAndState(
                state_operations=[migrations.AlterField("order", "legacy", strict)]
            )
        ],
    )
    (brk,) = compat.breaks
    assert (brk.release, brk.phase, brk.step) == (NEW, PRE_DEPLOY, "read a row the old code wrote")
    assert brk.error == "NULL in legacy, declared NOT NULL"
    assert brk.statement.startswith('SELECT "shop_order"."id"')


def test_every_common_field_type_gets_a_value_its_column_takes():
    """A model with a text primary key and fields of many types: the replay needs a value
    for each required one (unique where the field is unique) and must replay clean."""
    import uuid

    rich = migrations.CreateModel(
        "Rich",
        [
            ("code", models.CharField(max_length=12, primary_key=True)),
            ("ref", models.UUIDField(default=uuid.uuid4, unique=True)),
            ("small", models.PositiveSmallIntegerField(unique=True)),
            ("price", models.DecimalField(max_digits=5, decimal_places=2)),
            ("ratio", models.FloatField()),
            ("day", models.DateField()),
            ("at", models.DateTimeField()),
            ("clock", models.TimeField()),
            ("span", models.DurationField()),
            ("doc", models.JSONField()),
            ("blob", models.BinaryField()),
            ("ip", models.GenericIPAddressField()),
            ("flag", models.BooleanField()),
            ("kind", models.CharField(max_length=1, choices=[("a", "A"), ("b", "B")])),
            ("order", models.OneToOneField("shop.Order", on_delete=models.CASCADE)),
        ],
        options={"unique_together": {("price", "ratio")}},
    )
    compat, _ = replay(
        [order_model(), rich],
        [migrations.AddField("rich", "note", models.TextField(null=True))],
        rows=5,
    )
    _clean(compat)
    assert [p.models for p in compat.phases] == [1, 2]
    assert compat.seeded == {"shop_rich": 5, "shop_order": 5}  # the parent first


def test_a_migration_that_fails_on_the_scratch_database_is_reported():
    compat, _ = replay(
        [order_model()], [_sql("ALTER TABLE shop_order ADD CONSTRAINT no CHECK (false)")]
    )
    assert compat.failed and compat.error is not None
    assert compat.error.startswith("a migration failed on the scratch database: ")
    assert "check constraint" in compat.error


class OddField(models.IntegerField):
    """An integer column under a type name the replay does not know: it offers text."""

    def get_internal_type(self) -> str:
        return "OddField"


def test_a_value_the_replay_cannot_make_is_a_note_not_a_break():
    odd = migrations.CreateModel(
        "Odd", [("id", models.BigAutoField(primary_key=True)), ("n", OddField())]
    )
    compat, _ = replay([], [odd])
    assert compat.breaks == []
    (note,) = compat.notes
    assert note.startswith("shop.Odd: the replay could not exercise the new code (insert: ")
    assert "expected a number" in note


def test_a_migration_that_needs_a_post_deploy_one_runs_in_the_post_deploy_phase():
    from compat_support import memory_loader
    from lintkit import make_migration

    from schemaops.trace.rollout import split_plan

    found = [
        make_migration("0001_initial", []),
        make_migration("0002_contract", [], dependencies=[("shop", "0001_initial")]),
        make_migration("0003_more", [], dependencies=[("shop", "0002_contract")]),
        make_migration("0004_other", [], dependencies=[("shop", "0001_initial")]),
    ]
    found[1].deploy_phase = "post"
    graph = memory_loader(found).graph
    plan = [(graph.nodes[k], False) for k in graph.forwards_plan(("shop", "0003_more"))]
    plan.append((graph.nodes[("shop", "0004_other")], False))
    rollout = split_plan(plan, {("shop", n.name) for n in found[1:]}, graph)
    names = [[m.name for m, _ in part] for part in (rollout.before, rollout.pre, rollout.post)]
    assert names == [["0001_initial"], ["0004_other"], ["0002_contract", "0003_more"]]
