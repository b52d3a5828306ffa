"""The shape of the hygiene rules about column types written in SQL (SO601, SO602, SO604, SO606).

Each flags the columns that a ``CREATE TABLE``, ``ADD COLUMN`` or ``ALTER
COLUMN ... TYPE`` declares with a type to avoid, in one finding per statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from schemaops.columns import DeclaredColumn, declared_columns
from schemaops.findings import Finding
from schemaops.rules import Rule, StatementContext


class DeclaredColumnRule(Rule):
    """A rule about SQL column declarations.

    A subclass says which columns it flags (:meth:`flags`), how each is named in
    the message (:meth:`describe`: ``table.column`` by default) and what the
    message says after ``<action> declares <columns>`` (``advice``). The
    remedy (the statement retyped) is the planner's.
    """

    statements = ("CreateStmt", "AlterTableStmt")
    advice: ClassVar[str]

    def flags(self, col: DeclaredColumn) -> bool:
        raise NotImplementedError

    def describe(self, col: DeclaredColumn) -> str:
        return col.where

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        found = [col for col in declared_columns(ctx.node) if self.flags(col)]
        if found:
            where = ", ".join(self.describe(col) for col in found)
            yield self.finding(ctx, f"{found[0].action} declares {where}{self.advice}")
