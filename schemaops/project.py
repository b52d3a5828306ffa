"""Find and load the user's Django project the way django-admin does.

``--settings`` wins, then ``DJANGO_SETTINGS_MODULE``, then ``settings`` in
``[tool.schemaops]``. ``--pythonpath`` (or the config's ``pythonpath``) and
the working directory are put on ``sys.path`` first, as ``manage.py`` does.
Every failure becomes a :class:`ProjectError`: one line, exit status 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from schemaops.config import Config
from schemaops.errors import ProjectError

_loaded: str | None = None


def setup_django(config: Config) -> str:
    """Configure Django once per process; return the settings module used.

    When Django is already set up in this process (``manage.py schemaops``, a
    test run, a notebook), that project is used as it is: it is not set up
    again (Django cannot switch settings in a running process; ``manage.py``
    has already applied its own ``--settings``).
    """
    global _loaded
    running = _already_set_up()
    if running is not None:
        _remember_passwords()
        return running
    # the folder of pyproject.toml too: `schemaops check` from a subfolder finds the settings
    for folder in (config.root, config.pythonpath, os.getcwd()):
        if folder:
            path = str(Path(folder).resolve())
            if path not in sys.path:
                sys.path.insert(0, path)
    module = config.settings or os.environ.get("DJANGO_SETTINGS_MODULE")
    if not module:
        raise ProjectError(
            "no Django settings: pass --settings, set DJANGO_SETTINGS_MODULE, "
            "or set settings in [tool.schemaops]"
        )
    if _loaded == module:
        return module
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    import django

    from schemaops import driver  # noqa: F401  (no driver installed: one line saying which)

    try:
        django.setup()
    except ModuleNotFoundError as exc:
        raise ProjectError(f"cannot import settings module {module!r}: {exc}") from None
    except Exception as exc:  # the user's settings or apps can raise anything
        raise ProjectError(
            f"cannot load Django project {module!r}: {type(exc).__name__}: {exc}"
        ) from None
    _loaded = module
    _remember_passwords()
    return module


def _remember_passwords() -> None:
    """Every database password of the project is masked in whatever schemaops prints."""
    from django.conf import settings

    from schemaops.redaction import remember_secret

    for db in getattr(settings, "DATABASES", {}).values():
        remember_secret(db.get("PASSWORD"))


def _already_set_up() -> str | None:
    """The settings module of a Django already set up in this process, else None."""
    if "django.apps" not in sys.modules:
        return None  # nothing imported Django's app registry: cannot be set up yet
    from django.apps import apps
    from django.conf import settings

    if not (apps.ready and settings.configured):
        return None
    return getattr(settings, "SETTINGS_MODULE", None) or "(settings.configure())"
