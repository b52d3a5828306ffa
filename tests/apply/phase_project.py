"""A tiny Django project with pre- and post-deploy migrations, written into a temp folder."""

from __future__ import annotations

from pathlib import Path

SETTINGS = """
import os
SECRET_KEY = "x"
INSTALLED_APPS = ["alpha", "beta"]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": os.environ["SHOP_DB_NAME"], "USER": os.environ["SHOP_DB_USER"],
    "HOST": os.environ["SHOP_DB_HOST"], "PORT": os.environ["SHOP_DB_PORT"],
}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
"""

HEAD = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"

ALPHA = {
    "0001_initial": HEAD
    + """    initial = True
    dependencies = []
    operations = [migrations.CreateModel("Thing", [
        ("id", models.BigAutoField(primary_key=True)),
        ("old", models.TextField(null=True)),
    ])]
""",
    "0002_drop_old": HEAD
    + """    deploy_phase = "post"
    dependencies = [("alpha", "0001_initial")]
    operations = [migrations.RemoveField("thing", "old")]
""",
}

BETA = {
    "0001_initial": HEAD
    + """    initial = True
    dependencies = [("alpha", "0001_initial")]
    operations = [migrations.CreateModel("Other", [("id", models.BigAutoField(primary_key=True))])]
""",
}

BETA_NEEDS_POST = (
    HEAD
    + """    dependencies = [("beta", "0001_initial"), ("alpha", "0002_drop_old")]
    operations = [migrations.AddField("other", "note", models.TextField(null=True))]
"""
)


def write(root: Path, *, beta_needs_post: bool = False) -> Path:
    (root / "phaseproj").mkdir()
    (root / "phaseproj" / "__init__.py").write_text("")
    (root / "phaseproj" / "settings.py").write_text(SETTINGS)
    (root / "pyproject.toml").write_text('[tool.schemaops]\nsettings = "phaseproj.settings"\n')
    beta = dict(BETA)
    if beta_needs_post:
        beta["0002_other_note"] = BETA_NEEDS_POST
    for app, migrations in (("alpha", ALPHA), ("beta", beta)):
        folder = root / app / "migrations"
        folder.mkdir(parents=True)
        (root / app / "__init__.py").write_text("")
        (folder / "__init__.py").write_text("")
        for name, text in migrations.items():
            (folder / f"{name}.py").write_text(text)
    return root
