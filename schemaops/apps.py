from django.apps import AppConfig


class SchemaopsConfig(AppConfig):
    """Adds ``manage.py schemaops`` and, with ``SCHEMAOPS_SYSTEM_CHECKS = True``, system checks.

    The checks (:mod:`schemaops.system_checks`) are opt-in because they lint
    every migration of the project each time Django runs its checks.
    """

    name = "schemaops"
    label = "schemaops"
    verbose_name = "schemaops"

    def ready(self) -> None:
        from schemaops import system_checks

        if system_checks.enabled():
            system_checks.register()
