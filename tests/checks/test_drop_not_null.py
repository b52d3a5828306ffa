from django.db import migrations, models
from lintkit import codes, lint
from models import order_model


def nullable_code():
    return migrations.AlterField("order", "code", models.CharField(max_length=20, null=True))


def test_alter_field_to_nullable_fires_as_warning():
    findings = lint([nullable_code()], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO110"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "warning"
    assert "shop_order.code be NULL" in f.message
    assert 'deploy_phase = "post"' in f.recipe


def test_post_deploy_migration_is_allowed():
    assert "SO110" not in codes(lint([nullable_code()], setup=[order_model()], deploy_phase="post"))


def test_runsql_drop_not_null_fires():
    sql = migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code DROP NOT NULL")
    assert codes(lint([sql], setup=[order_model()])).count("SO110") == 1


def test_drop_not_null_as_first_half_of_a_column_removal_is_exempt():
    """The drop-column recipe: state-only RemoveField plus DROP NOT NULL in the database."""
    op = migrations.SeparateDatabaseAndState(
        state_operations=[migrations.RemoveField("order", "code")],
        database_operations=[
            migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code DROP NOT NULL")
        ],
    )
    assert "SO110" not in codes(lint([op], setup=[order_model()]))


def test_already_nullable_is_safe():
    op = migrations.AlterField("order", "legacy", models.CharField(max_length=30, null=True))
    assert "SO110" not in codes(lint([op], setup=[order_model()]))
