import uuid

from django.db import migrations, models
from lintkit import codes, lint
from models import order_model


def test_uuid4_default_fires_with_per_row_backfill():
    op = migrations.AddField("order", "token", models.UUIDField(default=uuid.uuid4, null=True))
    findings = lint([op], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO108"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "warning"
    assert "uuid.uuid4() once" in f.message and "shop_order gets the same token" in f.message
    assert '--set "token = gen_random_uuid()" --where "token IS NULL"' in f.recipe


def test_unique_callable_default_says_the_migration_fails():
    op = migrations.AddField("order", "token", models.UUIDField(default=uuid.uuid4, unique=True))
    f = next(f for f in lint([op], setup=[order_model()]) if f.code == "SO108")
    assert "fails on the second row" in f.message
    assert "unique=True" not in f.recipe.split("# 2.")[0]  # the expand step has no unique index


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
