"""A tiny Django project written to a folder: settings, one app ``shop``, given migrations.

Tests that need an odd migration tree (a cycle, a missing dependency, a file
that does not import) write one here and run the real CLI on it.
"""

from __future__ import annotations

from pathlib import Path

SETTINGS = """SECRET_KEY = "tiny"
INSTALLED_APPS = ["django.contrib.contenttypes", "shop"]
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": {dbname!r},
        "USER": "postgres",
        "PASSWORD": {password!r},
        "HOST": "127.0.0.1",
        "PORT": {port!r},
    }}
}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

PYPROJECT = """[tool.schemaops]
settings = "tinyproj_settings"
"""

HEADER = "from django.db import migrations, models\n\n\n"


def migration_source(
    operations: str = "", dependencies: str = "", extra: str = "", head: str = ""
) -> str:
    """The text of a migration file: ``operations`` and ``dependencies`` are list bodies."""
    return (
        HEADER
        + head
        + "class Migration(migrations.Migration):\n"
        + f"    dependencies = [{dependencies}]\n"
        + f"    operations = [{operations}]\n"
        + "".join(f"    {line}\n" for line in extra.splitlines() if line)
    )


def write_project(
    root: Path,
    migrations: dict[str, str],
    *,
    password: str = "tiny-secret",
    port: str = "5432",
    dbname: str = "schemaops_tiny",
    pyproject: str = PYPROJECT,
) -> Path:
    """Write the project to ``root``; ``migrations`` maps a file stem to its source."""
    (root / "shop" / "migrations").mkdir(parents=True, exist_ok=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "migrations" / "__init__.py").write_text("")
    (root / "tinyproj_settings.py").write_text(
        SETTINGS.format(password=password, port=port, dbname=dbname)
    )
    (root / "pyproject.toml").write_text(pyproject)
    for stem, text in migrations.items():
        (root / "shop" / "migrations" / f"{stem}.py").write_text(text)
    return root
