"""The pages of the runs' admin beyond the list: detail, JSON progress, actions, start.

Every view checks the admin's own permissions on the server: a button that is not
shown is also refused when its POST is forged (403). Views only read runs or change
their state; batches run in Celery workers.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from schemaops.backfill import admin_cells, admin_chart, admin_ops, control, dryrun
from schemaops.backfill.admin_forms import StartForm
from schemaops.backfill.models import Batch, Run
from schemaops.backfill.spec import Spec
from schemaops.errors import SchemaopsError

if TYPE_CHECKING:
    from schemaops.backfill.admin import RunAdmin

FAILED_SHOWN = 50
POLL_MS = 1000


def log_message(action: str) -> str:
    return f"{admin_ops.ACTION_LABELS[action]} (schemaops backfill {action})."


def _url(name: str, *args: Any) -> str:
    return reverse(f"admin:schemaops_backfill_run_{name}", args=args)


def _run(model_admin: RunAdmin, request: HttpRequest, object_id: str) -> Run:
    run = model_admin.get_object(request, object_id)
    if run is None:
        raise Http404(f"no backfill run {object_id}")
    return run


def detail(model_admin: RunAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Settings, progress, chart, failed batches and verification of one run."""
    run = _run(model_admin, request, object_id)
    if not model_admin.has_view_or_change_permission(request, run):
        raise PermissionDenied
    alias = run._state.db or "default"
    (status,) = control.statuses([run], alias)
    can_change = model_admin.has_change_permission(request, run)
    failed = Batch.objects.using(alias).filter(run=run, state="failed").order_by("lo", "part")
    actions = admin_ops.available_actions(run, status.batches["failed"]) if can_change else []
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Backfill run {run.pk}: {run.target}",
        "run": run,
        "status": status,
        "cells": admin_cells.cells(status),
        "percent": admin_cells.percent(status),
        "writes": admin_cells.writes(run),
        "started_by": admin_cells.started_by(run),
        "settings_rows": _settings_rows(run),
        "chart": admin_chart.chart(run.pk, alias),
        "failed_batches": list(failed[:FAILED_SHOWN]),
        "failed_count": status.batches["failed"],
        "verification": _verification(run),
        "actions": [(a, admin_ops.ACTION_LABELS[a], _url("act", run.pk, a)) for a in actions],
        "poll_ms": POLL_MS,
        "active": run.state == admin_cells.ACTIVE,
    }
    return TemplateResponse(request, "schemaops_backfill/admin/run_detail.html", context)


def _settings_rows(run: Run) -> list[tuple[str, Any]]:
    options = run.options or {}
    return [
        ("Table", f"{run.db_table} (key {run.pk_column}, {run.lo}..{run.hi})"),
        (
            "Batch size now",
            f"{run.batch_size:,} (from {run.min_batch_size:,} to {run.max_batch_size:,})",
        ),
        ("Target batch duration", f"{run.target_seconds:g} s"),
        ("Parts per range", run.parts),
        ("Workers", run.concurrency),
        (
            "Rate limit",
            f"{run.max_rows_per_second:g} rows/s" if run.max_rows_per_second else "none",
        ),
        ("Pause between batches", f"{run.pause_seconds:g} s"),
        ("Lock timeout", f"{run.lock_timeout_ms} ms"),
        ("Statement timeout", f"{run.statement_timeout_ms} ms"),
        ("Lease", f"{run.lease_seconds:g} s"),
        ("Verify when done", "yes" if options.get("verify", True) else "no"),
        (
            "Health options",
            ", ".join(
                f"{k}={v}" for k, v in sorted(options.items()) if k not in {"verify", "started_by"}
            )
            or "defaults",
        ),
        ("Created", run.created_at),
        ("Finished", run.finished_at or "—"),
    ]


def _verification(run: Run) -> str:
    if run.state != "finished":
        return "Not yet: the sweep runs when the last batch is done."
    if not (run.options or {}).get("verify", True):
        return "Skipped (verification was turned off for this run)."
    if run.remaining is None:
        return "Not possible: the Backfill has no pending() to count rows still to do."
    if run.remaining == 0:
        return "Passed: every row matches."
    return f"Failed: {run.remaining:,} rows still do not match."


def progress(model_admin: RunAdmin, request: HttpRequest) -> JsonResponse:
    """``?id=1&id=2``: the runs' current texts, for the page's polling script."""
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    try:
        ids = [int(i) for i in request.GET.getlist("id")][:500]
    except ValueError:
        return JsonResponse({"error": "id must be integers"}, status=400)
    queryset = model_admin.get_queryset(request).filter(pk__in=ids).order_by("-id")
    statuses = control.statuses(list(queryset), queryset.db)
    return JsonResponse({"runs": [admin_cells.feed(s) for s in statuses]})


def act(model_admin: RunAdmin, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
    """Pause, resume, cancel or retry, for users with ``change_run`` only (POST only)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    run = _run(model_admin, request, object_id)
    if not model_admin.has_change_permission(request, run):
        raise PermissionDenied
    if action not in admin_ops.ACTIONS:
        raise Http404(f"no action {action!r}")
    try:
        run = admin_ops.perform(action, run.pk, run._state.db or "default")
    except SchemaopsError as exc:
        messages.error(request, str(exc))
    else:
        model_admin.log_change(request, run, log_message(action))
        messages.success(request, f"Run {run.pk} is {run.state}.")
    return redirect(_url("change", run.pk))


def start(model_admin: RunAdmin, request: HttpRequest) -> HttpResponse:
    """Start a registered Backfill: the form, then its dry-run preview, then the run."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    backfills = admin_ops.registered_backfills()
    form = StartForm(request.POST or None, backfills=backfills)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Start a backfill",
        "form": form,
        "backfills": backfills,
    }
    if request.method == "POST" and form.is_valid():
        spec = form.spec()
        alias = model_admin.get_queryset(request).db
        if "start" in request.POST and form.matches(request.POST.get("preview_token", "")):
            return _start(model_admin, request, form, spec, alias)
        try:
            context["preview"] = _preview(form, spec, alias)
            context["preview_token"] = form.token()
        except SchemaopsError as exc:
            form.add_error(None, str(exc))
    return TemplateResponse(request, "schemaops_backfill/admin/run_start.html", context)


def _preview(form: StartForm, spec: Spec, alias: str) -> dryrun.DryRun:
    settings = form.settings()
    timeouts = (settings.lock_timeout, settings.statement_timeout)
    return dryrun.dry_run(spec, settings.batch_size, timeouts, alias, settings.interleave)


def _start(
    model_admin: RunAdmin, request: HttpRequest, form: StartForm, spec: Spec, alias: str
) -> HttpResponse:
    settings = form.settings()
    options = {**settings.options, "started_by": request.user.get_username()}
    settings = dataclasses.replace(settings, options=options)
    try:
        run, outcome = admin_ops.start(spec, settings, alias)
    except SchemaopsError as exc:
        messages.error(request, str(exc))
        return redirect(_url("add"))
    if outcome == "created":
        model_admin.log_addition(request, run, f"Started {spec.target} from the admin.")
    elif outcome == "resumed":
        model_admin.log_change(request, run, log_message("resume"))
    messages.success(request, f"Run {run.pk} of {spec.target}: {outcome}.")
    return redirect(_url("change", run.pk))
