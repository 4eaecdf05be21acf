"""Deriving API names, type names and column names from what administrators type."""

from __future__ import annotations

import re

# Names every module type already has; a field may not take them.
BUILTIN_FIELD_NAMES = frozenset({
    "id", "recordNumber", "createdAt", "createdById", "updatedAt", "updatedById",
    "ownerId", "deletedAt", "version", "owner", "createdBy", "updatedBy",
    "cursor", "node", "typename", "and", "or", "not",
})

# Column names of shipped fields are plain snake_case; custom ones carry this
# prefix, which no shipped field may use, so a later release can never collide.
CUSTOM_COLUMN_PREFIX = "x_"

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def words(text: str) -> list[str]:
    """Lower-case words of a label or identifier: "Annual revenue (USD)" -> annual revenue usd."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def camel(text: str) -> str:
    parts = words(text)
    if not parts:
        return ""
    name = parts[0] + "".join(p.capitalize() for p in parts[1:])
    return name if name[0].isalpha() else f"f{name}"


def pascal(text: str) -> str:
    name = camel(text)
    return name[:1].upper() + name[1:]


def snake(text: str) -> str:
    return "_".join(words(text))


def normalised(name: str) -> str:
    """The form two names are compared in: ``my orders``, ``myOrders`` and ``my_orders`` match."""
    return "".join(words(name))


# Type names the schema defines besides the per-module ones; a module may not take them.
STATIC_TYPE_NAMES = frozenset({
    "Query", "Mutation", "Subscription", "Node", "Money", "MoneyInput", "RecordRefInput",
    "PageInfo", "OrderDirection", "NullState", "ID", "String", "Int", "Float", "Boolean",
    "Decimal", "Date", "DateTime", "Time", "JSON", "Upload", "StringFilter", "IntFilter",
    "DecimalFilter", "DateFilter", "DateTimeFilter", "TimeFilter", "BooleanFilter", "IDFilter",
    "PicklistFilter", "MultiPicklistFilter", "JSONFilter", "MoneyFilter", "Module", "Field",
    "Relation", "Block", "ModuleInput", "ModuleChangeInput", "FieldInput", "FieldChangeInput",
    "RelationInput", "ConversionReport", "ConversionFailure", "PicklistRemoval", "FieldType",
    "MetadataChange", "User", "Session", "ApiKey", "UserInput", "SharingRuleInput",
    "Role", "Profile", "Group", "GroupMember", "ModuleRights", "FieldAccess", "SharingRule",
    "UserChangeInput",
})


def type_names(name: str, plural: str) -> set[str]:
    """Every GraphQL type name a module called ``name`` generates."""
    suffixes = ("", "Edge", "Connection", "Filter", "OrderBy", "CreateInput", "UpdateInput")
    return {f"{name}{suffix}" for suffix in suffixes} | {f"{plural}ListFilter"}


def module_clash(name: str, plural: str, others: list[tuple[str, str]]) -> str | None:
    """What a new module's names would collide with, or None when they are free."""
    mine = {n.lower() for n in type_names(name, plural)}
    for static in STATIC_TYPE_NAMES:
        if static.lower() in mine:
            return f"the built-in type {static!r}"
    for other, other_plural in others:
        if {normalised(name), normalised(plural)} & {normalised(other), normalised(other_plural)}:
            return f"the module {other!r} (names compare without case, spaces or punctuation)"
        theirs = {n.lower() for n in type_names(other, other_plural)}
        if mine & theirs:
            return f"the types of module {other!r} ({', '.join(sorted(mine & theirs))})"
    return None
