from django.db import migrations
from lintkit import lint
from models import order_model
from remedykit import lint_remedy


def so115(findings):
    return [f for f in findings if f.code == "SO115"]


def test_drop_schema_cascade_fires_with_post_deploy_restrict_recipe():
    op = migrations.RunSQL("DROP SCHEMA IF EXISTS reporting, archive CASCADE")
    (f,) = so115(lint_remedy([op], setup=[order_model()]))
    assert f.severity.label == "error"
    assert "DROP SCHEMA reporting, archive CASCADE" in f.message
    assert f.lock.startswith("ACCESS EXCLUSIVE on every table in reporting, archive")
    assert "drop its tables one by one in a post-deploy migration" in f.recipe
    assert "DROP SCHEMA ... RESTRICT" in f.recipe and "class Migration" not in f.recipe


def test_restrict_new_schema_other_drops_and_post_deploy_are_not_flagged():
    restrict = migrations.RunSQL("DROP SCHEMA reporting")
    assert not so115(lint([restrict], setup=[order_model()]))
    fresh = migrations.RunSQL("CREATE SCHEMA tmp; DROP SCHEMA tmp CASCADE")
    assert not so115(lint([fresh]))
    table = migrations.RunSQL("DROP TABLE shop_order CASCADE")
    assert not so115(lint([table], setup=[order_model()]))
    cascade = migrations.RunSQL("DROP SCHEMA reporting CASCADE")
    assert not so115(lint([cascade], setup=[order_model()], deploy_phase="post"))
