"""The error tree of schemaops, mapped to exit codes in one place.

Exit status of every command:
    0  clean
    1  error-severity findings, or a run that failed (a backfill that stopped)
    2  usage or configuration error (bad settings module, unknown app, no server,
       no broker, broken migration graph, unparsable input)

Core code raises these; only ``schemaops.cli`` turns them into an exit status
and a single line on stderr. Messages must never contain credentials: build
them with :func:`schemaops.db.redact` when a DSN is involved.
"""

from __future__ import annotations

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class SchemaopsError(Exception):
    """Base class. ``exit_code`` decides the process exit status."""

    exit_code = EXIT_USAGE


class ConfigError(SchemaopsError):
    """Bad configuration: pyproject section, settings module, options."""


class ProjectError(ConfigError):
    """The Django project cannot be found or loaded."""


class UnknownAppError(ConfigError):
    """An app label or migration name that the project does not have."""


class GraphError(ConfigError):
    """The migration graph is broken (missing dependency, conflicts, bad module)."""


class DatabaseUnavailable(SchemaopsError):
    """The PostgreSQL server cannot be reached or refused the connection."""


class BrokerUnavailable(SchemaopsError):
    """The Celery broker cannot be reached."""


class SQLParseError(SchemaopsError):
    """SQL given on the command line cannot be parsed."""


class RunFailed(SchemaopsError):
    """An operation ran and failed (a migration that gave up, a backfill that stopped)."""

    exit_code = EXIT_FINDINGS


class RuleCrashed(SchemaopsError):
    """A rule raised on a migration: a bug in the rule, named with the way around it."""
