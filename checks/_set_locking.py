"""Rules about locks and rewrites (SO2xx)."""

from __future__ import annotations

from schemaops.checks.add_check_constraint_validated import AddCheckConstraintValidated
from schemaops.checks.add_column_volatile_default import AddColumnVolatileDefault
from schemaops.checks.add_exclusion_constraint import AddExclusionConstraint
from schemaops.checks.add_foreign_key_validated import AddForeignKeyValidated
from schemaops.checks.add_generated_stored_column import AddGeneratedStoredColumn
from schemaops.checks.add_index_non_concurrently import AddIndexNonConcurrently
from schemaops.checks.add_primary_key_without_index import AddPrimaryKeyWithoutIndex
from schemaops.checks.add_serial_column import AddSerialColumn
from schemaops.checks.add_unique_constraint import AddUniqueConstraint
from schemaops.checks.alter_column_type import AlterColumnType
from schemaops.checks.alter_column_type_with_check import AlterColumnTypeWithCheck
from schemaops.checks.alter_domain_add_constraint import AlterDomainAddConstraint
from schemaops.checks.concurrently_in_atomic_migration import ConcurrentlyInAtomicMigration
from schemaops.checks.detach_partition_non_concurrently import DetachPartitionNonConcurrently
from schemaops.checks.lock_table import LockTable
from schemaops.checks.reindex_non_concurrently import ReindexNonConcurrently
from schemaops.checks.remove_index_non_concurrently import RemoveIndexNonConcurrently
from schemaops.checks.slow_step_after_access_exclusive import SlowStepAfterAccessExclusive
from schemaops.checks.table_rewrite_command import TableRewriteCommand
from schemaops.checks.validate_in_same_transaction import ValidateInSameTransaction
from schemaops.rules import Rule

RULES: list[type[Rule]] = [
    AddIndexNonConcurrently,  # SO201
    RemoveIndexNonConcurrently,  # SO202
    AddUniqueConstraint,  # SO203
    AddForeignKeyValidated,  # SO204
    AddCheckConstraintValidated,  # SO205
    AlterColumnType,  # SO206
    AddColumnVolatileDefault,  # SO207
    AddGeneratedStoredColumn,  # SO208
    SlowStepAfterAccessExclusive,  # SO209
    ConcurrentlyInAtomicMigration,  # SO210
    AddSerialColumn,  # SO211
    AddExclusionConstraint,  # SO212
    ValidateInSameTransaction,  # SO213
    ReindexNonConcurrently,  # SO214
    TableRewriteCommand,  # SO215
    DetachPartitionNonConcurrently,  # SO216
    AddPrimaryKeyWithoutIndex,  # SO217
    LockTable,  # SO218
    AlterColumnTypeWithCheck,  # SO219
    AlterDomainAddConstraint,  # SO220
]
