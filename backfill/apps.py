from django.apps import AppConfig


class BackfillConfig(AppConfig):
    name = "schemaops.backfill"
    label = "schemaops_backfill"
    verbose_name = "schemaops backfill"
    default_auto_field = "django.db.models.BigAutoField"
