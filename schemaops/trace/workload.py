"""One release's code against one table: INSERT, SELECT, UPDATE, DELETE through Django.

The model is a historical model, rendered from a migration state the way
Django's migration registry renders them, so it knows exactly the fields and
defaults that release knows. Every statement is built by Django's own SQL
compilers (``QuerySet._insert`` as ``Model.save()`` does, ``get``, ``update``,
``delete``), so the SQL is what the release would send. A required field
without a default gets a value of its type (first choice, the newest parent
row for a foreign key); a nullable one gets NULL, as an unset attribute does.

:func:`exercise` inserts two rows (one is kept so the other release can read
it), reads the first back, updates every field of it and deletes it, and stops
at the first statement PostgreSQL refuses. :func:`read_back` reads a row the
other release wrote, with every field this release knows; a NULL in a field
it declares NOT NULL counts as a failure too (the old code never expected it).
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError

_counter = itertools.count(1)


@dataclass
class Failure:
    """A statement that did not work: the step, the SQL Django sent, PostgreSQL's answer.
    ``ours`` marks a failure of the replay itself (a value it could not make), not of the
    release's code: reported as a note, never as a break."""

    step: str
    statement: str
    error: str
    ours: bool = False


@dataclass
class Outcome:
    """What one release's model did in one phase."""

    failure: Failure | None = None
    kept: Any = None  # primary key of the row left for the other release
    statements: int = 0
    extra: list[Failure] = field(default_factory=list)


class _Recorder:
    """An execute_wrapper that remembers the last statement (rendered only when reported)."""

    def __init__(self) -> None:
        self._sql = ""
        self._params: Any = None
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        self._sql, self._params = sql, params
        return execute(sql, params, many, context)

    @property
    def last(self) -> str:
        from schemaops.plan import interpolate

        if not self._params:
            return self._sql
        try:
            return interpolate(self._sql, self._params)
        except Exception:
            return self._sql


@contextmanager
def recording(connection: Any) -> Iterator[_Recorder]:
    recorder = _Recorder()
    with connection.execute_wrapper(recorder):
        yield recorder


# table -> the rows exercise() kept for the other release to read: never taken as the
# parent of a one-to-one or multi-table child row, whose DELETE would take them along.
# One replay's (forget_kept() starts afresh): the keys of another database mean nothing.
_kept: dict[str, set[Any]] = {}


def forget_kept() -> None:
    """Start a replay: no row is kept yet."""
    _kept.clear()


def exercise(model: Any, alias: str) -> Outcome:
    """INSERT two rows, SELECT, UPDATE and DELETE the first; keep the second."""
    from django.db import connections

    outcome = Outcome()
    with recording(connections[alias]) as rec:
        step = "insert"
        try:
            first, kept = insert_rows(model, alias, 2)
            outcome.kept = kept
            _kept.setdefault(model._meta.db_table, set()).add(kept)
            step = "select"
            row = model._base_manager.using(alias).get(pk=first)
            step = "update"
            values = {f.attname: getattr(row, f.attname) for f in updatable_fields(model)}
            if values:
                model._base_manager.using(alias).filter(pk=first).update(**values)
            step = "delete"
            model._base_manager.using(alias).filter(pk=first).delete()
        except (DatabaseError, ObjectDoesNotExist) as exc:
            outcome.failure = Failure(step, rec.last, error_text(exc))
        except Exception as exc:
            outcome.failure = Failure(step, rec.last, error_text(exc), ours=True)
        outcome.statements = rec.count
    return outcome


def read_back(model: Any, alias: str, pk: Any) -> Failure | None:
    """Read a row the other release wrote; a failure when it cannot (or finds a NULL it forbids)."""
    from django.db import connections

    with recording(connections[alias]) as rec:
        try:
            row = model._base_manager.using(alias).get(pk=pk)
        except (DatabaseError, ObjectDoesNotExist) as exc:
            return Failure("read", rec.last, error_text(exc))
        except Exception as exc:
            return Failure("read", rec.last, error_text(exc), ours=True)
    nulls = [
        f.name
        for f in model._meta.concrete_fields
        if not f.null and getattr(row, f.attname) is None
    ]
    if nulls:
        return Failure("read", rec.last, f"NULL in {', '.join(nulls)}, declared NOT NULL")
    return None


