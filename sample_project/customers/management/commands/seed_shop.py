"""Fill the demo shop fast with generate_series: customers, products, orders.

    python manage.py seed_shop --orders 1000000

Orders get a ``total`` and a NULL ``total_cents``: the column that
``schemaops backfill`` fills in the README walkthrough.
"""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

CUSTOMERS = """
INSERT INTO customers_customer (email, name, created_at)
SELECT 'customer' || g || '-' || %(tag)s || '@example.com', 'Customer ' || g, now()
FROM generate_series(1, %(n)s) g
"""
PRODUCTS = """
INSERT INTO products_product (sku, name, category, price, stock)
SELECT 'SKU-' || %(tag)s || '-' || g, 'Product ' || g, 'cat' || (g %% 20), (g %% 500) + 0.99, 100
FROM generate_series(1, %(n)s) g
"""
ORDERS = """
INSERT INTO orders_order (customer_id, created_at, status, total, total_cents, note)
SELECT c.lo + (g %% c.n), now() - (g || ' seconds')::interval, 'new',
       ((g * 7919) %% 100000) / 100.0, NULL, ''
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
        import uuid

        tag = uuid.uuid4().hex[:6]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(CUSTOMERS, {"n": customers, "tag": tag})
            cursor.execute(PRODUCTS, {"n": products, "tag": tag})
            cursor.execute(ORDERS, {"n": orders})
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer, products_product, orders_order")
        self.stdout.write(f"seeded {customers} customers, {products} products, {orders} orders")
