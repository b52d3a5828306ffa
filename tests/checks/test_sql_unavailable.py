from django.db import migrations, models
from django.db.migrations.operations.base import Operation
from lintkit import codes, lint
from models import order_model


class AskTheDatabase(Operation):
    """A project's own operation that needs a live connection to decide what to run."""

    reduces_to_sql = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM shop_order")

    def describe(self):
        return "asks the database"


class PlainSQL(Operation):
    """A project's own operation that only emits SQL: schemaops can read it."""

    reduces_to_sql = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute("ANALYZE shop_order")

    def describe(self):
        return "analyzes"


def test_custom_operation_needing_a_connection_fires():
    findings = [f for f in lint([AskTheDatabase()], setup=[order_model()]) if f.code == "SO903"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "info"
    assert "AskTheDatabase in shop.0002_change" in f.message
    assert "offline" in f.message
    assert "schemaops trace shop 0002_change" in f.recipe


def test_custom_operation_with_readable_sql_is_safe():
    assert "SO903" not in codes(lint([PlainSQL()], setup=[order_model()]))


class Opaque:
    """A value no database driver knows how to quote."""


class OpaqueDefaultField(models.IntegerField):
    def get_db_prep_save(self, value, connection):
        return Opaque()


def test_django_operation_whose_sql_cannot_be_generated_says_so():
    op = migrations.AddField("order", "weight", OpaqueDefaultField(default=1))
    findings = [f for f in lint([op], setup=[order_model()], want_sql=True) if f.code == "SO903"]
    assert len(findings) == 1
    assert "AddField in shop.0002_change" in findings[0].message
    assert "gap in schemaops" in findings[0].message


def test_django_operation_with_sql_is_silent():
    op = migrations.AddField("order", "weight", models.IntegerField(default=1))
    assert "SO903" not in codes(lint([op], setup=[order_model()], want_sql=True))


class PythonOnly(Operation):
    """A third-party operation that says it runs Python (``reduces_to_sql = False``), as
    RunPython does, but is no RunPython: its code may run any SQL."""

    reduces_to_sql = False

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute("ALTER TABLE shop_order ADD COLUMN note text NOT NULL")


class QuietRunPython(migrations.RunPython):
    """A project's RunPython subclass: the RunPython rules read it, not this one."""


def test_an_operation_that_runs_python_is_reported_as_not_analysed():
    (f,) = [f for f in lint([PythonOnly()], setup=[order_model()]) if f.code == "SO903"]
    assert "PythonOnly in shop.0002_change" in f.message and "runs Python code" in f.message
    quiet = QuietRunPython(QuietRunPython.noop, QuietRunPython.noop)
    assert "SO903" not in codes(lint([quiet], setup=[order_model()]))
