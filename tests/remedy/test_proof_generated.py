"""Property-based proof: generated operations over field types, proven like the hand cases.

Hypothesis draws a handful of (operation, field type) cases per example; each
example is one project with an app per case, run through the whole proof
(:func:`proof_support.prove`): (a) check clean, (b) applies and reverses,
(c) no blocking lock past the budget nor a scan under one, (d) same schema and
state as the original. Two examples by default; the large run (four more) is marked slow.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import proof_project
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proof_support import assert_proven, prove
from support import create_database, drop_database

# Drawn operations proven on PostgreSQL: once per CI (see .ci/test).
pytestmark = pytest.mark.once

# type -> (class, its required arguments, SQL filling f from the row id, a default's code)
TYPES = {
    "char": ("models.CharField", "max_length=30", "'v' || id", '"x"'),
    "text": ("models.TextField", "", "'t' || id", '"x"'),
    "int": ("models.IntegerField", "", "id", "0"),
    "bigint": ("models.BigIntegerField", "", "id * 1000", "0"),
    "decimal": ("models.DecimalField", "max_digits=8, decimal_places=2", "id * 1.5", "0"),
    "bool": ("models.BooleanField", "", "mod(id, 2) = 0", "False"),
    "uuid": ("models.UUIDField", "", "md5(id::text)::uuid", None),
    "date": ("models.DateField", "", "date '2020-01-01' + id::int", None),
}

# operation -> (code template over {field}/{app}, the remedy kind's marker)
OPERATIONS = {
    "add_indexed_field": 'migrations.AddField("item", "g", {field:null=True, db_index=True})',
    "add_unique_field": 'migrations.AddField("item", "g", {field:null=True, unique=True})',
    "add_index": 'migrations.AddIndex("item", models.Index(fields=["f"], name="{app}_f_idx"))',
    "add_unique": (
        'migrations.AddConstraint("item", models.UniqueConstraint(fields=["f"], '
        'name="{app}_f_uniq"))'
    ),
    "add_check": (
        'migrations.AddConstraint("item", models.CheckConstraint('
        'condition=models.Q(f__isnull=False), name="{app}_f_set"))'
    ),
    "set_not_null": 'migrations.AlterField("item", "f", {field:})',
    "add_not_null_default": 'migrations.AddField("item", "h", {field:default=DEFAULT})',
    "remove_field": 'migrations.RemoveField("item", "f")',
    "retype": 'migrations.AlterField("item", "f", {retype})',
}

# type -> a type change from it that rewrites the table, whose cast every seeded value takes
# (the online type change of schemaops/remedy/retype.py)
RETYPE = {
    "int": "models.BigIntegerField(null=True)",
    "bigint": "models.DecimalField(max_digits=30, decimal_places=0, null=True)",
    "decimal": "models.FloatField(null=True)",
    "bool": "models.IntegerField(null=True)",
    "uuid": "models.CharField(max_length=36, null=True)",
    "date": "models.DateTimeField(null=True)",
}


def field_code(kind: str, extra: str) -> str:
    cls, args, _, default = TYPES[kind]
    extra = extra.replace("DEFAULT", default or "None")
    return f"{cls}({', '.join(a for a in (args, extra) if a)})"


def operation_code(operation: str, kind: str, app: str) -> str:
    template = OPERATIONS[operation]
    start = template.find("{field:")
    if start >= 0:
        end = template.index("}", start)
        template = (
            template[:start] + field_code(kind, template[start + 7 : end]) + (template[end + 1 :])
        )
    return template.replace("{app}", app).replace("{retype}", RETYPE.get(kind, ""))


def valid(case: tuple[str, str]) -> bool:
    operation, kind = case
    if operation == "retype":
        return kind in RETYPE
    if kind == "bool" and operation in ("add_unique", "add_unique_field"):
        return False  # two values cannot be unique over many rows
    return not (operation == "add_not_null_default" and TYPES[kind][3] is None)


cases = st.lists(
    st.tuples(st.sampled_from(sorted(OPERATIONS)), st.sampled_from(sorted(TYPES))).filter(valid),
    min_size=3,
    max_size=4,
    unique=True,
)


def check_generated(drawn: list[tuple[str, str]]) -> None:
    named = {f"{op}_{kind}": (op, kind) for op, kind in drawn}
    with tempfile.TemporaryDirectory(prefix="schemaops_proof_gen_") as folder:
        root = Path(folder)
        spec = {
            name: (operation_code(op, kind, f"c_{name}"), "generated")
            for name, (op, kind) in named.items()
        }
        extra = {name: field_code(kind, "null=True") for name, (_, kind) in named.items()}
        apps = proof_project.write(root, spec, extra_fields=extra)
        fill = {f"c_{name}": TYPES[kind][2] for name, (_, kind) in named.items()}
        ref, db = (f"schemaops_gen_{uuid.uuid4().hex[:8]}_{side}" for side in ("ref", "fix"))
        create_database(ref)
        create_database(db)
        try:
            proof = prove(root, apps, ref, db, fill=fill)
        finally:
            drop_database(ref)
            drop_database(db)
        for app in apps:
            assert_proven(proof, app)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_generated_operations_are_proven(drawn: list[tuple[str, str]]) -> None:
    check_generated(drawn)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_generated_operations_are_proven_large(drawn: list[tuple[str, str]]) -> None:
    check_generated(drawn)
