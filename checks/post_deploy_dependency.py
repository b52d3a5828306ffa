"""SO111 post-deploy-dependency: a pre-deploy migration needs a post-deploy one first.

## What it does
Flags a pre-deploy migration that depends, directly or through others, on a
post-deploy migration that is not applied yet.

## Why is this bad?
Pre-deploy migrations run before the new code goes out, post-deploy ones
after. A pre-deploy migration that depends on a post-deploy one cannot be
applied in its phase: ``schemaops migrate --phase pre`` stops at it, and a
plain ``migrate`` would run the destructive step before the old code is gone.

## Example
```python
class Migration(migrations.Migration):  # pre-deploy
    dependencies = [("orders", "0007_drop_legacy")]  # deploy_phase = "post"
```

## Use instead
Make the pre-deploy migration depend on the last pre-deploy migration, or
mark it post-deploy too.

## References
- django-syzygy's AmbiguousPlan; django-safemigrate's dependency check
"""

from __future__ import annotations

from schemaops.findings import Severity
from schemaops.rules import Rule


class PostDeployDependency(Rule):
    code = "SO111"
    name = "post-deploy-dependency"
    summary = "A pre-deploy migration depends on an unapplied post-deploy migration"
    severity = Severity.ERROR
    category = "meta"

    # Checked on the graph by the linter (it needs every migration, not one).
    def recipe(self, key: tuple[str, str], parent: tuple[str, str]) -> str:
        return (
            f"# {key[0]}/migrations/{key[1]}.py: depend on the last pre-deploy migration\n"
            f"# instead of {parent[0]}.{parent[1]}, or mark this migration post-deploy:\n"
            'deploy_phase = "post"'
        )
