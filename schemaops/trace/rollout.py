"""The shape of a rollout: which migrations run in which phase, which tables they touch.

:func:`split_plan` cuts Django's migration plan into the migrations applied
before the ones under test, the pre-deploy phase and the post-deploy phase
(:mod:`schemaops.phases`; a migration that depends on a post-deploy one is
post-deploy too, it cannot run earlier). :func:`operation_tables` says which
tables each operation names, for blaming a break on the operations that
caused it; :func:`fingerprints` reads what PostgreSQL has for a set of tables
(columns, types, defaults, constraints, enum labels), so a table that a
``RunSQL`` changed counts as touched although the migration state never saw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemaops.phases import POST, phase_of

Key = tuple[str, str]
OperationRef = tuple[str, str, int]  # app, migration, operation index

FINGERPRINT_SQL = """
SELECT t.name, c.oid IS NOT NULL,
  md5(concat_ws('|',
    (SELECT string_agg(concat_ws(':', a.attname, format_type(a.atttypid, a.atttypmod),
                                 a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
             (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
              FROM pg_enum e WHERE e.enumtypid = a.atttypid)), ';' ORDER BY a.attnum)
     FROM pg_attribute a
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
    (SELECT string_agg(pg_get_constraintdef(k.oid), ';' ORDER BY k.conname)
     FROM pg_constraint k WHERE k.conrelid = c.oid)))
FROM unnest(%s::text[]) AS t(name)
LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)
"""


@dataclass
class Rollout:
    """The migrations of each phase, as (migration, backwards) pairs of Django's plan."""

    before: list[Any] = field(default_factory=list)
    pre: list[Any] = field(default_factory=list)
    post: list[Any] = field(default_factory=list)


def split_plan(plan: list[Any], selected: set[Key], graph: Any) -> Rollout:
    """Before (not under test, needs none of them), pre-deploy, post-deploy; plan order kept."""
    rollout = Rollout()
    tested: set[Key] = set()
    late: set[Key] = set()
    for migration, backwards in plan:
        key = (migration.app_label, migration.name)
        parents = {p.key for p in graph.node_map[key].parents}
        if key not in selected and not parents & tested:
            rollout.before.append((migration, backwards))
            continue
        tested.add(key)
        if phase_of(migration) == POST or parents & late:
            late.add(key)
            rollout.post.append((migration, backwards))
        else:
            rollout.pre.append((migration, backwards))
    return rollout


def model_tables(state: Any) -> dict[Key, str]:
    """db_table of every concrete model of a migration state (proxies share their base's)."""
    from schemaops.plan import db_table_for

    return {
        key: db_table_for(m.app_label, m.name, m.options)
        for key, m in state.models.items()
        if not m.options.get("proxy")
    }


def changed_keys(old: Any, new: Any) -> set[Key]:
    """Models whose state differs between the two releases (added, removed or altered)."""
    changed = set(old.models) ^ set(new.models)
    return changed | {
        k for k in set(old.models) & set(new.models) if old.models[k] != new.models[k]
    }


def operation_tables(
    plan: list[Any], tables: dict[Key, set[str]]
) -> tuple[dict[OperationRef, set[str]], list[OperationRef]]:
    """Tables each operation names (by its model), and the operations that name none (SQL,
    Python, custom): those are blamed for a break no named operation explains."""
    named: dict[OperationRef, set[str]] = {}
    opaque: list[OperationRef] = []
    for migration, _backwards in plan:
        for index, op in enumerate(migration.operations):
            ref = (migration.app_label, migration.name, index)
            found = set().union(*(tables.get(k, set()) for k in _keys(op, migration.app_label)))
            if found:
                named[ref] = found
            else:
                opaque.append(ref)
    return named, opaque


def _keys(op: Any, app_label: str) -> set[Key]:
    from django.db import migrations

    from schemaops.plan import primary_key_after, primary_key_before

    if isinstance(op, migrations.SeparateDatabaseAndState):
        inner = [*op.state_operations, *op.database_operations]
        return set().union(*(_keys(o, app_label) for o in inner))
    keys = {primary_key_before(op, app_label), primary_key_after(op, app_label)}
    return {k for k in keys if k is not None}


def fingerprints(cursor: Any, tables: list[str], quote: Any) -> dict[str, str | None]:
    """What PostgreSQL has for each table (None: no such table), as a comparable digest."""
    quoted = {quote(t): t for t in tables}
    cursor.execute(FINGERPRINT_SQL, (list(quoted),))
    return {quoted[name]: digest if exists else None for name, exists, digest in cursor.fetchall()}
