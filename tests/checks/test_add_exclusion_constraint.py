from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import migrations, models
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy

EXCLUDE = ExclusionConstraint(name="one_code", expressions=[("code", RangeOperators.EQUAL)])


def so212(findings):
    return [f for f in findings if f.code == "SO212"]


def test_exclusion_constraint_on_existing_table_fires():
    add = migrations.AddConstraint("order", EXCLUDE)
    findings = so212(lint_remedy([add], setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert "one_code" in f.message and "shop_order" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    # no lock-free form exists: the planner's remedy says what to do instead
    assert "no NOT VALID or CONCURRENTLY form" in f.recipe
    assert "SET LOCAL lock_timeout" in f.recipe and "copy the rows over in batches" in f.recipe


def test_check_constraint_and_new_table_are_not_this_rule():
    check = models.CheckConstraint(condition=models.Q(amount__gte=0), name="c")
    assert "SO212" not in codes(lint([migrations.AddConstraint("order", check)], [order_model()]))
    assert "SO212" not in codes(lint([order_model(), migrations.AddConstraint("order", EXCLUDE)]))


def test_runsql_exclude_fires():
    sql = "ALTER TABLE shop_order ADD CONSTRAINT x EXCLUDE USING gist (code WITH =)"
    assert len(so212(lint([migrations.RunSQL(sql)], setup=[order_model()]))) == 1
