"""Generate a synthetic Django project with a long migration history.

    python bench/gen_project.py OUTDIR --apps 20 --migrations 50

Each app starts with two models (the second with a foreign key to the
previous app, so the graph crosses apps) and then gets a history that mixes
AddField, AlterField, AddIndex, RenameField, RemoveField, RunPython and
RunSQL, as a real project's would. The result is a self-contained project:
``OUTDIR/benchproj/settings.py`` plus ``OUTDIR/app_NN/migrations/``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

SETTINGS = """\
import os

SECRET_KEY = "bench"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
{apps}
] + (["django_migration_linter"] if os.environ.get("BENCH_LINTER") else [])
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DB", "schemaops_bench"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
    }}
}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
"""

HEADER = "from django.db import migrations, models\nimport django.db.models.deletion\n\n\n"


def _initial(app: int) -> str:
    fk = ""
    deps = "[]"
    if app > 0:
        prev = f"app_{app - 1:02d}"
        deps = f'[("{prev}", "0001_initial")]'
        fk = (
            f'                ("parent", models.ForeignKey(null=True, on_delete=django.db.'
            f'models.deletion.CASCADE, to="{prev}.item")),\n'
        )
    return (
        HEADER
        + f"""class Migration(migrations.Migration):
    initial = True
    dependencies = {deps}
    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("name", models.CharField(max_length=100)),
{fk}            ],
        ),
        migrations.CreateModel(
            name="Tag",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("label", models.CharField(max_length=50)),
                ("item", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           to="app_{app:02d}.item")),
            ],
        ),
    ]
"""
    )


def _operations(app: int, n: int) -> tuple[list[str], str]:
    """Operations of migration number n (n >= 2): a cycle over one field's life."""
    k = (n - 2) // 6
    step = (n - 2) % 6
    field = f"f{k}"
    model = "item" if k % 2 == 0 else "tag"
    code = ""
    if step == 0:
        ops = [
            f'migrations.AddField("{model}", "{field}", models.CharField(max_length=20, null=True))'
        ]
    elif step == 1:
        ops = [
            f'migrations.AlterField("{model}", "{field}", models.CharField(max_length=40, '
            "null=True))"
        ]
    elif step == 2:
        ops = [
            f'migrations.AddIndex("{model}", models.Index(fields=["{field}"], '
            f'name="a{app:02d}_{model}_{field}_idx"))',
            f"migrations.RunSQL(\"UPDATE app_{app:02d}_{model} SET {field} = 'x' "
            f'WHERE {field} IS NULL", reverse_sql=migrations.RunSQL.noop)',
        ]
    elif step == 3:
        ops = [
            f'migrations.RemoveIndex("{model}", "a{app:02d}_{model}_{field}_idx")',
            f'migrations.RenameField("{model}", "{field}", "{field}_renamed")',
        ]
    elif step == 4:
        code = (
            f"\n\ndef forwards_{n}(apps, schema_editor):\n"
            f"    apps.get_model('app_{app:02d}', '{model}').objects.filter(pk=0).update()\n"
        )
        ops = [f"migrations.RunPython(forwards_{n}, migrations.RunPython.noop)"]
    else:
        ops = [f'migrations.RemoveField("{model}", "{field}_renamed")']
    return ops, code


def _migration(app: int, n: int, previous: str) -> str:
    ops, code = _operations(app, n)
    body = "".join(f"        {op},\n" for op in ops)
    return (
        HEADER.rstrip()
        + code
        + f'''


class Migration(migrations.Migration):
    dependencies = [("app_{app:02d}", "{previous}")]
    operations = [
{body}    ]
'''
    )


def generate(out: Path, apps: int, migrations: int) -> int:
    if out.exists():
        shutil.rmtree(out)
    (out / "benchproj").mkdir(parents=True)
    (out / "benchproj" / "__init__.py").write_text("")
    labels = "\n".join(f'    "app_{i:02d}",' for i in range(apps))
    (out / "benchproj" / "settings.py").write_text(SETTINGS.format(apps=labels))
    total = 0
    for app in range(apps):
        folder = out / f"app_{app:02d}" / "migrations"
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("")
        (folder / "__init__.py").write_text("")
        (folder / "0001_initial.py").write_text(_initial(app))
        previous = "0001_initial"
        for n in range(2, migrations + 1):
            name = f"{n:04d}_step"
            (folder / f"{name}.py").write_text(_migration(app, n, previous))
            previous = name
        total += migrations
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--migrations", type=int, default=50)
    args = parser.parse_args()
    total = generate(args.out, args.apps, args.migrations)
    print(f"generated {total} migrations in {args.out}")


if __name__ == "__main__":
    main()
