"""Managing roles, profiles, groups, organisation-wide defaults and sharing rules.

Each function runs in the caller's transaction and bumps the access version,
so every instance recomputes the policies it cached.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.access.policy import ACTIONS
from defalto_gql.access.users import bump_access
from defalto_gql.errors import BadUserInput, Conflict
from defalto_gql.metadata.builtin import COMMON_FIELDS

DEFAULTS = ("private", "public_read", "public_read_write")
FIELD_LEVELS = ("hidden", "read_only", "read_write")
OWNER_KINDS = ("role", "role_and_subordinates", "group")
SHARED_KINDS = ("role", "role_and_subordinates", "group", "user")


async def id_of(conn: AsyncConnection, table: str, name: str, field: str) -> str:
    found = (await conn.exec_driver_sql(f"SELECT id::text FROM {table} WHERE name = $1",
                                        (name,))).scalar()
    if found is None:
        raise BadUserInput(f"there is no {field} {name!r}", field=field)
    return str(found)


async def _module(conn: AsyncConnection, name: str) -> None:
    """Rights name a module exactly as the API does: a misspelt one would grant or hide
    nothing, silently."""
    found = (await conn.exec_driver_sql(
        "SELECT 1 FROM dg_modules WHERE name = $1 AND deleted_at IS NULL", (name,))).scalar()
    if found is None:
        raise BadUserInput(f"there is no module {name!r}", field="module")


async def _field(conn: AsyncConnection, module: str, name: str) -> None:
    await _module(conn, module)
    if name in {common[0] for common in COMMON_FIELDS}:
        return
    found = (await conn.exec_driver_sql(
        "SELECT 1 FROM dg_fields f JOIN dg_modules m ON m.id = f.module_id WHERE m.name = $1 "
        "AND m.deleted_at IS NULL AND f.name = $2 AND f.deleted_at IS NULL", (module, name),
    )).scalar()
    if found is None:
        raise BadUserInput(f"{module} has no field {name!r}", field="field")


async def _insert(conn: AsyncConnection, sql: str, args: tuple[Any, ...], what: str) -> str:
    try:
        async with conn.begin_nested():
            found = (await conn.exec_driver_sql(sql, args)).scalar_one()
    except IntegrityError:
        raise Conflict(f"{what} exists already", field="name") from None
    await bump_access(conn)
    return str(found)


async def create_role(conn: AsyncConnection, name: str, parent: str | None) -> str:
    parent_id = await id_of(conn, "dg_roles", parent, "parent") if parent else None
    return await _insert(conn, "INSERT INTO dg_roles (name, parent_id) VALUES ($1, $2) "
                               "RETURNING id::text", (name, parent_id), f"role {name!r}")


async def create_profile(conn: AsyncConnection, name: str) -> str:
    return await _insert(conn, "INSERT INTO dg_profiles (name) VALUES ($1) RETURNING id::text",
                         (name,), f"profile {name!r}")


async def assign_profiles(conn: AsyncConnection, role: str, profiles: list[str]) -> None:
    role_id = await id_of(conn, "dg_roles", role, "role")
    ids = [await id_of(conn, "dg_profiles", p, "profile") for p in profiles]
    await conn.exec_driver_sql("DELETE FROM dg_role_profiles WHERE role_id = $1", (role_id,))
    for profile_id in ids:
        await conn.exec_driver_sql("INSERT INTO dg_role_profiles VALUES ($1, $2)",
                                   (role_id, profile_id))
    await bump_access(conn)


async def set_module_rights(conn: AsyncConnection, profile: str, module: str,
                            actions: list[str]) -> None:
    unknown = set(actions) - set(ACTIONS)
    if unknown:
        raise BadUserInput(f"unknown actions {sorted(unknown)}; known: {ACTIONS}",
                           field="actions")
    profile_id = await id_of(conn, "dg_profiles", profile, "profile")
    await _module(conn, module)
    flags = [a in actions for a in ACTIONS]
    columns = ", ".join(f"can_{a}" for a in ACTIONS)
    updates = ", ".join(f"can_{a} = excluded.can_{a}" for a in ACTIONS)
    await conn.exec_driver_sql(
        f"INSERT INTO dg_profile_modules (profile_id, module, {columns}) VALUES ($1, $2, "
        f"$3, $4, $5, $6, $7, $8) ON CONFLICT (profile_id, module) DO UPDATE SET {updates}",
        (profile_id, module, *flags),
    )
    await bump_access(conn)


async def set_field_access(conn: AsyncConnection, profile: str, module: str, field: str,
                           access: str) -> None:
    if access not in FIELD_LEVELS:
        raise BadUserInput(f"access is one of {FIELD_LEVELS}", field="access")
    profile_id = await id_of(conn, "dg_profiles", profile, "profile")
    await _field(conn, module, field)
    await conn.exec_driver_sql(
        "INSERT INTO dg_profile_fields (profile_id, module, field, access) VALUES "
        "($1, $2, $3, $4) ON CONFLICT (profile_id, module, field) DO UPDATE "
        "SET access = excluded.access", (profile_id, module, field, access),
    )
    await bump_access(conn)


async def set_module_default(conn: AsyncConnection, module: str, access: str) -> None:
    if access not in DEFAULTS:
        raise BadUserInput(f"access is one of {DEFAULTS}", field="access")
    await _module(conn, module)
    await conn.exec_driver_sql(
        "INSERT INTO dg_module_defaults (module, access) VALUES ($1, $2) "
        "ON CONFLICT (module) DO UPDATE SET access = excluded.access", (module, access),
    )
    await bump_access(conn)


async def create_group(conn: AsyncConnection, name: str) -> str:
    return await _insert(conn, "INSERT INTO dg_groups (name) VALUES ($1) RETURNING id::text",
                         (name,), f"group {name!r}")


async def add_group_member(conn: AsyncConnection, group: str, kind: str, member: str) -> None:
    """Add a user (by email), a role or a group (by name) to a group."""
    group_id = await id_of(conn, "dg_groups", group, "group")
    if kind == "user":
        member_id = (await conn.exec_driver_sql(
            "SELECT id::text FROM dg_users WHERE email = lower($1)", (member,))).scalar()
        if member_id is None:
            raise BadUserInput(f"there is no user {member!r}", field="member")
    elif kind in ("role", "group"):
        member_id = await id_of(conn, f"dg_{kind}s", member, "member")
    else:
        raise BadUserInput("kind is user, role or group", field="kind")
    await conn.exec_driver_sql(
        "INSERT INTO dg_group_members VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        (group_id, kind, member_id),
    )
    await bump_access(conn)


async def subject_id(conn: AsyncConnection, kind: str, name: str) -> str:
    if kind == "user":
        found = (await conn.exec_driver_sql(
            "SELECT id::text FROM dg_users WHERE email = lower($1)", (name,))).scalar()
        if found is None:
            raise BadUserInput(f"there is no user {name!r}", field="sharedWith")
        return str(found)
    table = "dg_groups" if kind == "group" else "dg_roles"
    return await id_of(conn, table, name, kind)


async def create_sharing_rule(
    conn: AsyncConnection, module: str, owner_kind: str, owner: str, shared_kind: str,
    shared_with: str, access: str,
) -> str:
    """Records owned by (a role, a role and those below it, a group) shared with another."""
    if owner_kind not in OWNER_KINDS or shared_kind not in SHARED_KINDS:
        raise BadUserInput(f"owners are one of {OWNER_KINDS}; shared with one of "
                           f"{SHARED_KINDS}", field="ownerKind")
    if access not in ("read", "read_write"):
        raise BadUserInput("access is read or read_write", field="access")
    await _module(conn, module)
    owner_id = await subject_id(conn, owner_kind, owner)
    shared_id = await subject_id(conn, shared_kind, shared_with)
    return await _insert(
        conn, "INSERT INTO dg_sharing_rules (module, owner_kind, owner_id, shared_kind, "
              "shared_id, access) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text",
        (module, owner_kind, owner_id, shared_kind, shared_id, access), "this rule",
    )


async def delete_sharing_rule(conn: AsyncConnection, rule_id: str) -> None:
    await conn.exec_driver_sql("DELETE FROM dg_sharing_rules WHERE id = $1", (rule_id,))
    await bump_access(conn)
