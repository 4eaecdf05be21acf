"""Turning strawberry input objects into the plain data the domain layer takes."""

from __future__ import annotations

import enum
from typing import Any

from strawberry.types.base import has_object_definition
from strawberry.types.unset import UNSET

from defalto_gql.errors import BadUserInput
from defalto_gql.metadata.fieldtypes.reference import parse_id


def plain(value: Any) -> Any:
    """Input objects become dicts keyed by GraphQL name; omitted fields are left out.

    An explicit ``null`` stays as ``None``: in an update it clears the field.
    """
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if has_object_definition(value):
        found = {}
        for f in value.__strawberry_definition__.fields:
            item = getattr(value, f.python_name, UNSET)
            if item is not UNSET:
                found[f.graphql_name or f.python_name] = plain(item)
        return found
    return value


def record_id(value: Any, argument: str = "id") -> str:
    """A record id argument, checked so the database never sees a malformed one."""
    try:
        return parse_id(value)
    except ValueError as exc:
        raise BadUserInput(str(exc), field=argument) from None
