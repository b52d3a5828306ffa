from django.db import migrations
from lintkit import codes, lint
from models import order_model


def fill_codes(apps, schema_editor):
    pass


def test_runpython_without_reverse_fires_with_noop_recipe():
    findings = lint([migrations.RunPython(fill_codes)], setup=[order_model()])
    assert codes(findings) == ["SO301"]
    f = findings[0]
    assert f.severity.label == "warning"
    assert "RunPython(fill_codes)" in f.message and "shop.0002_change" in f.message
    assert f.recipe == "migrations.RunPython(fill_codes, reverse_code=migrations.RunPython.noop)"


def test_runpython_with_reverse_is_safe():
    op = migrations.RunPython(fill_codes, reverse_code=migrations.RunPython.noop)
    assert "SO301" not in codes(lint([op], setup=[order_model()]))