def error_text(exc: BaseException) -> str:
    """PostgreSQL's message (first line), with the SQLSTATE when the driver has one."""
    cause = exc.__cause__ or exc
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"{text} (SQLSTATE {code})" if code else text


def insert_rows(model: Any, alias: str, count: int) -> list[Any]:
    """Insert ``count`` rows as ``Model.save()`` would; return their primary keys."""
    meta = model._meta
    parents: dict[str, Any] = {}  # one parent row serves every row of this INSERT
    objs = [new_instance(model, alias, parents) for _ in range(count)]
    fields = [f for f in meta.local_concrete_fields if not f.generated]
    pk_set = all(getattr(obj, meta.pk.attname) is not None for obj in objs)
    if not pk_set:
        fields = [f for f in fields if f is not meta.auto_field]
    returning = meta.db_returning_fields
    rows = model._base_manager.using(alias)._insert(
        objs, fields=fields, returning_fields=returning, using=alias
    )
    if pk_set:
        return [getattr(obj, meta.pk.attname) for obj in objs]
    index = returning.index(meta.pk) if meta.pk in returning else 0
    return [row[index] for row in rows]


def updatable_fields(model: Any) -> list[Any]:
    return [f for f in model._meta.local_concrete_fields if not f.primary_key and not f.generated]


def new_instance(model: Any, alias: str, parents: dict[str, Any] | None = None) -> Any:
    """An unsaved instance: the defaults the release sends, a value for each required field
    (and a fresh one for a field without a default in a unique set, as real code sets it)."""
    obj = model()
    unique = unique_field_names(model)
    keyed = _keying_relations(model)
    for f in model._meta.local_concrete_fields:
        if f.generated or f is model._meta.auto_field or not _without_default(f):
            continue
        value = getattr(obj, f.attname)
        invalid = bool(f.choices) and value not in _choice_values(f)
        if not ((not f.null and (value is None or invalid)) or f.name in unique):
            continue
        chosen = _value_for(f, alias, {} if parents is None else parents, f.name in keyed)
        setattr(obj, f.attname, chosen)
    return obj


def _keying_relations(model: Any) -> set[str]:
    """The first foreign key of each unique set made of foreign keys only (a join table's
    ``unique_together``): a parent of its own per row keeps the rows' sets distinct."""
    meta = model._meta
    sets = [tuple(t) for t in meta.unique_together]
    sets += [tuple(c.fields) for c in meta.total_unique_constraints]
    keyed = set()
    for names in sets:
        fields = [meta.get_field(name) for name in names]
        if len(fields) > 1 and all(f.is_relation for f in fields):
            keyed.add(fields[0].name)
    return keyed


def _value_for(f: Any, alias: str, parents: dict[str, Any], keyed: bool = False) -> Any:
    """A sample value; one parent row serves all rows of an INSERT, except for a unique
    relation (one-to-one) or a ``keyed`` one (see :func:`_keying_relations`), where each
    row gets a parent of its own."""
    if not f.is_relation:
        return sample_value(f, alias)
    if f.unique or keyed:
        taken = parents.setdefault(f"{f.name} taken", set())
        key = _parent_key(f, alias, taken, own=True)
        taken.add(key)
        return key
    if f.name not in parents:
        parents[f.name] = _parent_key(f, alias)
    return parents[f.name]


def _choice_values(f: Any) -> set[Any]:
    return {value for value, _label in f.flatchoices}


def _without_default(f: Any) -> bool:
    from django.db.models import NOT_PROVIDED

    return not f.has_default() and getattr(f, "db_default", NOT_PROVIDED) is NOT_PROVIDED


