from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint
from django.db import migrations, models
from lintkit import codes, lint
from models import customer_model, order_model
from remedykit import lint_remedy, remedy_migrations

CHECK = models.CheckConstraint(condition=models.Q(amount__gte=0), name="amount_gte_0")


def so213(findings):
    return [f for f in findings if f.code == "SO213"]


def test_not_valid_and_validate_in_one_atomic_migration_fires():
    ops = [AddConstraintNotValid("order", CHECK), ValidateConstraint("order", "amount_gte_0")]
    findings = so213(lint_remedy(ops, setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert f.operation == 1 and "amount_gte_0" in f.message and "shop_order" in f.message
    (first, adds), (last, validates) = remedy_migrations(f.recipe)
    assert type(adds.operations[0]).__name__ == "AddConstraintNotValid"
    assert type(validates.operations[0]).__name__ == "ValidateConstraint"
    assert validates.dependencies == [("shop", first)] and last == "0002_change"


def test_separate_transactions_are_safe():
    ops = [AddConstraintNotValid("order", CHECK), ValidateConstraint("order", "amount_gte_0")]
    assert "SO213" not in codes(lint(ops, setup=[order_model()], atomic=False))
    assert "SO213" not in codes(
        lint(
            [ValidateConstraint("order", "amount_gte_0")],
            [order_model(), AddConstraintNotValid("order", CHECK)],
        )
    )


def test_runsql_foreign_key_not_valid_then_validate_fires():
    sql = (
        "ALTER TABLE shop_order ADD CONSTRAINT fk FOREIGN KEY (amount) REFERENCES shop_customer "
        "NOT VALID; ALTER TABLE shop_order VALIDATE CONSTRAINT fk"
    )
    f = so213(lint_remedy([migrations.RunSQL(sql)], setup=[customer_model(), order_model()]))[0]
    assert f.lock.startswith('SHARE ROW EXCLUSIVE on "shop_order"')
    (_, add), (_, validate) = remedy_migrations(f.recipe)
    assert add.operations[0].sql[0].endswith("NOT VALID")
    assert validate.operations[0].sql == ["ALTER TABLE shop_order VALIDATE CONSTRAINT fk"]
