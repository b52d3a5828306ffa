import uuid

from django.db import migrations, models
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter
from lintkit import codes, lint
from models import order_model

from schemaops.remedy.planner import plan_operation


def planned(op, *setup):
    """The planner's remedy for ``op`` on the state ``setup`` makes (app ``shop``)."""
    state = ProjectState()
    for before in setup:
        before.state_forwards("shop", state)
    return plan_operation(op, "shop", state)


def written(remedy, post):
    """The code of the remedy's pre- (``post`` False) or post-deploy operations."""
    steps = remedy.post if post else remedy.pre
    return "\n".join(MigrationWriter.serialize(o)[0] for s in steps for o in s.operations)


def make_code():
    return uuid.uuid4().hex[:8]


def test_uuid4_default_fires_with_per_row_backfill():
    op = migrations.AddField("order", "token", models.UUIDField(default=uuid.uuid4, null=True))
    findings = lint([op], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO108"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "warning"
    assert "uuid.uuid4() once" in f.message and "shop_order gets the same token" in f.message
    assert f.recipe is None  # the remedy is the planner's, one per operation
    remedy = planned(op, order_model())
    assert remedy.kind == "fill-then-tighten"
    assert '--set "token = gen_random_uuid()" --where "token IS NULL"' in remedy.backfill
    assert "SET DEFAULT gen_random_uuid()" in written(remedy, post=False)


def test_unique_callable_default_says_the_migration_fails():
    op = migrations.AddField("order", "token", models.UUIDField(default=uuid.uuid4, unique=True))
    f = next(f for f in lint([op], setup=[order_model()]) if f.code == "SO108")
    assert "fails on the second row" in f.message
    remedy = planned(op, order_model())
    pre, post = written(remedy, post=False), written(remedy, post=True)
    assert "UNIQUE" not in pre and "uuid NULL" in pre  # no unique index before the backfill
    assert "CREATE UNIQUE INDEX CONCURRENTLY" in post and "UNIQUE USING INDEX" in post
    assert "IS NOT NULL) NOT VALID" in post and " at 0x" not in pre + post
    assert all(not s.atomic for s in remedy.post if "CONCURRENTLY" in written_step(s))


def written_step(step):
    return "\n".join(MigrationWriter.serialize(o)[0] for o in step.operations)


def test_project_function_default_fires_and_gets_a_backfill_class():
    field = models.CharField(max_length=8, default=make_code)
    op = migrations.AddField("order", "ref", field)
    assert "SO108" in codes(lint([op], setup=[order_model()]))
    remedy = planned(op, order_model())
    name, code = remedy.backfill_class
    assert name == "FillOrderRef" and "model = 'shop.Order'" in code
    assert "field.get_default()" in code  # the project's function, called once per row
    assert "schemaops backfill start shop.FillOrderRef --wait" in remedy.backfill
    assert "shop/backfills.py" in remedy.backfill
    compile(code, "backfills.py", "exec")


def test_constant_default_gets_no_fill_remedy():
    op = migrations.AddField("order", "kind", models.CharField(max_length=5, default="a"))
    remedy = planned(op, order_model())
    assert remedy is None or remedy.kind != "fill-then-tighten"


def test_constant_factory_default_is_safe():
    op = migrations.AddField("order", "meta", models.JSONField(default=dict, null=True))
    assert "SO108" not in codes(lint([op], setup=[order_model()]))


def test_callable_default_on_new_table_is_exempt():
    op = migrations.AddField("order", "token", models.UUIDField(default=uuid.uuid4, null=True))
    assert "SO108" not in codes(lint([order_model(), op]))


def test_field_without_default_or_with_constant_default_is_not_flagged():
    plain = migrations.AddField("order", "note", models.CharField(max_length=5, null=True))
    const = migrations.AddField("order", "kind", models.CharField(max_length=5, default="a"))
    assert "SO108" not in codes(lint([plain, const], setup=[order_model()]))
