from django.apps import AppConfig


class SchemaopsConfig(AppConfig):
    """Adds ``manage.py schemaops`` and the opt-in system checks."""

    name = "schemaops"
    label = "schemaops"
    verbose_name = "schemaops"
