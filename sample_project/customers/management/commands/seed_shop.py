"""Fill the demo shop fast with generate_series: customers, products, orders.

    python manage.py seed_shop --orders 1000000

Works at any migration state of the shop: it writes only the columns every
version has (plus ``status`` once ``orders.0002`` added it), so you can seed,
then add ``orders.total_cents`` (``migrate orders 0003``) and backfill it.
"""

import uuid

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from psycopg2 import sql

CUSTOMERS = """
INSERT INTO customers_customer (email, name, created_at)
SELECT 'customer' || g || '-' || %(tag)s || '@example.com', 'Customer ' || g, now()
FROM generate_series(1, %(n)s) g
"""
PRODUCTS = """
INSERT INTO products_product (sku, name, price, stock)
SELECT 'SKU-' || %(tag)s || '-' || g, 'Product ' || g, (g %% 500) + 0.99, 100
FROM generate_series(1, %(n)s) g
"""
ORDERS = """
INSERT INTO orders_order (customer_id, created_at, total, note{status})
SELECT c.lo + (g %% c.n), now() - (g || ' seconds')::interval,
       ((g::bigint * 7919) %% 100000) / 100.0, ''{new}
FROM generate_series(1, %(n)s) g,
     (SELECT min(id) AS lo, count(*) AS n FROM customers_customer) c
"""


class Command(BaseCommand):
    help = "Seed the demo shop with N orders (and customers/products) using generate_series."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=100_000)
        parser.add_argument("--customers", type=int, default=1_000)
        parser.add_argument("--products", type=int, default=100)

    def handle(self, *args, orders, customers, products, **options):
        tag = uuid.uuid4().hex[:6]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(CUSTOMERS, {"n": customers, "tag": tag})
            cursor.execute(PRODUCTS, {"n": products, "tag": tag})
            cursor.execute(self._orders_sql(cursor), {"n": orders})
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer, products_product, orders_order")
        self.stdout.write(f"seeded {customers} customers, {products} products, {orders} orders")

    def _orders_sql(self, cursor):
        columns = {
            c.name for c in connection.introspection.get_table_description(cursor, "orders_order")
        }
        has_status = "status" in columns
        return (
            sql.SQL(ORDERS)
            .format(
                status=sql.SQL(", {}").format(sql.Identifier("status"))
                if has_status
                else sql.SQL(""),
                new=sql.SQL(", 'new'") if has_status else sql.SQL(""),
            )
            .as_string(cursor.connection)
        )
