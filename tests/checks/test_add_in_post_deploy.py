from django.db import migrations, models
from lintkit import codes, lint
from models import customer_model, order_model


def so116(findings):
    return [f for f in findings if f.code == "SO116"]


NOTE = migrations.AddField("order", "note", models.TextField(null=True))


def test_adding_a_column_post_deploy_fires():
    (f,) = so116(lint([NOTE], setup=[order_model()], deploy_phase="post"))
    assert "adds Order.note to shop_order" in f.message and "pre-deploy" in f.recipe


def test_creating_a_table_or_a_raw_column_the_models_have_post_deploy_fires():
    assert so116(lint([customer_model()], deploy_phase="post"))
    raw = migrations.SeparateDatabaseAndState(
        state_operations=[NOTE],
        database_operations=[migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN note text")],
    )
    found = so116(lint([raw], setup=[order_model()], deploy_phase="post"))
    assert any("shop_order.note, which the models have (Order.note)" in f.message for f in found)


def test_adding_pre_deploy_or_a_column_the_models_do_not_have_is_silent():
    assert "SO116" not in codes(lint([NOTE], setup=[order_model()]))
    trigger_column = migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN audit_at timestamptz")
    assert not so116(lint([trigger_column], setup=[order_model()], deploy_phase="post"))
    index = migrations.AddIndex("order", models.Index(fields=["code"], name="order_code_idx"))
    assert not so116(lint([index], setup=[order_model()], deploy_phase="post"))
