import os

SECRET_KEY = "wheel-smoke"
INSTALLED_APPS = ["django.contrib.contenttypes", "schemaops", "library"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("WHEEL_DB_NAME", "bookshop"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