def unique_field_names(model: Any) -> set[str]:
    """Fields that are unique alone or in a unique set (unique_together, UniqueConstraint)."""
    meta = model._meta
    names = {f.name for f in meta.local_concrete_fields if f.unique and f is not meta.auto_field}
    for together in meta.unique_together:
        names.update(together)
    for constraint in meta.total_unique_constraints:
        names.update(constraint.fields)
    return names


def sample_value(f: Any, alias: str) -> Any:
    """A value of ``f``'s type, unique per call where the type allows."""
    n = next(_counter)
    if f.is_relation:
        return _parent_key(f, alias, own=f.unique)
    if f.choices:
        return next(iter(f.flatchoices))[0]
    kind = f.get_internal_type()
    if kind in _INTEGER_TOP:
        return _INTEGER_TOP[kind] - n
    maker = _BY_KIND.get(kind)
    if maker is not None:
        return maker(f, n)
    base = getattr(f, "base_field", None)
    if base is not None:  # ArrayField
        return []
    return _text(f, n)


def _parent_key(f: Any, alias: str, taken: set[Any] | None = None, *, own: bool = False) -> Any:
    """The key of the newest parent row (with ``own``: one not used yet, nor ``taken``);
    a parent row is seeded when there is none."""
    target = f.target_field
    parents = f.related_model._base_manager.using(alias)
    if own:
        used = f.model._base_manager.using(alias).values(f.attname)
        parents = parents.exclude(**{f"{target.attname}__in": used})
        parents = parents.exclude(**{f"{target.attname}__in": list(taken or ())})
        kept = _kept.get(f.related_model._meta.db_table)
        if kept:  # a row the other release reads later (deleting this child deletes it)
            parents = parents.exclude(pk__in=list(kept))
    key = parents.order_by(f"-{target.attname}").values_list(target.attname, flat=True).first()
    if key is None:
        _seed_parent(f.related_model._meta.db_table, alias)
        key = parents.order_by(f"-{target.attname}").values_list(target.attname, flat=True)
        key = key.first()
    return key


def _seed_parent(table: str, alias: str) -> None:
    """A fresh parent row (numbered far above the seeded ones, so its unique values are new)."""
    from schemaops.db import connected, django_params
    from schemaops.trace.seed import seed

    # the alias points at the scratch database while the replay runs (trace.runner.pointed_at)
    with connected(django_params(alias)) as conn:
        seed(conn, {table}, 1, first=1_000_000 + next(_counter))


def _now() -> datetime.datetime:
    from django.utils import timezone

    return timezone.now()  # aware only when USE_TZ is on, as the backend insists


def _text(f: Any, n: int) -> str:
    text = f"c{n}"  # seeded strings start with a digit: never equal to these
    limit = getattr(f, "max_length", None)
    return text[:limit] if limit else text


def _decimal(f: Any, n: int) -> decimal.Decimal:
    digits, places = f.max_digits or 10, f.decimal_places or 0
    top = 10 ** (digits - places) - 1
    return decimal.Decimal(max(top - n, 0))


_INTEGER_TOP = {
    "SmallIntegerField": 32_767,
    "PositiveSmallIntegerField": 32_767,
    "IntegerField": 2_147_483_647,
    "PositiveIntegerField": 2_147_483_647,
    "BigIntegerField": 9_223_372_036_854_775_807,
    "PositiveBigIntegerField": 9_223_372_036_854_775_807,
}

_BY_KIND: dict[str, Any] = {
    "BooleanField": lambda f, n: True,
    "DecimalField": _decimal,
    "FloatField": lambda f, n: n + 0.5,
    "DateField": lambda f, n: datetime.date.today(),
    "DateTimeField": lambda f, n: _now(),
    "TimeField": lambda f, n: datetime.time(12, 0),
    "DurationField": lambda f, n: datetime.timedelta(seconds=n),
    "UUIDField": lambda f, n: uuid.uuid4(),
    "JSONField": lambda f, n: {},
    "BinaryField": lambda f, n: b"c",
    "GenericIPAddressField": lambda f, n: "127.0.0.1",
}
