"""The admin's form for starting a Python Backfill: which one, and the run's settings.

The fields are the ``schemaops backfill start`` options a person tunes most, with
the same defaults; a Backfill's own class attributes (``batch_size``,
``target_seconds``, ``lock_timeout``, ``statement_timeout``) win over the form's
defaults as they win over the command's.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core import signing

from schemaops.backfill import control
from schemaops.errors import ConfigError

_DEFAULTS = control.RunSettings()
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
    target_seconds = forms.FloatField(
        label="Target batch duration (seconds)",
        min_value=0.001,
        initial=_DEFAULTS.target_seconds,
    )
    max_rows_per_second = forms.FloatField(
        label="Rate limit (rows per second, 0: none)", min_value=0, initial=0
    )
    workers = forms.IntegerField(
        label="Workers", min_value=1, max_value=64, initial=1, help_text="Parallel Celery tasks."
    )
    lock_timeout = forms.CharField(label="Lock timeout", initial=_DEFAULTS.lock_timeout)
    statement_timeout = forms.CharField(
        label="Statement timeout", initial=_DEFAULTS.statement_timeout
    )
    verify = forms.BooleanField(
        label="Verify when done (sweep for rows still not matching)",
        required=False,
        initial=True,
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
                self.settings()
            except ConfigError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data

    def settings(self) -> control.RunSettings:
        """The run's settings (raises ConfigError for a bad timeout or size)."""
        data = self.cleaned_data
        own = self.backfills[data["backfill"]]
        size = data.get("batch_size") or getattr(own, "batch_size", None) or 1_000
        settings = control.RunSettings(
            batch_size=size,
            min_batch_size=min(_DEFAULTS.min_batch_size, size),
            max_batch_size=max(_DEFAULTS.max_batch_size, size),
            target_seconds=getattr(own, "target_seconds", None) or data["target_seconds"],
            lock_timeout=getattr(own, "lock_timeout", None) or data["lock_timeout"],
            statement_timeout=getattr(own, "statement_timeout", None) or data["statement_timeout"],
            max_rows_per_second=data["max_rows_per_second"],
            concurrency=data["workers"],
            options={"verify": bool(data.get("verify"))},
        )
        settings.columns()  # validates durations and sizes
        return settings

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
