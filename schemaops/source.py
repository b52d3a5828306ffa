"""Reading migration files: operation line numbers and suppression comments.

Only files that have findings are read. Suppressions are comments with a
reason, so a reviewer sees why a rule was silenced::

    migrations.RemoveField("order", "legacy"),  # schemaops: ignore[SO101] column unused since v41

    # schemaops: ignore[add-index-non-concurrently] table has 200 rows
    migrations.AddIndex(...),

    # schemaops: ignore-file[SO301] data migration is one-way by design

A suppression on the line above an operation, or on any of its lines, covers
that operation; ``ignore-file`` covers the whole migration. Codes or rule
names are accepted. A suppression without a reason does not count.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from functools import lru_cache

# Not SQL: this reads Python comments written for schemaops itself.
_DIRECTIVE = re.compile(
    r"#\s*schemaops:\s*(?P<kind>ignore-file|ignore)\s*\[(?P<codes>[^\]]*)\]\s*(?P<reason>.*)$"
)


@dataclass
class Suppression:
    line: int
    codes: frozenset[str]
    reason: str
    whole_file: bool
    used: bool = False


@dataclass
class MigrationSource:
    path: str
    spans: list[tuple[int, int]] = field(default_factory=list)  # operation i -> (first, last)
    suppressions: list[Suppression] = field(default_factory=list)

    def line_of(self, operation: int | None) -> int | None:
        if operation is None or operation >= len(self.spans):
            return self.spans[0][0] - 1 if self.spans else None
        return self.spans[operation][0]

    def suppression_for(self, operation: int | None, code: str, name: str) -> Suppression | None:
        for sup in self.suppressions:
            if not ({code, name} & sup.codes) or not sup.reason:
                continue
            if sup.whole_file:
                return sup
            if operation is not None and operation < len(self.spans):
                first, last = self.spans[operation]
                if first - 1 <= sup.line <= last:
                    return sup
        return None


@lru_cache(maxsize=4096)
def read(path: str) -> MigrationSource:
    source = MigrationSource(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError):
        return source
    source.spans = _operation_spans(tree)
    # Tokenizing is the slow part; most files have no directive at all.
    if "schemaops:" in text:
        source.suppressions = _suppressions(text)
    return source


def _operation_spans(tree: ast.Module) -> list[tuple[int, int]]:
    for node in tree.body:  # Migration classes live at the top of their module
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            targets = (
                stmt.targets
                if isinstance(stmt, ast.Assign)
                else ([stmt.target] if isinstance(stmt, ast.AnnAssign) else [])
            )
            value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
            if any(
                isinstance(t, ast.Name) and t.id == "operations" for t in targets
            ) and isinstance(value, ast.List | ast.Tuple):
                return [(e.lineno, e.end_lineno or e.lineno) for e in value.elts]
    return []


def _suppressions(text: str) -> list[Suppression]:
    found: list[Suppression] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return found
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        match = _DIRECTIVE.search(tok.string)
        if match:
            codes = frozenset(c.strip() for c in match["codes"].split(",") if c.strip())
            reason = match["reason"].strip(" -:")
            found.append(Suppression(tok.start[0], codes, reason, match["kind"] == "ignore-file"))
    return found
