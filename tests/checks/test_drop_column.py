from django.db import migrations, models
from lintkit import codes, lint
from models import customer_model, order_model


def test_remove_field_on_existing_table_fires():
    findings = lint([migrations.RemoveField("order", "legacy")], setup=[order_model()])
    assert codes(findings) == ["SO101"]
    f = findings[0]
    assert f.severity.label == "error"
    assert "shop_order.legacy" in f.message
    assert "ACCESS EXCLUSIVE" in f.lock
    assert "SeparateDatabaseAndState" in f.recipe and "DROP COLUMN IF EXISTS legacy" in f.recipe


def test_remove_field_in_post_deploy_migration_is_allowed():
    findings = lint(
        [migrations.RemoveField("order", "legacy")], setup=[order_model()], deploy_phase="post"
    )
    assert "SO101" not in codes(findings)


def test_post_deploy_drop_of_a_not_null_column_without_db_default_fires():
    # amount has default=0, a Python default: the database has none, new INSERTs fail
    for name in ("code", "amount"):
        findings = lint(
            [migrations.RemoveField("order", name)], setup=[order_model()], deploy_phase="post"
        )
        (f,) = [f for f in findings if f.code == "SO101"]
        assert f"shop_order.{name}, which is NOT NULL without a database default" in f.message
        assert "DROP NOT NULL" in f.recipe


def test_post_deploy_drop_of_a_column_with_a_db_default_is_allowed():
    kept = ("kept", models.IntegerField(db_default=0))
    findings = lint(
        [migrations.RemoveField("order", "kept")], setup=[order_model(kept)], deploy_phase="post"
    )
    assert "SO101" not in codes(findings)


def _expand_then_contract(expand_db_ops, contract):
    """0002 (pre): the field leaves the state; 0003 (post): ``contract`` drops the column."""
    from lintkit import FakeLoader, make_migration

    from schemaops.config import Config
    from schemaops.linter import Linter

    first = make_migration("0001_initial", [order_model()])
    expand = migrations.SeparateDatabaseAndState(
        state_operations=[migrations.RemoveField("order", "code")],
        database_operations=expand_db_ops,
    )
    second = make_migration("0002_expand", [expand], dependencies=[("shop", "0001_initial")])
    third = make_migration(
        "0003_contract", contract, dependencies=[("shop", "0002_expand")], deploy_phase="post"
    )
    linter = Linter(FakeLoader([first, second, third]), Config(assume_timeouts=True))
    return linter.run({("shop", "0003_contract")}).findings


DROP_CODE = migrations.RunSQL("ALTER TABLE shop_order DROP COLUMN code", migrations.RunSQL.noop)


def test_post_deploy_sql_drop_after_an_expand_that_kept_not_null_fires():
    findings = _expand_then_contract([], [DROP_CODE])
    assert "NOT NULL without a database default" in next(f for f in findings).message


def test_post_deploy_sql_drop_after_an_expand_that_made_it_nullable_is_allowed():
    relax = [migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code DROP NOT NULL")]
    assert "SO101" not in codes(_expand_then_contract(relax, [DROP_CODE]))
    with_default = [
        migrations.AlterField("order", "code", models.CharField(max_length=20, db_default="x"))
    ]
    assert "SO101" not in codes(_expand_then_contract(with_default, [DROP_CODE]))


def test_post_deploy_database_only_drop_of_a_column_the_models_still_have_fires():
    drop = migrations.RunSQL("ALTER TABLE shop_order DROP COLUMN legacy", migrations.RunSQL.noop)
    found = lint([drop], setup=[order_model()], deploy_phase="post")
    (f,) = [f for f in found if f.code == "SO101"]
    assert "while the models still have it (Order.legacy)" in f.message
    db_only = migrations.SeparateDatabaseAndState(
        database_operations=[migrations.RemoveField("order", "legacy")]
    )
    findings = lint([db_only], setup=[order_model()], deploy_phase="post")
    assert "SO101" in codes(findings)


def test_remove_field_of_table_created_in_same_migration_is_exempt():
    findings = lint([order_model(), migrations.RemoveField("order", "legacy")])
    assert "SO101" not in codes(findings)


def test_state_only_removal_is_safe():
    op = migrations.SeparateDatabaseAndState(
        state_operations=[migrations.RemoveField("order", "legacy")]
    )
    assert "SO101" not in codes(lint([op], setup=[order_model()]))


def test_runsql_drop_column_fires():
    findings = lint(
        [migrations.RunSQL("ALTER TABLE shop_order DROP COLUMN legacy")], setup=[order_model()]
    )
    assert codes(findings).count("SO101") == 1


def test_runsql_drop_column_of_new_table_is_exempt():
    findings = lint(
        [migrations.RunSQL("CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN b")]
    )
    assert "SO101" not in codes(findings)


def test_unsetting_order_with_respect_to_drops_the_order_column():
    fk = ("customer", models.ForeignKey("shop.Customer", on_delete=models.CASCADE))
    setup = [customer_model(), order_model(fk, options={"order_with_respect_to": "customer"})]
    op = migrations.AlterOrderWithRespectTo("order", None)
    (f,) = [f for f in lint([op], setup=setup) if f.code == "SO101"]
    assert f.message.startswith("AlterOrderWithRespectTo Order (None) drops shop_order._order")
    assert "ALTER COLUMN _order DROP NOT NULL" in f.recipe
    assert "DROP COLUMN IF EXISTS _order" in f.recipe
    assert 'state_operations=[migrations.AlterOrderWithRespectTo("order", None)]' in f.recipe
    # setting it is not a drop
    setting = migrations.AlterOrderWithRespectTo("order", "customer")
    plain = [customer_model(), order_model(fk)]
    assert "SO101" not in codes(lint([setting], setup=plain))


SWAP = [
    "ALTER TABLE shop_order DROP COLUMN amount",
    "ALTER TABLE shop_order RENAME COLUMN amount_new TO amount",
]


def test_a_column_swap_in_one_transaction_is_not_a_break():
    """The online type change's swap: the models' column is dropped and a column no model
    uses (the shadow) takes its name in the same transaction; no query sees the gap."""
    for ops in ([migrations.RunSQL(SWAP)], [migrations.RunSQL(s) for s in SWAP]):
        found = codes(lint(ops, setup=[order_model()], deploy_phase="post"))
        assert "SO101" not in found and "SO103" not in found


def test_a_swap_that_is_not_one_still_fires():
    # two transactions: between them the models' column is missing
    apart = lint(
        [migrations.RunSQL(SWAP)], setup=[order_model()], atomic=False, deploy_phase="post"
    )
    assert "SO101" in codes(apart)
    # the column renamed in is one the models use (code): that rename breaks them
    legacy = [SWAP[0], "ALTER TABLE shop_order RENAME COLUMN code TO amount"]
    found = codes(lint([migrations.RunSQL(legacy)], setup=[order_model()], deploy_phase="post"))
    assert "SO101" in found and "SO103" in found
    # renamed in first, dropped after: not a swap
    backwards = lint([migrations.RunSQL(SWAP[::-1])], setup=[order_model()], deploy_phase="post")
    assert "SO101" in codes(backwards)
