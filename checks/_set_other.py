"""Rules about timeouts (SO4xx), missing indexes (SO5xx), schema hygiene (SO6xx), meta (SO9xx)."""

from __future__ import annotations

from schemaops.checks.add_enum_value_without_position import AddEnumValueWithoutPosition
from schemaops.checks.char_in_sql import CharInSQL
from schemaops.checks.create_domain_with_constraint import CreateDomainWithConstraint
from schemaops.checks.foreign_key_without_index import ForeignKeyWithoutIndex
from schemaops.checks.identifier_too_long import IdentifierTooLong
from schemaops.checks.integer_primary_key import IntegerPrimaryKey
from schemaops.checks.json_column import JsonColumn
from schemaops.checks.latest_by_without_index import LatestByWithoutIndex
from schemaops.checks.missing_lock_timeout import MissingLockTimeout
from schemaops.checks.missing_statement_timeout import MissingStatementTimeout
from schemaops.checks.observed_blocking_lock import ObservedBlockingLock
from schemaops.checks.observed_rewrite import ObservedRewrite
from schemaops.checks.ordering_without_index import OrderingWithoutIndex
from schemaops.checks.sql_unavailable import SQLUnavailable
from schemaops.checks.timestamp_without_time_zone import TimestampWithoutTimeZone
from schemaops.checks.transaction_control_in_runsql import TransactionControlInRunSQL
from schemaops.checks.unparsable_sql import UnparsableSQL
from schemaops.checks.unused_suppression import UnusedSuppression
from schemaops.checks.varchar_in_sql import VarcharInSQL
from schemaops.rules import Rule

RULES: list[type[Rule]] = [
    MissingLockTimeout,
    MissingStatementTimeout,
    TransactionControlInRunSQL,
    ForeignKeyWithoutIndex,
    OrderingWithoutIndex,
    LatestByWithoutIndex,
    JsonColumn,
    TimestampWithoutTimeZone,
    IntegerPrimaryKey,
    VarcharInSQL,
    CreateDomainWithConstraint,  # SO605
    CharInSQL,  # SO606
    IdentifierTooLong,  # SO607
    AddEnumValueWithoutPosition,  # SO608
    UnparsableSQL,
    UnusedSuppression,
    SQLUnavailable,
    ObservedBlockingLock,
    ObservedRewrite,
]
