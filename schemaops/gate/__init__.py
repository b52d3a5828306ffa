"""The pre-deploy gate: ``schemaops check``, the migration linter run in CI.

:mod:`schemaops.gate.command` takes a :class:`~schemaops.gate.command.CheckOptions`,
selects the migrations, runs the linter (and, with ``--trace``, a scratch-database
trace) and hands the findings to :mod:`schemaops.reporting`.
"""
