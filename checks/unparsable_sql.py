"""SO901 unparsable-sql: RunSQL that PostgreSQL's parser rejects.

## What it does
Flags SQL in ``RunSQL`` that pglast (PostgreSQL's own parser) cannot parse.

## Why is this bad?
PostgreSQL will reject it too when the migration runs, and schemaops cannot
check statements it cannot read, so none of the lock rules looked at it.

## Example
```python
migrations.RunSQL("ALTER TABLE orders ADD COLUMN")
```

## Use instead
Fix the statement; run ``schemaops trace`` to see what it really locks.

## References
- https://github.com/lelit/pglast
"""

from __future__ import annotations

from schemaops.findings import Severity
from schemaops.rules import Rule


class UnparsableSQL(Rule):
    code = "SO901"
    name = "unparsable-sql"
    summary = "RunSQL contains SQL that PostgreSQL cannot parse"
    severity = Severity.ERROR
    category = "meta"
