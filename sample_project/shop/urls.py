"""The demo shop serves only the Django admin (backfill runs live under /admin/)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
