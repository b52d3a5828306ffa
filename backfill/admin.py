"""The Django admin of backfill runs: watch, pause, resume, cancel, retry, start.

Registered when ``schemaops.backfill`` is installed next to ``django.contrib.admin``.
Permissions: ``view_run`` sees the list and the detail pages; ``change_run`` may
pause, resume, cancel and retry failed batches; ``start_backfill`` may start a Backfill.
Runs are never deleted here (a run is the history of a table's change). Every
action goes through the same engine functions as ``schemaops backfill`` and is
written to the admin log with the user.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.timezone import localtime

from schemaops.backfill import admin_cells, admin_ops, admin_views, control
from schemaops.backfill.models import Run
from schemaops.errors import SchemaopsError


class RunChangeList(ChangeList):
    """The list of runs, with the status of the page's runs read in one query."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        runs = list(self.result_list)
        for run, status in zip(runs, control.statuses(runs, self.result_list.db), strict=True):
            run.admin_status = status
            run.admin_cells = admin_cells.cells(status)


def _cell(run: Run, field: str) -> str:
    text = run.admin_cells[field]  # type: ignore[attr-defined]
    return format_html('<span data-run="{}" data-field="{}">{}</span>', run.pk, field, text)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "target",
        "what",
        "state_text",
        "progress",
        "rows_done",
        "rows_left",
        "rate",
        "eta",
        "throttle",
        "started",
        "started_by",
    )
    list_display_links = ("target",)
    list_filter = ("state", "target")
    search_fields = ("target", "where", "last_error")
    ordering = ("-id",)
    change_list_template = "schemaops_backfill/admin/run_list.html"
    actions = ["pause_runs", "resume_runs", "cancel_runs", "retry_runs"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RunChangeList

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Adding a run is starting a backfill: it takes the start_backfill permission."""
        user: Any = request.user  # the admin's users have permissions (PermissionsMixin)
        return bool(user.has_perm(f"{self.opts.app_label}.start_backfill"))

    def get_urls(self) -> list[URLPattern]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        own = [
            path(
                "progress.json",
                self.admin_site.admin_view(self.progress_view),
                name=f"{prefix}_progress",
            ),
            path(
                "<path:object_id>/act/<str:action>/",
                self.admin_site.admin_view(self.act_view),
                name=f"{prefix}_act",
            ),
        ]
        return own + super().get_urls()

    # -- columns ---------------------------------------------------------------------
    @admin.display(description="writes")
    def what(self, run: Run) -> str:
        return admin_cells.writes(run)

    @admin.display(description="state", ordering="state")
    def state_text(self, run: Run) -> str:
        return format_html(
            '<span class="backfill-state backfill-{}" data-run="{}" data-field="state" '
            'data-state="{}">{}</span>',
            run.state,
            run.pk,
            run.state,
            run.admin_cells["state"],  # type: ignore[attr-defined]
        )

    @admin.display(description="progress")
    def progress(self, run: Run) -> str:
        status = run.admin_status  # type: ignore[attr-defined]
        return format_html(
            '<progress max="100" value="{}" data-run="{}" data-field="progress" '
            'aria-label="progress of run {}"></progress> {}',
            admin_cells.percent(status),
            run.pk,
            run.pk,
            _cell(run, "percent"),
        )

    @admin.display(description="rows done")
    def rows_done(self, run: Run) -> str:
        return _cell(run, "rows_updated")

    @admin.display(description="rows left")
    def rows_left(self, run: Run) -> str:
        return _cell(run, "rows_left")

    @admin.display(description="rate")
    def rate(self, run: Run) -> str:
        return _cell(run, "rate")

    @admin.display(description="ETA")
    def eta(self, run: Run) -> str:
        return _cell(run, "eta")

    @admin.display(description="throttle")
    def throttle(self, run: Run) -> str:
        return _cell(run, "throttle")

    @admin.display(description="started at", ordering="started_at")
    def started(self, run: Run) -> str:
        if run.started_at is None:
            return "—"
        return format_html(
            '<time datetime="{}">{}</time>',
            run.started_at.isoformat(),
            localtime(run.started_at).strftime("%Y-%m-%d %H:%M"),
        )

    @admin.display(description="started by")
    def started_by(self, run: Run) -> str:
        return admin_cells.started_by(run)

    # -- pages ---------------------------------------------------------------------
    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {"title": "Backfill runs", **(extra_context or {})})

    # -- pages -----------------------------------------------------------------------
    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return admin_views.detail(self, request, object_id)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return admin_views.start(self, request)

    def progress_view(self, request: HttpRequest) -> HttpResponse:
        return admin_views.progress(self, request)

    def act_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        return admin_views.act(self, request, object_id, action)

    # -- bulk actions of the list (the same function as the detail page's buttons) -----
    def _bulk(self, request: HttpRequest, queryset: QuerySet[Run], action: str) -> None:
        done = 0
        for run in queryset.order_by("pk"):
            try:
                admin_ops.perform(action, run.pk, queryset.db)
            except SchemaopsError as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            self.log_change(request, run, admin_views.log_message(action))
            done += 1
        self.message_user(request, f"{admin_ops.ACTION_LABELS[action]}: {done} run(s).")

    @admin.action(description="Pause the selected runs", permissions=["change"])
    def pause_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._bulk(request, queryset, "pause")

    @admin.action(description="Resume the selected runs", permissions=["change"])
    def resume_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._bulk(request, queryset, "resume")

    @admin.action(description="Cancel the selected runs", permissions=["change"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._bulk(request, queryset, "cancel")

    @admin.action(
        description="Retry the failed batches of the selected runs", permissions=["change"]
    )
    def retry_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._bulk(request, queryset, "retry")
