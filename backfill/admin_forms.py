"""The admin's form for starting a Python Backfill: which one, and the run's settings.

The fields are the ``schemaops backfill start`` options a person tunes most, with the
command's defaults (:class:`~schemaops.backfill.command.StartOptions`); the settings
are made by the command's own :func:`~schemaops.backfill.command.run_settings`, so a
Backfill's class attributes win over the form as they win over the command line.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import signing

from schemaops.backfill import command
from schemaops.backfill import spec as spec_module
from schemaops.backfill.command import StartOptions
from schemaops.backfill.spec import Spec
from schemaops.backfill.tuning import RunSettings
from schemaops.errors import ConfigError

_SALT = "schemaops.backfill.admin.preview"


class StartForm(forms.Form):
    """A registered Backfill and the settings of its run; ``settings()`` builds them."""

    backfill = forms.ChoiceField(label="Backfill", help_text="A Backfill class of your apps.")
    batch_size = forms.IntegerField(
        label="First batch size (rows)",
        min_value=1,
        required=False,
        help_text="Empty: the Backfill's own, or 1000. The size then adapts.",
    )
    target_duration = forms.FloatField(
        label="Target batch duration (seconds)",
        min_value=0.001,
        initial=StartOptions.target_duration,
    )
    max_rows_per_second = forms.FloatField(
        label="Rate limit (rows per second, 0: none)",
        min_value=0,
        initial=StartOptions.max_rows_per_second,
    )
    workers = forms.IntegerField(
        label="Workers",
        min_value=1,
        max_value=64,
        initial=StartOptions.workers,
        help_text="Parallel Celery tasks.",
    )
    lock_timeout = forms.CharField(label="Lock timeout", initial=StartOptions.lock_timeout)
    statement_timeout = forms.CharField(
        label="Statement timeout", initial=StartOptions.statement_timeout
    )
    verify = forms.BooleanField(
        label="Verify when done (sweep for rows still not matching)",
        required=False,
        initial=StartOptions.verify,
    )

    def __init__(self, *args: Any, backfills: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backfills = backfills
        field = self.fields["backfill"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(name, name) for name in backfills]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            try:
                self.settings().columns()  # durations and sizes, checked as the engine will
            except ConfigError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data

    def spec(self) -> Spec:
        name = self.cleaned_data["backfill"]
        return spec_module.python_spec(name, self.backfills[name]())

    def settings(self) -> RunSettings:
        """The run's settings, as ``schemaops backfill start`` would make them."""
        data = self.cleaned_data
        options = StartOptions(
            target=data["backfill"],
            batch_size=data.get("batch_size"),
            target_duration=data["target_duration"],
            max_rows_per_second=data["max_rows_per_second"],
            workers=data["workers"],
            lock_timeout=data["lock_timeout"],
            statement_timeout=data["statement_timeout"],
            verify=bool(data.get("verify")),
        )
        return command.run_settings(self.spec(), options)

    def token(self) -> str:
        """Signs the previewed parameters: ``Start`` is only taken with what was previewed."""
        return signing.dumps(self._parameters(), salt=_SALT)

    def matches(self, token: str) -> bool:
        try:
            return bool(signing.loads(token, salt=_SALT, max_age=3600) == self._parameters())
        except signing.BadSignature:
            return False

    def _parameters(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.fields}
