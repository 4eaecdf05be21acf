"""What every field type knows: columns, GraphQL kinds, validation, filters, text parsing.

A field type is a stateless object; the settings of one field (length, picklist
values, targets) come from its ``FieldDef``. Validation raises ``ValueError``
with a message meant for the client; the records layer attaches the field name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from defalto_gql.metadata.model import FieldDef


class FieldType:
    """Base of all field types; subclasses override what differs."""

    key: ClassVar[str]
    # GraphQL kinds, mapped to strawberry types by the schema layer.
    output_kind: ClassVar[str] = "String"
    filter_kind: ClassVar[str] = "String"
    sortable: ClassVar[bool] = True
    writable: ClassVar[bool] = True
    # Operators that ``filter_clause`` accepts for this type.
    operators: ClassVar[tuple[str, ...]] = ("eq", "neq", "in", "notIn", "is")

    # -- storage ---------------------------------------------------------

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        raise NotImplementedError(f"{type(self).__name__} defines its columns itself")

    def columns(self, f: FieldDef) -> list[sa.Column[Any]]:
        """The table columns of one field; most types have exactly one."""
        return [sa.Column(f.column, self.sql_type(f), nullable=True)]

    def column_names(self, f: FieldDef) -> list[str]:
        return [f.column]

    # -- values ----------------------------------------------------------

    def read(self, f: FieldDef, row: Any) -> Any:
        """The API value of this field from a result row (a mapping by column)."""
        return row[f.column]

    def write(self, f: FieldDef, value: Any) -> dict[str, Any]:
        """Column values for an API value; ``None`` clears the field."""
        if value is None:
            return {name: None for name in self.column_names(f)}
        return {f.column: self.validate(f, value)}

    def validate(self, f: FieldDef, value: Any) -> Any:
        """Check a non-null API value and return what the column stores."""
        return value

    def parse_text(self, f: FieldDef, text: str) -> Any:
        """An API value from text (CSV cells, defaults); raises ValueError."""
        return text

    def from_json(self, f: FieldDef, value: Any) -> Any:
        """An API value from its JSON form (stored defaults): text goes through the parser."""
        if isinstance(value, str) and self.output_kind not in ("String", "ID"):
            return self.parse_text(f, value)
        if isinstance(value, float) and self.output_kind in ("Decimal", "Money"):
            # Plain notation: the text rule takes no exponent (1e-05).
            return self.parse_text(f, format(Decimal(repr(value)), "f"))
        return value

    def is_empty(self, value: Any) -> bool:
        return value is None

    # -- querying --------------------------------------------------------

    def sort_expression(self, f: FieldDef, table: sa.Table) -> ColumnElement[Any]:
        return table.c[f.column]

    def filter_operand(self, f: FieldDef, value: Any) -> Any:
        """Turn a filter operand into what the column compares with."""
        return value

    def filter_clause(
        self, f: FieldDef, table: sa.Table, op: str, operand: Any
    ) -> ColumnElement[bool]:
        """The SQL condition for ``field op operand``."""
        return compare(self.sort_expression(f, table), op, self._operand(f, op, operand))

    def _operand(self, f: FieldDef, op: str, operand: Any) -> Any:
        if op == "is":
            return operand
        if op in ("in", "notIn"):
            return [self.filter_operand(f, v) for v in operand]
        return self.filter_operand(f, operand)


def compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    """The comparison operators shared by the scalar types."""
    match op:
        case "eq":
            found = column == value
        case "neq":
            # Null counts as "not equal": what a person filtering a list expects.
            found = column.is_distinct_from(value)
        case "in":
            found = column.in_(value)
        case "notIn":
            found = sa.or_(column.not_in(value), column.is_(None))
        case "gt":
            found = column > value
        case "gte":
            found = column >= value
        case "lt":
            found = column < value
        case "lte":
            found = column <= value
        case "is":
            found = column.is_(None) if value == "NULL" else column.is_not(None)
        case "like":
            found = column.like(value)
        case "ilike":
            found = column.ilike(value)
        case "startsWith":
            found = column.startswith(value, autoescape=True)
        case "contains":
            found = column.icontains(value, autoescape=True)
        case _:
            raise ValueError(f"unknown operator {op}")
    # SQLAlchemy types these operators loosely; each builds a boolean condition.
    return cast("ColumnElement[bool]", found)


def require_type(value: Any, kinds: type | tuple[type, ...], what: str) -> None:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        raise ValueError(f"expected {what}")


def _as_tuple(kinds: type | tuple[type, ...]) -> Sequence[type]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


# What PostgreSQL text cannot store: the NUL character, and a lone surrogate (half of
# a UTF-16 pair, which JSON's "\\ud800" can spell but UTF-8 cannot encode).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# How deeply a JSON value may nest (a JSON field's value, a filter given as JSON).
MAX_JSON_DEPTH = 64


def unstorable(value: Any) -> str | None:
    """Why a value (text, or lists and objects holding text) cannot be stored; None if it can.

    Walked without recursion, so a value nested however deeply gets an answer
    (and then the error its depth deserves) rather than a RecursionError.
    """
    waiting = [value]
    while waiting:
        item = waiting.pop()
        if isinstance(item, str):
            found = _UNSTORABLE.search(item)
            if found is not None:
                return "contains a NUL character" if found.group() == "\x00" else \
                    "contains a lone surrogate (half of a UTF-16 pair), which is not a character"
        elif isinstance(item, list):
            waiting.extend(item)
        elif isinstance(item, dict):
            waiting.extend(item)
            waiting.extend(item.values())
    return None


def json_depth(value: Any) -> int:
    """How many levels of lists and objects a value nests (0 for a scalar), without recursion."""
    deepest = 0
    waiting = [(value, 0)]
    while waiting:
        item, depth = waiting.pop()
        children = item.values() if isinstance(item, dict) else item \
            if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        waiting.extend((child, depth + 1) for child in children)
    return deepest
