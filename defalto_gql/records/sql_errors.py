"""Translating database errors into the project's errors, once, at the boundary."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc

from defalto_gql.errors import BadUserInput, Conflict, FieldProblem
from defalto_gql.metadata.model import ModuleDef

KEY_DETAIL = re.compile(r"Key \((?P<columns>[^)]*)\)=\((?P<values>.*)\)")


def _field_for(module: ModuleDef, column: str) -> str:
    for f in module.fields:
        if column in f.type.column_names(f):
            return f.name
    return column


@contextmanager
def translated(module: ModuleDef, items: list[dict[str, Any]]) -> Iterator[None]:
    """Turn constraint violations into CONFLICT / BAD_USER_INPUT naming the field."""
    try:
        yield
    except exc.IntegrityError as error:
        original = getattr(error.orig, "__cause__", None) or error.orig
        sqlstate = getattr(original, "sqlstate", None)
        detail = getattr(original, "detail", None) or ""
        match = KEY_DETAIL.search(detail)
        column = match.group("columns").split(",")[0].strip() if match else ""
        field = _field_for(module, column) if column else None
        value = match.group("values") if match else None
        row = next((i for i, item in enumerate(items) if value is not None
                    and value in map(str, item.values())), None)
        if sqlstate == "23505":
            message = f"another {module.name} already has {field} = {value}"
            clash = [FieldProblem(field or "data", message, row)] if row is not None else []
            raise Conflict(message, field=field, problems=clash) from error
        problem = FieldProblem(field or "data", "violates a database constraint", row)
        raise BadUserInput.from_problems([problem]) from error
