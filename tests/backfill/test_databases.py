"""A project with several databases: ``--database ALIAS`` runs the whole backfill there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from backfill_support import ShopCopy, admin
from psycopg2 import sql


@pytest.fixture
def other(shop: ShopCopy, shop_db: str) -> Iterator[ShopCopy]:
    """A second copy of the shop, configured as the project's ``other`` database."""
    name = f"{shop.name}_other"
    with admin().cursor() as cur:
        cur.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(shop_db)
            )
        )
    shop.env["SHOP_OTHER_DB_NAME"] = name
    try:
        yield ShopCopy(name, shop.env)
    finally:
        with admin().cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_python_backfill_runs_on_the_chosen_database_not_the_routed_one(
    shop: ShopCopy, other: ShopCopy
) -> None:
    shop.seed(1_000)
    other.seed(2_000)
    result = shop.cli("start", "orders.FillTotalCents", "--database", "other")
    assert result.returncode == 0, result.stderr
    assert other.wrong_rows() == 0 and other.run_state() == "finished"
    assert shop.wrong_rows() == 1_000  # the default database is untouched
    assert shop.query("SELECT count(*) FROM schemaops_backfill_run")[0][0] == 0
    status = shop.cli("status", "--database", "other", "--format", "json")
    assert '"state": "finished"' in status.stdout and '"remaining": 0' in status.stdout
