"""Rules of the additive-only policy (SO1xx) and rollback safety (SO3xx)."""

from __future__ import annotations

from schemaops.checks.add_field_not_null_without_db_default import AddFieldNotNullWithoutDbDefault
from schemaops.checks.alter_db_column import AlterDbColumn
from schemaops.checks.callable_default import CallableDefault
from schemaops.checks.data_change_with_schema_change import DataChangeWithSchemaChange
from schemaops.checks.drop_column import DropColumn
from schemaops.checks.drop_database import DropDatabase
from schemaops.checks.drop_db_default import DropDbDefault
from schemaops.checks.drop_not_null import DropNotNull
from schemaops.checks.drop_schema import DropSchema
from schemaops.checks.drop_table import DropTable
from schemaops.checks.post_deploy_dependency import PostDeployDependency
from schemaops.checks.rename_column import RenameColumn
from schemaops.checks.rename_enum_value import RenameEnumValue
from schemaops.checks.rename_schema import RenameSchema
from schemaops.checks.rename_table import RenameTable
from schemaops.checks.runpython_model_import import RunPythonModelImport
from schemaops.checks.runpython_without_reverse import RunPythonWithoutReverse
from schemaops.checks.runsql_without_reverse import RunSQLWithoutReverse
from schemaops.checks.set_not_null import SetNotNull
from schemaops.checks.state_only_removal import StateOnlyRemoval
from schemaops.checks.truncate_table import TruncateTable
from schemaops.checks.unbatched_data_migration import UnbatchedDataMigration
from schemaops.rules import Rule

RULES: list[type[Rule]] = [
    DropColumn,
    DropTable,
    RenameColumn,
    RenameTable,
    AlterDbColumn,
    StateOnlyRemoval,
    AddFieldNotNullWithoutDbDefault,
    CallableDefault,
    SetNotNull,
    DropNotNull,
    DropDbDefault,
    PostDeployDependency,
    RenameEnumValue,  # SO113
    RenameSchema,  # SO114
    DropSchema,  # SO115
    RunPythonWithoutReverse,
    RunSQLWithoutReverse,
    DataChangeWithSchemaChange,
    RunPythonModelImport,
    UnbatchedDataMigration,
    TruncateTable,
    DropDatabase,  # SO307
]
