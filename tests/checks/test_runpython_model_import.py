from django.db import migrations, models
from lintkit import codes, lint
from orders import models as order_models
from orders.models import Order


def fill_with_imported_model(apps, schema_editor):
    Order.objects.update(note="")


def fill_with_module_attribute(apps, schema_editor):
    for order in order_models.OrderLine.objects.all():
        order.save()


def fill_with_historical_model(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.update(note="")


def test_imported_model_fires_with_get_model_recipe():
    op = migrations.RunPython(fill_with_imported_model, migrations.RunPython.noop)
    findings = [f for f in lint([op]) if f.code == "SO304"]
    assert len(findings) == 1
    f = findings[0]
    assert "fill_with_imported_model" in f.message and "Order" in f.message
    assert 'Order = apps.get_model("orders", "Order")' in f.recipe


def test_model_reached_through_a_module_fires():
    op = migrations.RunPython(fill_with_module_attribute, migrations.RunPython.noop)
    f = next(f for f in lint([op]) if f.code == "SO304")
    assert "order_models.OrderLine" in f.message
    assert 'OrderLine = apps.get_model("orders", "OrderLine")' in f.recipe


def test_reverse_code_is_checked_too():
    op = migrations.RunPython(fill_with_historical_model, fill_with_imported_model)
    assert "SO304" in codes(lint([op]))


def test_historical_model_is_safe():
    op = migrations.RunPython(fill_with_historical_model, migrations.RunPython.noop)
    assert "SO304" not in codes(lint([op]))


def uses_query_expressions(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.update(total=models.F("total") * 100)


def test_query_expressions_from_django_models_are_not_model_imports():
    """``models`` here is django.db.models, as in every migration file; models.Model is no model."""
    op = migrations.RunPython(uses_query_expressions, migrations.RunPython.noop)
    assert "SO304" not in codes(lint([op]))
