"""The lock map of Django's operations agrees with the statement model run on their SQL.

Rules read a Django operation through the lock map's handlers (fast: no SQL
is generated), and a RunSQL through the statement model. For the operations
below both must say the same: the handler's claims equal those of the SQL
Django generates for the operation, run statement by statement through the
statement model (checked against PostgreSQL's own pg_locks in test_lockmap).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import migrations, models
from django.db.models.functions import Lower
from lintkit import APP, FakeLoader, make_migration
from models import coupon_model, customer_model, order_model

from schemaops.checks._lockmap import _sql_steps, merge, operation_steps
from schemaops.config import Config
from schemaops.linter import Linter
from schemaops.rules import OperationContext

SLUG = ("slug", models.CharField(max_length=20, db_index=True))
CUST = ("cust", models.ForeignKey("shop.Customer", models.CASCADE, null=True))
SETUP = [order_model(SLUG, CUST), customer_model(), coupon_model()]

OPERATIONS = [
    migrations.AddField("order", "n", models.IntegerField(null=True)),
    migrations.AddField("order", "n", models.IntegerField(default=0)),
    migrations.AddField("order", "n", models.IntegerField(null=True, db_index=True)),
    migrations.AddField("order", "n", models.CharField(max_length=5, unique=True, null=True)),
    migrations.AddField(
        "order", "c2", models.ForeignKey("shop.Customer", models.CASCADE, null=True)
    ),
    migrations.AddField(
        "order", "c2", models.ForeignKey("shop.Customer", models.CASCADE, default=1)
    ),
    migrations.AddField("order", "p", models.PositiveIntegerField(default=0)),
    migrations.AlterField("order", "amount", models.BigIntegerField(default=0)),
    migrations.AlterField("order", "amount", models.PositiveIntegerField(default=0)),
    migrations.AlterField("order", "slug", models.CharField(max_length=50, db_index=True)),
    migrations.AlterField("order", "legacy", models.CharField(max_length=20, default="x")),
    migrations.AlterField("order", "code", models.CharField(max_length=20, null=True)),
    migrations.RemoveField("order", "legacy"),
    migrations.RenameField("order", "code", "ref"),
    migrations.AddIndex("order", models.Index(Lower("code"), name="order_code_lower")),
    migrations.AddConstraint("order", models.UniqueConstraint(fields=["code"], name="uc")),
    migrations.AddConstraint(
        "order", models.CheckConstraint(condition=models.Q(amount__gte=0), name="cc")
    ),
    migrations.AlterModelTable("order", "orders"),
    migrations.AlterUniqueTogether("order", {("code", "amount")}),
    migrations.AlterField("coupon", "customers", models.ManyToManyField("shop.Order")),
    # more shapes, now that every operation's SQL is generated and read
    migrations.AddField("order", "flag", models.BooleanField(default=False)),
    migrations.AddField("order", "n", models.IntegerField(db_default=0)),
    migrations.AddField("order", "t", models.TextField(null=True)),
    migrations.AddField(
        "order", "c2", models.ForeignKey("shop.Customer", models.CASCADE, null=True, db_index=False)
    ),
    migrations.AlterField("order", "legacy", models.CharField(max_length=20)),
    migrations.AlterField("order", "code", models.CharField(max_length=20, unique=True)),
    migrations.AlterField("order", "amount", models.IntegerField(default=0, db_index=True)),
    migrations.AddIndex("order", models.Index(fields=["amount"], name="order_amount_idx")),
    migrations.AddConstraint(
        "order",
        models.UniqueConstraint(
            fields=["amount"], name="uc_cond", condition=models.Q(amount__gt=0)
        ),
    ),
]

# Shapes that need a catalog fact the statement model reads from the migration state:
# the table of Django's own db_index index name; the table a dropped foreign key
# constraint references (from the model before the operation: the state after has lost
# the field); a table renamed by an earlier statement of the same operation.
CATALOG_FACTS = [
    migrations.AlterField("order", "slug", models.CharField(max_length=20)),
    migrations.RemoveField("order", "cust"),
    migrations.RenameModel("customer", "client"),
]


def _context(op: Any) -> OperationContext:
    first = make_migration("0001_initial", SETUP)
    second = make_migration("0002_change", [op], dependencies=[(APP, "0001_initial")])
    linter = Linter(FakeLoader([first, second]), Config(assume_timeouts=True), want_sql=True)
    seen: list[OperationContext] = []
    linter.rules = []
    original = linter._lint_operation

    def keep(mctx: Any, step: Any) -> Any:
        seen.append(OperationContext(step, mctx))
        return original(mctx, step)

    linter._lint_operation = keep  # type: ignore[method-assign]
    linter.run({(APP, "0002_change")})
    return seen[0]


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.describe())
def test_operation_claims_equal_the_claims_of_its_sql(op: Any) -> None:
    ctx = _context(op)
    assert ctx.step.sql, ctx.step.sql_error
    handler = sorted(merge(operation_steps(ctx)), key=str)
    statements = sorted(merge(_sql_steps(ctx, ctx.step.sql)), key=str)
    assert handler == statements, "\n".join(ctx.step.sql)


@pytest.mark.parametrize("op", CATALOG_FACTS, ids=lambda op: op.describe())
def test_statement_model_reads_the_catalog_facts_from_the_state(op: Any) -> None:
    test_operation_claims_equal_the_claims_of_its_sql(op)


# -- the facts one by one: each found where Django's names say so, and only there -------


def _statement_claims(
    sql: str, op: Any = None, *, before: bool = False
) -> list[tuple[str, Any, bool]]:
    """The statement model's claims for ``sql`` on the state after ``op`` (a harmless
    AddField by default); ``before``: told the operation's model before it ran."""
    from schemaops.checks._lockmap import StateSchema, statement_steps
    from schemaops.statements import parse

    ctx = _context(op or migrations.AddField("order", "n", models.IntegerField(null=True)))
    schema = StateSchema(ctx.migration.state, 15, ctx.before if before else None)
    steps = [s for stmt in parse(sql) for s in statement_steps(stmt.node, schema, 15)]
    return sorted(merge(steps), key=str)


