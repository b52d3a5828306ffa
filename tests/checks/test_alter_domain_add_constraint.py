from django.db import migrations, models
from lintkit import lint
from models import order_model, recipe_sql
from remedykit import lint_remedy, lint_remedy_chain, remedy_migrations


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
    (f,) = so220(lint_remedy([migrations.RunSQL(ADD)], setup=setup))
    assert f.severity.label == "error"
    assert "SHARE locks on shop_customer" in f.message
    assert f.lock.startswith('SHARE on "shop_customer"') and "shop_order" not in f.lock
    (_, add), (_, validate) = remedy_migrations(f.recipe)
    assert recipe_sql(add) == [
        "ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (value ~ '@') NOT VALID",
        "ALTER TABLE shop_customer ADD CONSTRAINT shop_customer_email_email_at "
        "CHECK (email ~ '@') NOT VALID",
    ]
    assert recipe_sql(validate) == [
        "ALTER TABLE shop_customer VALIDATE CONSTRAINT shop_customer_email_email_at",
        "ALTER TABLE shop_customer DROP CONSTRAINT shop_customer_email_email_at",
    ]
    chain = {x.code for x in lint_remedy_chain(f.recipe, setup)}
    assert not chain & {"SO205", "SO213", "SO220"}


def test_set_not_null_and_validate_fire_too():
    for sql in ("ALTER DOMAIN email SET NOT NULL", "ALTER DOMAIN email VALIDATE CONSTRAINT x"):
        (f,) = so220(lint_remedy([migrations.RunSQL(sql)], setup=[customer_with_email()]))
        assert f.lock.startswith('SHARE on "shop_customer"')
        assert "a table CHECK (NOT VALID, then VALIDATE) on each column" in f.recipe
    (f,) = so220(lint([migrations.RunSQL("ALTER DOMAIN email SET NOT NULL")], setup=[]))
    assert f.lock.startswith("SHARE on every table using email")


def test_from_postgresql_19_validate_is_online_and_is_the_remedy():
    validate = migrations.RunSQL("ALTER DOMAIN email VALIDATE CONSTRAINT email_at")
    assert not so220(lint([validate], setup=[customer_with_email()], pg_version=19))
    assert so220(lint([validate], setup=[customer_with_email()], pg_version=18))
    (f,) = so220(lint_remedy([migrations.RunSQL(ADD)], [customer_with_email()], pg_version=19))
    (_, add), (_, check) = remedy_migrations(f.recipe)
    assert recipe_sql(add) == [f"{ADD} NOT VALID".replace("VALUE", "value")]
    assert recipe_sql(check) == ["ALTER DOMAIN email VALIDATE CONSTRAINT email_at"]


def test_not_valid_drop_and_new_domain_are_not_flagged():
    setup = [customer_with_email()]
    for sql in (
        f"{ADD} NOT VALID",
        "ALTER DOMAIN email DROP CONSTRAINT email_at",
        "ALTER DOMAIN email DROP NOT NULL",
        f"CREATE DOMAIN email AS text; {ADD}",
    ):
        assert not so220(lint([migrations.RunSQL(sql)], setup=setup)), sql
