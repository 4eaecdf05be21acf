"""The common fields every module has, described as read-only field definitions."""

from __future__ import annotations

from defalto_gql.metadata.model import FieldDef

# (API name, label, type, column)
COMMON_FIELDS = (
    ("id", "Id", "id", "id"),
    ("recordNumber", "Record number", "autonumber", "record_number"),
    ("createdAt", "Created at", "datetime", "created_at"),
    ("createdById", "Created by", "owner", "created_by"),
    ("updatedAt", "Updated at", "datetime", "updated_at"),
    ("updatedById", "Updated by", "owner", "updated_by"),
    ("ownerId", "Owner", "owner", "owner_id"),
    ("deletedAt", "Deleted at", "datetime", "deleted_at"),
    ("version", "Version", "integer", "version"),
)


def builtin_fields(module: str, numbered: bool) -> list[FieldDef]:
    """The common fields of ``module``; ``recordNumber`` only where it is numbered."""
    found = []
    for position, (name, label, type_key, column) in enumerate(COMMON_FIELDS):
        if name == "recordNumber" and not numbered:
            continue
        found.append(
            FieldDef(
                id=0,
                module=module,
                name=name,
                label=label,
                type_key=type_key,
                column=column,
                required=name in ("id", "createdAt", "updatedAt", "version"),
                position=-100 + position,
                shipped=True,
                builtin=True,
                read_only=name != "ownerId",
            )
        )
    return found
