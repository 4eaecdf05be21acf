"""GraphQL types shared by every module: Money, PageInfo, Node, directions and filter inputs."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.scalars import JSON

from defalto_gql.records.datamodel import MODULE_KEY


@strawberry.enum(description="Sort direction and where empty values go.")
class OrderDirection(enum.Enum):
    AscNullsFirst = "AscNullsFirst"
    AscNullsLast = "AscNullsLast"
    DescNullsFirst = "DescNullsFirst"
    DescNullsLast = "DescNullsLast"


@strawberry.enum(description="Whether a field is empty.")
class NullState(enum.Enum):
    NULL = "NULL"
    NOT_NULL = "NOT_NULL"


@strawberry.type(description="An amount of money in one currency. Amounts are exact decimals.")
class Money:
    amount: Decimal = strawberry.field(description="The amount, as an exact decimal string.")
    currency: str = strawberry.field(description="ISO 4217 currency code, such as EUR.")


@strawberry.input(description="An amount of money in one currency.")
class MoneyInput:
    amount: Decimal = strawberry.field(description="The amount, as an exact decimal string.")
    currency: str = strawberry.field(description="ISO 4217 currency code, such as EUR.")


@strawberry.input(description="A reference to a record of any module.")
class RecordRefInput:
    module: str = strawberry.field(description="The module's name, such as Account.")
    id: strawberry.ID = strawberry.field(description="The record's id.")


@strawberry.type(description="Where a page sits in its list (Relay).")
class PageInfo:
    hasNextPage: bool = strawberry.field(description="More records follow this page.")
    hasPreviousPage: bool = strawberry.field(description="Records precede this page.")
    startCursor: str | None = strawberry.field(description="Cursor of the first record.")
    endCursor: str | None = strawberry.field(description="Cursor of the last record.")


@strawberry.interface(description="A record of any module. Ids are UUIDs, unique across modules.")
class Node:
    id: strawberry.ID = strawberry.field(description="The record's id.")

    @classmethod
    def resolve_type(cls, obj: Any, *_: Any) -> str:
        return str(obj[MODULE_KEY])


def _ops(name: str, value_type: Any, ops: tuple[str, ...], description: str) -> type:
    """A filter input with the given operators over one value type."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__annotations__": annotations}
    docs = {
        "eq": "Equal to.", "neq": "Not equal to (empty values count as not equal).",
        "in": "One of.", "notIn": "None of (empty values count).", "gt": "Greater than.",
        "gte": "Greater than or equal to.", "lt": "Less than.", "lte": "Less than or equal to.",
        "like": "SQL LIKE pattern, case-sensitive.", "ilike": "SQL LIKE pattern, any case.",
        "startsWith": "Starts with, case-sensitive.", "contains": "Contains, any case.",
        "is": "Empty or not.", "hasAny": "Holds at least one of.", "hasAll": "Holds all of.",
        "hasNone": "Holds none of.",
    }
    for op in ops:
        python = f"{op}_" if op in ("in", "is") else op
        if op == "is":
            annotation: Any = NullState | None
        elif op in ("in", "notIn", "hasAny", "hasAll", "hasNone") or (
            op == "eq" and name == "MultiPicklistFilter"
        ):
            annotation = list[value_type] | None
        else:
            annotation = value_type | None
        annotations[python] = annotation
        namespace[python] = strawberry.field(default=strawberry.UNSET, name=op,
                                             description=docs.get(op))
    return strawberry.input(type(name, (), namespace), description=description)


ORDERED = ("eq", "neq", "in", "notIn", "gt", "gte", "lt", "lte", "is")
TEXT = ("eq", "neq", "in", "notIn", "is", "like", "ilike", "startsWith", "contains")

StringFilter = _ops("StringFilter", str, TEXT, "Conditions on a text field.")
IntFilter = _ops("IntFilter", int, ORDERED, "Conditions on an integer field.")
DecimalFilter = _ops("DecimalFilter", Decimal, ORDERED, "Conditions on a decimal field.")
DateFilter = _ops("DateFilter", dt.date, ORDERED, "Conditions on a date field.")
DateTimeFilter = _ops("DateTimeFilter", dt.datetime, ORDERED, "Conditions on a date-time.")
TimeFilter = _ops("TimeFilter", dt.time, ORDERED, "Conditions on a time of day.")
BooleanFilter = _ops("BooleanFilter", bool, ("eq", "neq", "is"), "Conditions on a yes/no field.")
IDFilter = _ops("IDFilter", strawberry.ID, ("eq", "neq", "in", "notIn", "is"),
                "Conditions on an id.")
PicklistFilter = _ops("PicklistFilter", str, ("eq", "neq", "in", "notIn", "is"),
                      "Conditions on a picklist; values compare exactly.")
MultiPicklistFilter = _ops("MultiPicklistFilter", str, ("hasAny", "hasAll", "hasNone", "eq", "is"),
                           "Conditions on a multi-picklist; eq compares the whole set.")
JSONFilter = _ops("JSONFilter", JSON, ("contains", "is"),
                  "Conditions on a JSON field; contains is JSON containment.")


@strawberry.input(description="Conditions on an amount of money.")
class MoneyFilter:
    amount: DecimalFilter | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="Conditions on the amount."
    )
    currency: StringFilter | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="Conditions on the currency code."
    )


OUTPUT_TYPES: dict[str, Any] = {
    "String": str, "Int": int, "Decimal": Decimal, "Boolean": bool, "Date": dt.date,
    "DateTime": dt.datetime, "Time": dt.time, "JSON": JSON, "Money": Money,
    "ID": strawberry.ID, "StringList": list[str],
}
INPUT_TYPES: dict[str, Any] = {**OUTPUT_TYPES, "Money": MoneyInput}
FILTER_TYPES: dict[str, Any] = {
    "String": StringFilter, "Int": IntFilter, "Decimal": DecimalFilter, "Date": DateFilter,
    "DateTime": DateTimeFilter, "Time": TimeFilter, "Boolean": BooleanFilter, "ID": IDFilter,
    "Picklist": PicklistFilter, "MultiPicklist": MultiPicklistFilter, "JSON": JSONFilter,
    "Money": MoneyFilter,
}