def test_drop_of_a_django_named_index_locks_its_table() -> None:
    from schemaops.plan import django_index_name

    name = django_index_name("shop_order", ["slug"], "_idx")
    assert [t for t, *_ in _statement_claims(f'DROP INDEX "{name}"')] == ["shop_order"]
    other = "shop_order_slug_deadbeef_idx"  # not a name Django gives: the index itself
    assert [t for t, *_ in _statement_claims(f'DROP INDEX "{other}"')] == [other]


@pytest.mark.parametrize("suffix", ["_fk", "_fk_shop_customer_id"])
def test_drop_of_a_foreign_key_constraint_locks_the_referenced_table(suffix: str) -> None:
    from schemaops.plan import django_index_name

    name = django_index_name("shop_order", ["cust_id"], suffix)
    claims = _statement_claims(f'ALTER TABLE shop_order DROP CONSTRAINT "{name}"')
    assert {t for t, *_ in claims} == {"shop_order", "shop_customer"}


def test_drop_of_another_constraint_locks_its_table_only() -> None:
    claims = _statement_claims("ALTER TABLE shop_order DROP CONSTRAINT shop_order_amount_check")
    assert {t for t, *_ in claims} == {"shop_order"}


def test_the_model_before_the_operation_answers_for_its_table() -> None:
    """After RemoveField the state has no cust field; the model before has."""
    from schemaops.plan import django_index_name

    op = migrations.RemoveField("order", "cust")
    name = django_index_name("shop_order", ["cust_id"], "_fk")
    sql = f'ALTER TABLE shop_order DROP CONSTRAINT "{name}"'
    assert {t for t, *_ in _statement_claims(sql, op, before=True)} == {
        "shop_order",
        "shop_customer",
    }
    assert {t for t, *_ in _statement_claims(sql, op)} == {"shop_order"}, "state after only"


def test_a_renamed_table_keeps_its_name_for_later_statements() -> None:
    sql = "ALTER TABLE shop_coupon RENAME TO shop_voucher; ALTER TABLE shop_voucher ADD x int"
    assert {t for t, *_ in _statement_claims(sql)} == {"shop_coupon"}
    alone = "ALTER TABLE shop_voucher ADD x int"
    assert {t for t, *_ in _statement_claims(alone)} == {"shop_voucher"}
