from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import migrations, models
from lintkit import codes, lint
from models import order_model

EXCLUDE = ExclusionConstraint(name="one_code", expressions=[("code", RangeOperators.EQUAL)])


def so212(findings):
    return [f for f in findings if f.code == "SO212"]


def test_exclusion_constraint_on_existing_table_fires():
    findings = so212(lint([migrations.AddConstraint("order", EXCLUDE)], setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert "one_code" in f.message and "shop_order" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert "SET LOCAL lock_timeout" in f.recipe
    assert "from django.contrib.postgres.constraints import ExclusionConstraint" in f.recipe
    compile(f.recipe, "recipe", "exec")


def test_check_constraint_and_new_table_are_not_this_rule():
    check = models.CheckConstraint(condition=models.Q(amount__gte=0), name="c")
    assert "SO212" not in codes(lint([migrations.AddConstraint("order", check)], [order_model()]))
    assert "SO212" not in codes(lint([order_model(), migrations.AddConstraint("order", EXCLUDE)]))


def test_runsql_exclude_fires():
    sql = "ALTER TABLE shop_order ADD CONSTRAINT x EXCLUDE USING gist (code WITH =)"
    assert len(so212(lint([migrations.RunSQL(sql)], setup=[order_model()]))) == 1
