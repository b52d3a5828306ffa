"""Settings of the demo shop. Every value that differs per machine comes from the environment."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "demo-only-not-secret")
DEBUG = True
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "schemaops",
    "schemaops.backfill",
    "customers",
    "products",
    "orders",
    *filter(None, os.environ.get("SHOP_EXTRA_APPS", "").split(",")),  # tests add some
]

# The admin, where backfill runs are started and watched: python manage.py runserver,
# then http://127.0.0.1:8000/admin/schemaops_backfill/run/
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "shop.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "static/"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("SHOP_DB_NAME", "schemaops_shop"),
        "USER": os.environ.get("SHOP_DB_USER", "postgres"),
        "PASSWORD": os.environ.get("SHOP_DB_PASSWORD", ""),
        "HOST": os.environ.get("SHOP_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("SHOP_DB_PORT", "5432"),
    }
}

if os.environ.get("SHOP_OTHER_DB_NAME"):  # a second database, for multi-database tests
    DATABASES["other"] = {**DATABASES["default"], "NAME": os.environ["SHOP_OTHER_DB_NAME"]}

if os.environ.get("SHOP_REPLICA_PORT"):  # a read replica of the same database (tests)
    DATABASES["replica"] = {**DATABASES["default"], "PORT": os.environ["SHOP_REPLICA_PORT"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Celery: with no broker configured, schemaops backfill runs its tasks in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The Celery queue the admin sends a run's tasks to (None: the app's default queue).
SCHEMAOPS_BACKFILL_QUEUE = os.environ.get("SCHEMAOPS_BACKFILL_QUEUE") or None
