"""Configuration: ``[tool.schemaops]`` in pyproject.toml, then CLI overrides.

One source of truth: commands read a :class:`Config`, never the file. The
file is found by walking up from the working directory, like ruff and
pytest do. Unknown keys are a configuration error (exit 2), so a typo never
silently disables a rule.

Example::

    [tool.schemaops]
    settings = "shop.settings"
    apps = ["orders", "customers"]      # default: the project's own apps
    exclude-apps = ["legacy"]
    pg-version = 15
    ignore = ["SO302"]                  # rule codes or names, everywhere
    severity = { SO201 = "error" }      # per-rule severity overrides
    baseline = ".schemaops-baseline.json"
    assume-timeouts = false             # true: migrations run via `schemaops migrate`,
                                        # which sets the timeouts (silences SO401/SO402)
    lock-timeout = "5s"                 # schemaops migrate
    statement-timeout = "0"
    stats = "prod-stats.json"           # check --stats: estimate lock durations on these sizes
    lock-budget = "250ms"               # a step estimated within it is a warning, not an error
    stats-cost = { index-build = { ms-per-million-rows = 900 } }   # cost model overrides
    post-deploy-apps = ["vendored_billing"]   # apps whose migrations run after the deploy
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from schemaops import defaults, phases
from schemaops.durations import pg_setting
from schemaops.errors import ConfigError


@dataclass(frozen=True)
class Config:
    settings: str | None = None
    pythonpath: str | None = None
    database: str = "default"
    apps: tuple[str, ...] = ()
    exclude_apps: tuple[str, ...] = ()
    pg_version: int | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    baseline: str | None = None
    lock_timeout: str = defaults.LOCK_TIMEOUT
    statement_timeout: str = defaults.STATEMENT_TIMEOUT
    retries: int = defaults.RETRIES
    post_deploy_apps: tuple[str, ...] = ()
    assume_timeouts: bool = False
    stats: str | None = None
    lock_budget: str = defaults.LOCK_BUDGET
    stats_cost: dict[str, Any] = field(default_factory=dict)
    root: Path | None = None  # the folder holding the pyproject.toml that was read

    def __post_init__(self) -> None:
        for key in _TIMEOUT_KEYS:
            try:
                pg_setting(getattr(self, key))
            except ValueError as exc:
                raise ConfigError(f"{key.replace('_', '-')}: {exc}") from None

    def override(self, **values: Any) -> Config:
        """Return a copy with the options the user gave on the command line."""
        given = {k: v for k, v in values.items() if v not in (None, ())}
        return replace(self, **given)


@dataclass(frozen=True)
class ProjectOptions:
    """Where the Django project is: ``--settings``, ``--pythonpath``, ``--database``, ``--config``.

    Every command that loads a project takes these; None means "not given on the
    command line", so the file and the environment decide.
    """

    settings: str | None = None
    pythonpath: str | None = None
    database: str | None = None
    config_path: str | None = None


def project_config(project: ProjectOptions, **overrides: Any) -> Config:
    """[tool.schemaops] first, then the environment, then the command line.

    As with django-admin, ``--settings`` beats ``DJANGO_SETTINGS_MODULE``, which
    beats ``settings`` in the file. ``overrides`` are a command's own options, each
    named like the :class:`Config` field it overrides (an unknown name is a
    TypeError); None and () mean "not given".
    """
    cfg = load(Path(project.config_path) if project.config_path else None)
    return cfg.override(
        settings=project.settings or os.environ.get("DJANGO_SETTINGS_MODULE"),
        pythonpath=project.pythonpath,
        database=project.database,
        **overrides,
    )


# What each key of [tool.schemaops] holds, for one clear line when it holds something else.
_KINDS: dict[str, str] = {
    "settings": "text",
    "pythonpath": "text",
    "database": "text",
    "apps": "list",
    "exclude_apps": "list",
    "pg_version": "number",
    "select": "list",
    "ignore": "list",
    "severity": "table",
    "baseline": "text",
    "lock_timeout": "duration",
    "statement_timeout": "duration",
    "retries": "number",
    "post_deploy_apps": "list",
    "assume_timeouts": "bool",
    "stats": "text",
    "lock_budget": "duration",
    "stats_cost": "costs",
}
_EXPECTED = {
    "text": "a string",
    "list": "a list of strings",
    "number": "a whole number",
    "table": "a table of code = level",
    "duration": 'a duration such as "5s" or "500ms"',
    "bool": "true or false",
    "costs": "a table of step = {constant = value}",
}
_TIMEOUT_KEYS = ("lock_timeout", "statement_timeout")
_PATH_KEYS = ("pythonpath", "baseline", "stats")  # relative to the folder of pyproject.toml


def find_pyproject(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load(path: Path | None = None) -> Config:
    """Read ``[tool.schemaops]`` from ``path`` or the nearest pyproject.toml.

    Also hands ``post-deploy-apps`` to :mod:`schemaops.phases`, so every reader of a
    migration's phase (check, migrate, trace --compat, fix, the system checks) sees it.
    """
    cfg = _load(path)
    phases.configure(cfg.post_deploy_apps)
    return cfg


def _load(path: Path | None) -> Config:
    path = path or find_pyproject()
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    section = data.get("tool", {}).get("schemaops", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.schemaops] must be a table")
    return _from_section(section, path)


def _from_section(section: dict[str, Any], path: Path) -> Config:
    values: dict[str, Any] = {}
    for raw_key, value in section.items():
        key = raw_key.replace("-", "_")
        if key not in _KINDS:
            raise ConfigError(f"{path}: unknown key {raw_key!r} in [tool.schemaops]")
        values[key] = _checked(key, raw_key, value, path)
    for key in _PATH_KEYS:
        if values.get(key):
            values[key] = str(path.parent / values[key])
    return Config(**values, root=path.parent)


def _checked(key: str, raw_key: str, value: Any, path: Path) -> Any:
    """``value`` if it has the kind the key holds (lists as tuples), else a ConfigError."""
    kind = _KINDS[key]
    if kind == "list" and isinstance(value, str):
        value = [value]
    ok = {
        "text": isinstance(value, str),
        "list": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "number": isinstance(value, int) and not isinstance(value, bool),
        "table": isinstance(value, dict) and all(isinstance(v, str) for v in value.values()),
        "duration": isinstance(value, str | int) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "costs": isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()),
    }[kind]
    if not ok:
        shown = f"the string {value!r}" if isinstance(value, str) else repr(value)
        hint = ""
        if kind == "number" and isinstance(value, str) and value.isdigit():
            hint = f" (write {raw_key} = {value}, without quotes)"
        raise ConfigError(f"{path}: {raw_key} must be {_EXPECTED[kind]}, not {shown}{hint}")
    return tuple(value) if kind == "list" else value
