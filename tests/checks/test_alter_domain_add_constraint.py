from django.db import migrations, models
from lintkit import lint
from models import lint_recipe_chain, order_model, recipe_migrations, recipe_sql


class EmailField(models.CharField):
    """A custom field whose column is declared with the domain email."""

    def db_type(self, connection):
        return "email"


def customer_with_email():
    return migrations.CreateModel(
        "Customer",
        [("id", models.BigAutoField(primary_key=True)), ("email", EmailField(max_length=100))],
    )


ADD = "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE ~ '@')"


def so220(findings):
    return [f for f in findings if f.code == "SO220"]


def test_add_constraint_fires_with_share_lock_on_tables_using_the_domain():
    setup = [customer_with_email(), order_model()]
    (f,) = so220(lint([migrations.RunSQL(ADD)], setup=setup))
    assert f.severity.label == "error"
    assert "SHARE locks on shop_customer" in f.message
    assert f.lock.startswith('SHARE on "shop_customer"') and "shop_order" not in f.lock
    add, validate = recipe_migrations(f.recipe)
    assert recipe_sql(add) == [
        "ALTER TABLE shop_customer ADD CONSTRAINT shop_customer_email_email_at "
        "CHECK (email ~ '@') NOT VALID"
    ]
    assert recipe_sql(validate) == [
        "ALTER TABLE shop_customer VALIDATE CONSTRAINT shop_customer_email_email_at"
    ]
    chain = {x.code for x in lint_recipe_chain(f.recipe, setup)}
    assert not chain & {"SO205", "SO213", "SO220"}


def test_set_not_null_and_validate_fire_too():
    for sql in ("ALTER DOMAIN email SET NOT NULL", "ALTER DOMAIN email VALIDATE CONSTRAINT x"):
        (f,) = so220(lint([migrations.RunSQL(sql)], setup=[customer_with_email()]))
        assert f.lock.startswith('SHARE on "shop_customer"')
    (f,) = so220(lint([migrations.RunSQL("ALTER DOMAIN email SET NOT NULL")], setup=[]))
    assert f.lock.startswith("SHARE on every table using email")
    assert "ALTER TABLE <table> ADD CONSTRAINT <name>" in f.recipe


def test_not_valid_drop_and_new_domain_are_not_flagged():
    setup = [customer_with_email()]
    for sql in (
        f"{ADD} NOT VALID",
        "ALTER DOMAIN email DROP CONSTRAINT email_at",
        "ALTER DOMAIN email DROP NOT NULL",
        f"CREATE DOMAIN email AS text; {ADD}",
    ):
        assert not so220(lint([migrations.RunSQL(sql)], setup=setup)), sql
