"""The demo shop with schemaops' opt-in system checks on (tests/test_django_integration.py)."""

from shop.settings import *  # noqa: F403

SCHEMAOPS_SYSTEM_CHECKS = True
