"""Sorting and keyset cursors.

A cursor holds the sort-key values of one row plus its id (always the last
key, so the order is total). "After the cursor" is the usual lexicographic
keyset condition, written out per key so each key may have its own direction
and nulls placement. Cursors stay valid when rows are inserted or deleted.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from defalto_gql.errors import BadUserInput, Forbidden
from defalto_gql.metadata.fieldtypes.reference import IdType
from defalto_gql.metadata.model import FieldDef, ModuleDef

DIRECTIONS = ("AscNullsFirst", "AscNullsLast", "DescNullsFirst", "DescNullsLast")


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY key: an expression, its direction and where nulls go."""

    field: FieldDef
    expression: ColumnElement[Any]
    descending: bool
    nulls_first: bool

    def order(self, reverse: bool = False) -> ColumnElement[Any]:
        descending = self.descending != reverse
        nulls_first = self.nulls_first != reverse
        clause = self.expression.desc() if descending else self.expression.asc()
        return clause.nulls_first() if nulls_first else clause.nulls_last()

    def after(self, value: Any) -> ColumnElement[bool] | None:
        """Rows strictly after ``value`` on this key alone; None where there are none."""
        column = self.expression
        if value is None:
            # Nulls first: every non-null comes after; nulls last: nothing does.
            return column.is_not(None) if self.nulls_first else None
        beyond = column < value if self.descending else column > value
        return beyond if self.nulls_first else sa.or_(beyond, column.is_(None))

    def before(self, value: Any) -> ColumnElement[bool] | None:
        """Rows strictly before ``value`` on this key alone."""
        column = self.expression
        if value is None:
            return None if self.nulls_first else column.is_not(None)
        ahead = column > value if self.descending else column < value
        return sa.or_(ahead, column.is_(None)) if self.nulls_first else ahead


def sort_keys(
    module: ModuleDef, table: sa.Table, order_by: list[dict[str, str]],
    hidden: frozenset[str] = frozenset(),
) -> list[SortKey]:
    """Turn ``[{"name": "AscNullsLast"}, ...]`` into sort keys, ending with ``id``.

    Sorting by a hidden field would reveal its values' order: FORBIDDEN.
    """
    keys = []
    for position, given in enumerate(order_by or []):
        item = {k: v for k, v in given.items() if v is not None}
        if len(item) != 1:
            raise BadUserInput(f"orderBy[{position}] must name exactly one field", field="orderBy")
        (name, direction), = item.items()
        f = module.fields_by_name.get(name)
        if f is None or not f.type.sortable:
            raise BadUserInput(f"cannot sort by {name!r}", field="orderBy")
        if name in hidden:
            raise Forbidden(f"{module.name}.{name} is hidden from you", field=name)
        keys.append(_key(f, table, direction))
    if not any(k.field.name == "id" for k in keys):
        keys.append(_key(module.field("id"), table, "AscNullsLast"))
    return keys


def _key(f: FieldDef, table: sa.Table, direction: str) -> SortKey:
    return SortKey(
        field=f,
        expression=f.type.sort_expression(f, table),
        descending=direction.startswith("Desc"),
        nulls_first=direction.endswith("NullsFirst"),
    )


def keyset(keys: list[SortKey], values: list[Any], forward: bool) -> ColumnElement[bool]:
    """Rows after (``forward``) or before the row whose sort values are ``values``."""
    alternatives = []
    for i, key in enumerate(keys):
        step = key.after(values[i]) if forward else key.before(values[i])
        if step is None:
            continue
        equal = [k.expression.is_not_distinct_from(values[j]) for j, k in enumerate(keys[:i])]
        alternatives.append(sa.and_(*equal, step))
    return sa.or_(*alternatives) if alternatives else sa.false()


# -- cursors ------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"D": value.isoformat()}
    if isinstance(value, dt.time):
        return {"T": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, text), = value.items()
        parsers: dict[str, Callable[[str], Any]] = {
            "d": Decimal, "t": dt.datetime.fromisoformat, "D": dt.date.fromisoformat,
            "T": dt.time.fromisoformat}
        parse = parsers.get(tag)
        if parse:
            return parse(text)
    return value


def make_cursor(keys: list[SortKey], row: Any) -> str:
    values = [_encode(row[k.expression.name]) for k in keys]
    raw = json.dumps([[k.field.name for k in keys], values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def read_cursor(keys: list[SortKey], cursor: str, argument: str) -> list[Any]:
    """The sort values inside a cursor; it must come from a list with the same order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        names, values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        decoded = [_decode(v) for v in values]
    except (ValueError, TypeError, ArithmeticError):
        raise BadUserInput("is not a cursor this API produced", field=argument) from None
    if names != [k.field.name for k in keys] or len(decoded) != len(keys):
        raise BadUserInput(
            "this cursor belongs to a list with another orderBy", field=argument
        )
    if not all(_fits(k, v) for k, v in zip(keys, decoded, strict=True)):
        raise BadUserInput("is not a cursor this API produced", field=argument)
    return decoded


def _fits(key: SortKey, value: Any) -> bool:
    """Whether a cursor value suits its key's column, so a forged cursor never reaches SQL."""
    if value is None:
        return True
    expected = key.expression.type.python_type
    if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
        return False
    if isinstance(value, str) and "\x00" in value:
        return False
    if isinstance(key.field.type, IdType):
        try:
            key.field.type.validate(key.field, value)
        except ValueError:
            return False
    return True
