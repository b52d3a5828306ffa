"""Defaults that both a Click option and the code behind it need, written once.

Plain values only (no Django, no Click), so ``schemaops COMMAND --help`` shows
them without importing the command's body, and the body's options dataclass and
:class:`~schemaops.config.Config` read the very same value.
"""

from __future__ import annotations

# schemaops migrate (and [tool.schemaops]: lock-timeout, statement-timeout, retries)
LOCK_TIMEOUT = "5s"  # lock_timeout of every migration statement
STATEMENT_TIMEOUT = "0"  # statement_timeout of every migration statement: none
RETRIES = 5  # retries after a lock timeout
RETRY_DELAY = "1s"  # the first backoff delay; doubles each retry

# schemaops audit
AUDIT_TIMEOUT = "30s"  # statement_timeout and lock_timeout of each catalog query

# check --stats, migrate, trace ([tool.schemaops] lock-budget)
LOCK_BUDGET = "250ms"
