"""Resolving targets and parsing the operator's SQL (pglast), against the demo shop's models."""

from __future__ import annotations

import pytest
from backfill_support import SET_CENTS, ShopCopy, driver_connect
from django.db.backends.postgresql.psycopg_any import sql

from schemaops.backfill import spec as spec_module
from schemaops.backfill.batching import Range
from schemaops.errors import ConfigError, SQLParseError, UnknownAppError


def test_declarative_target_is_parsed_and_normalized() -> None:
    spec = spec_module.resolve(
        "orders.Order", ("total_cents = (total * 100)::bigint",), "status = 'new'"
    )
    assert spec.kind == "sql" and spec.db_table == "orders_order" and spec.pk_column == "id"
    assert spec.assignments == (("total_cents", "CAST(total * 100 AS bigint)"),)
    assert spec.where == "status = 'new'"


def test_field_names_map_to_columns_and_several_assignments() -> None:
    spec = spec_module.resolve("orders.Order", ("customer = 1, note = 'x'",))
    assert spec.assignments == (("customer_id", "1"), ("note", "'x'"))


def test_same_spec_same_key_different_sql_different_key() -> None:
    a = spec_module.resolve("orders.Order", ("total_cents = total * 100",))
    b = spec_module.resolve("orders.Order", ("total_cents   =   total*100",))
    c = spec_module.resolve("orders.Order", ("total_cents = total * 10",))
    assert a.key == b.key != c.key


@pytest.mark.parametrize(
    ("set_value", "where", "error", "fragment"),
    [
        ("totl_cents = 1", None, ConfigError, "did you mean 'total_cents'"),
        ("total_cents = totl * 100", None, ConfigError, "no field 'totl'"),
        ("total_cents = (total * ", None, SQLParseError, "cannot parse"),
        ("total_cents = 1; DROP TABLE orders_order", None, SQLParseError, "2 statements"),
        ("total_cents = 1 WHERE true", None, SQLParseError, "--set must be"),
        ("total_cents = 1", "status = 'new' ORDER BY id", SQLParseError, "one SQL predicate"),
        ("total_cents = 1", "1; DELETE FROM orders_order", SQLParseError, "2 statements"),
    ],
)
def test_bad_input_is_refused(
    set_value: str, where: str | None, error: type, fragment: str
) -> None:
    with pytest.raises(error, match=fragment.replace("(", r"\(")):
        spec_module.resolve("orders.Order", (set_value,), where)


def test_unknown_app_model_and_missing_set() -> None:
    with pytest.raises(UnknownAppError):
        spec_module.resolve("nope.Order", ("a = 1",))
    with pytest.raises(ConfigError, match="no model 'Ordr'"):
        spec_module.resolve("orders.Ordr", ("a = 1",))
    with pytest.raises(ConfigError, match="give --set"):
        spec_module.resolve("orders.Order")


def test_python_backfill_is_found_by_name() -> None:
    spec = spec_module.resolve("orders.FillTotalCents")
    assert spec.kind == "python" and spec.backfill is not None and spec.db_table == "orders_order"
    with pytest.raises(ConfigError, match="--set/--where do not apply"):
        spec_module.resolve("orders.FillTotalCents", ("total_cents = 1",))


def test_batch_statement_quotes_identifiers_and_is_idempotent(shop_db: str) -> None:
    from django.db import connection

    spec = spec_module.resolve("orders.Order", ("total_cents = total % 7",), "status = 'new'")
    connection.ensure_connection()
    text = spec_module.batch_statement(spec, Range(5, 10)).as_string(connection.connection)
    assert text == (
        'UPDATE "orders_order" SET "total_cents" = (total % 7) WHERE "id" >= 5 AND "id" < 10'
        " AND (status = 'new') AND (\"total_cents\" IS DISTINCT FROM (total % 7))"
    )
    assert isinstance(spec_module.pending_predicate(spec), sql.Composed)


def test_a_part_of_a_range_is_its_keys_modulo_the_parts(shop: ShopCopy) -> None:
    from django.db import connection

    spec = spec_module.resolve("orders.Order", (SET_CENTS,), None)
    connection.ensure_connection()
    text = spec_module.batch_statement(spec, Range(5, 10), 1, 2).as_string(connection.connection)
    assert '"id" >= 5 AND "id" < 10 AND "id" % 2 IN (1, -1) AND' in " ".join(text.split())
    # Run on negative and positive keys, the parts update every row exactly once.
    shop.seed(10)
    shop.query("UPDATE orders_order SET id = -id WHERE id %% 3 = 0")
    conn = driver_connect(shop)
    try:
        (lo, hi) = shop.query("SELECT min(id), max(id) + 1 FROM orders_order")[0]
        counts = []
        with conn.cursor() as cur:
            for part in (0, 1, 2):
                statement = spec_module.batch_statement(spec, Range(lo, hi), part, 3)
                cur.execute(statement.as_string(conn))
                counts.append(cur.rowcount)
        assert all(counts) and sum(counts) == 10 and shop.wrong_rows() == 0
    finally:
        conn.close()
