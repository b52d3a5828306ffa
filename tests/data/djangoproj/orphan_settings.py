"""The demo shop with a Backfill subclass but without schemaops.backfill installed."""

from shop.settings import *  # noqa: F403
from shop.settings import INSTALLED_APPS

INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "schemaops.backfill"] + ["orphan_backfills"]
SCHEMAOPS_SYSTEM_CHECKS = True
