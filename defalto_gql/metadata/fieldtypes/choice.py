"""Choice field types: boolean, picklist, multi-picklist, JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.sql.elements import ColumnElement

from defalto_gql.metadata.fieldtypes.base import (
    MAX_JSON_DEPTH,
    FieldType,
    json_depth,
    require_type,
    unstorable,
)
from defalto_gql.metadata.model import FieldDef

TRUE_WORDS = {"true", "yes", "y", "1", "on", "x"}
FALSE_WORDS = {"false", "no", "n", "0", "off", ""}


class BooleanType(FieldType):
    key = "boolean"
    output_kind = filter_kind = "Boolean"
    operators = ("eq", "neq", "is")

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Boolean()

    def validate(self, f: FieldDef, value: Any) -> Any:
        require_type(value, bool, "true or false")
        return value

    def parse_text(self, f: FieldDef, text: str) -> Any:
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"{text!r} is not yes or no")


def check_choice(f: FieldDef, value: str) -> str:
    # Values are data, compared exactly: "50+" and "Closed Won" are labels, not enum names.
    if value not in f.picklist:
        shown = ", ".join(repr(v) for v in f.picklist[:10])
        raise ValueError(f"{value!r} is not one of the values of this picklist ({shown})")
    return value


def spelled(f: FieldDef, text: str) -> str:
    """A text as the picklist spells it, ignoring case and surrounding spaces (``new lead``
    is ``New Lead``); an exact value wins, and a text matching none stays as it is."""
    text = text.strip()
    if text in f.picklist:
        return text
    folded = text.casefold()
    return next((v for v in f.picklist if v.strip().casefold() == folded), text)


class PicklistType(FieldType):
    key = "picklist"
    filter_kind = "Picklist"

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.String(255)

    def validate(self, f: FieldDef, value: Any) -> Any:
        require_type(value, str, "a string")
        return check_choice(f, value)

    def parse_text(self, f: FieldDef, text: str) -> Any:
        # Text (a CSV cell) is read loosely; API values stay exact (check_choice).
        return spelled(f, text)


class MultiPicklistType(FieldType):
    """Several picklist values, stored as a text array in the picklist's order."""

    key = "multipicklist"
    output_kind = "StringList"
    filter_kind = "MultiPicklist"
    sortable = False
    operators = ("hasAny", "hasAll", "hasNone", "eq", "is")

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return pg.ARRAY(sa.String(255))

    def validate(self, f: FieldDef, value: Any) -> Any:
        require_type(value, list, "a list of strings")
        for item in value:
            require_type(item, str, "a list of strings")
            check_choice(f, item)
        if len(set(value)) != len(value):
            raise ValueError("lists a value twice")
        order = {v: i for i, v in enumerate(f.picklist)}
        return sorted(value, key=order.__getitem__)

    def parse_text(self, f: FieldDef, text: str) -> Any:
        # Cells separate values with ";"; a value holding ";" or a comma is quoted
        # the CSV way ("a;b";c), so labels with commas survive a round trip.
        if not text.strip():
            return []
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=";", strict=True))
        except csv.Error:
            raise ValueError("has a value with an unbalanced quote: quote a value holding ';' "
                             'as "a;b", a quote inside it doubled') from None
        if len(rows) > 1:
            # Only a quoted value may hold a line break ("two\nlines";other).
            raise ValueError("has a line break outside quotes: separate values with ';'")
        return [spelled(f, item) for item in rows[0] if item.strip()]

    def filter_clause(
        self, f: FieldDef, table: sa.Table, op: str, operand: Any
    ) -> ColumnElement[bool]:
        column = table.c[f.column]
        array = pg.ARRAY(sa.String())
        values = sa.cast(sa.literal(list(operand or []), array), array)
        match op:
            # is_comparison: the result is a boolean, which hasNone may negate (an
            # ARRAY-typed result has no NOT; SQLAlchemy warns and will refuse it).
            case "hasAny":
                return column.op("&&", is_comparison=True)(values)
            case "hasAll":
                return column.op("@>", is_comparison=True)(values)
            case "hasNone":
                overlap = column.op("&&", is_comparison=True)(values)
                return sa.or_(column.is_(None), sa.not_(overlap))
            case "eq":
                order = {v: i for i, v in enumerate(f.picklist)}
                ordered = sorted(operand, key=lambda v: order.get(v, len(order)))
                return column == sa.cast(sa.literal(ordered, pg.ARRAY(sa.String())), column.type)
            case "is":
                return column.is_(None) if operand == "NULL" else column.is_not(None)
        raise ValueError(f"unknown operator {op}")



class JsonType(FieldType):
    key = "json"
    output_kind = filter_kind = "JSON"
    sortable = False
    operators = ("contains", "is")

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return pg.JSONB(none_as_null=True)

    def validate(self, f: FieldDef, value: Any) -> Any:
        if json_depth(value) > MAX_JSON_DEPTH:
            raise ValueError(f"nests more than {MAX_JSON_DEPTH} levels deep")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ValueError("is not a JSON value") from None
        # jsonb cannot store U+0000 or a lone surrogate; PostgreSQL would refuse the row.
        reason = unstorable(value)
        if reason:
            raise ValueError(reason)
        return value

    def parse_text(self, f: FieldDef, text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not JSON: {exc.msg}") from None
        except ValueError:
            # Python reads integers of at most 4,300 digits (sys.int_info).
            raise ValueError("holds a number with too many digits") from None
        except RecursionError:
            raise ValueError(f"nests more than {MAX_JSON_DEPTH} levels deep") from None

    def filter_clause(
        self, f: FieldDef, table: sa.Table, op: str, operand: Any
    ) -> ColumnElement[bool]:
        column = table.c[f.column]
        if op == "contains":
            return column.op("@>", is_comparison=True)(
                sa.cast(sa.literal(json.dumps(operand)), pg.JSONB)
            )
        return column.is_(None) if operand == "NULL" else column.is_not(None)
