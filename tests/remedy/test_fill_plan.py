"""The planner's remedies for data changes (schemaops.remedy.fill), without a database:
which RunPython / RunSQL it takes out of the migration, and which it leaves to the rules."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.db import migrations, models
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from schemaops.remedy.planner import PlanContext, plan_operation

SCALE = 2


def order_and_customer() -> ProjectState:
    state = ProjectState()
    for name in ("Order", "Customer"):
        migrations.CreateModel(
            name,
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("code", models.CharField(max_length=20, null=True)),
                ("total", models.IntegerField(null=True)),
            ],
        ).state_forwards("shop", state)
    return state


def fill_totals(apps: Any, schema_editor: Any) -> None:
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(total__isnull=True).update(total=0)


def copy_codes(apps: Any, schema_editor: Any) -> None:
    Customer = apps.get_model("shop", "Customer")
    Order = apps.get_model("shop", "Order")
    for customer in Customer.objects.all():
        Order.objects.filter(code=customer.code).update(total=1)


def make_orders(apps: Any, schema_editor: Any) -> None:
    Order = apps.get_model("shop", "Order")
    Order.objects.bulk_create([Order(code="a")])
    Order.objects.update(total=1)


def scaled(apps: Any, schema_editor: Any) -> None:
    Order = apps.get_model("shop", "Order")
    Order.objects.update(total=SCALE)


def count_only(apps: Any, schema_editor: Any) -> None:
    apps.get_model("shop", "Order").objects.count()


def plan(op: Any) -> Any:
    return plan_operation(op, "shop", order_and_customer())


def test_a_runpython_on_one_model_becomes_a_backfill_class() -> None:
    remedy = plan(migrations.RunPython(fill_totals, migrations.RunPython.noop))
    assert remedy.kind == "data-change-to-backfill" and remedy.steps == []
    name, code = remedy.backfill_class
    assert name == "FillTotalsBackfill"
    assert "def fill_totals(apps: Any, schema_editor: Any) -> None:" in code
    assert "model = 'shop.Order'" in code
    assert "return run_on_batch(fill_totals, self.model_class(), batch)" in code
    assert "from typing import Any" in code  # the migration module's imports come along
    compile("from schemaops.backfill import Backfill\n" + code, "backfills.py", "exec")
    assert "schemaops backfill start shop.FillTotalsBackfill --wait" in remedy.backfill


def test_what_cannot_be_walked_by_one_key_range_gets_no_remedy() -> None:
    """Several models (which table?), new rows, a read, a RunPython already outside
    a transaction."""
    for func in (copy_codes, make_orders, count_only):
        assert plan(migrations.RunPython(func)) is None, func.__name__
    assert plan(migrations.RunPython(fill_totals, atomic=False)) is None


def test_a_module_constant_the_function_reads_is_copied_along() -> None:
    remedy = plan(migrations.RunPython(scaled))
    _name, code = remedy.backfill_class
    assert "SCALE = " in code and "def scaled(" in code
    namespace: dict[str, Any] = {}
    exec(
        compile("from schemaops.backfill import Backfill\n" + code, "backfills.py", "exec"),
        namespace,
    )
    assert namespace["SCALE"] == SCALE


def test_a_plain_update_becomes_a_set_backfill_and_a_keyed_one_stays() -> None:
    update = migrations.RunSQL("UPDATE shop_order SET total = 0 WHERE total IS NULL")
    remedy = plan(update)
    assert remedy.steps == []
    assert (
        'schemaops backfill start shop.Order --set "total = 0" --where "total IS NULL"'
        in remedy.backfill
    )
    keyed = migrations.RunSQL("UPDATE shop_order SET total = 0 WHERE id BETWEEN 1 AND 100")
    assert plan(keyed) is None
    unknown = migrations.RunSQL("UPDATE elsewhere SET total = 0")
    assert plan(unknown) is None


# -- generated: callable defaults over field types (offline; the proof runs hand cases) --


def project_code() -> str:
    return uuid.uuid4().hex[:10]


# field type -> (class, arguments, callables it can take)
CALLABLE_TYPES = {
    "uuid": (models.UUIDField, {}, [uuid.uuid4]),
    "char": (models.CharField, {"max_length": 12}, [project_code]),
    "datetime": (models.DateTimeField, {}, [timezone.now]),
    "date": (models.DateField, {}, [datetime.date.today]),
}


def statements(steps: list[Any]) -> list[str]:
    out = []
    for step in steps:
        for op in step.operations:
            for run in getattr(op, "database_operations", [op]):
                out.extend(getattr(run, "sql", []))
    return out


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(sorted(CALLABLE_TYPES)),
    pick=st.integers(min_value=0, max_value=1),
    null=st.booleans(),
    unique=st.booleans(),
    db_index=st.booleans(),
    pg_version=st.sampled_from([120000, 130000, 160000]),
)
def test_generated_callable_defaults_fill_each_row(
    kind: str, pick: int, null: bool, unique: bool, db_index: bool, pg_version: int
) -> None:
    cls, kwargs, callables = CALLABLE_TYPES[kind]
    default = callables[pick % len(callables)]
    field = cls(default=default, null=null, unique=unique, db_index=db_index, **kwargs)
    state = order_and_customer()
    remedy = plan_operation(
        migrations.AddField("order", "f", field), "shop", state, PlanContext(pg_version=pg_version)
    )
    assert remedy is not None and remedy.kind == "fill-then-tighten"
    pre, post = statements(remedy.pre), statements(remedy.post)
    # before the deploy: only a nullable column, no index, no constraint, no one-value DEFAULT
    assert [s for s in pre if "ADD COLUMN" in s] and all("NULL" in s for s in pre if "ADD" in s)
    assert not [s for s in pre if "INDEX" in s or "CONSTRAINT" in s or "NOT NULL" in s]
    per_row = ("gen_random_uuid()", "now()", "current_date")
    assert all(any(x in s for x in per_row) for s in pre if "SET DEFAULT" in s)
    # after it: NOT NULL through a validated CHECK, unique by an index built concurrently
    assert any("SET NOT NULL" in s for s in post) is (not null)
    assert any("UNIQUE USING INDEX" in s for s in post) is unique
    assert not [s for s in post if "INDEX" in s and "CREATE" in s and "CONCURRENTLY" not in s]
    assert all(
        not s.atomic for s in remedy.post if any("CONCURRENTLY" in x for x in statements([s]))
    )
    # every row its own value: a per-row SQL expression or the field's default per row
    if remedy.backfill_class is not None:
        assert "field.get_default()" in remedy.backfill_class[1]
    else:
        assert '--where "f IS NULL"' in remedy.backfill
        assert "'" not in remedy.backfill.split("--set", 1)[1].split("--where")[0]
    code = "\n".join(MigrationWriter.serialize(o)[0] for s in remedy.steps for o in s.operations)
    assert " at 0x" not in code
