"""Changing and removing users, group members, roles, profiles and groups; listing them all.

Like ``management``, each change runs in the caller's transaction and bumps the
access version. Removals refuse while something still depends on what they
remove (a role held by users, a group owning records), naming what it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.access import teams
from defalto_gql.access.management import id_of, subject_id
from defalto_gql.access.passwords import hash_password
from defalto_gql.access.users import bump_access
from defalto_gql.errors import BadUserInput, NotFound

USER_CHANGES = {"name": "name", "isAdmin": "is_admin", "active": "active",
                "timeZone": "time_zone", "locale": "locale"}


async def _rows(conn: AsyncConnection, sql: str, *args: Any) -> list[Any]:
    return list((await conn.exec_driver_sql(sql, args)).mappings())


async def update_user(conn: AsyncConnection, email: str, changes: dict[str, Any]) -> str:
    """Change a user; deactivating or a new password ends their sessions. Returns the id.

    ``role``, ``manager`` (an email) and ``office`` given as None are taken away.
    """
    user_id = (await conn.exec_driver_sql(
        "SELECT id::text FROM dg_users WHERE email = lower($1)", (email,))).scalar()
    if user_id is None:
        raise NotFound(f"there is no user {email}", field="email")
    for key, column in USER_CHANGES.items():
        if changes.get(key) is not None:
            await conn.exec_driver_sql(f"UPDATE dg_users SET {column} = $1 WHERE id = $2",
                                       (changes[key], user_id))
    if "role" in changes:
        role = changes["role"]
        role_id = await id_of(conn, "dg_roles", role, "role") if role else None
        await conn.exec_driver_sql("UPDATE dg_users SET role_id = $1 WHERE id = $2",
                                   (role_id, user_id))
    if "manager" in changes:
        await teams.set_manager(conn, str(user_id), changes["manager"])
    if "office" in changes:
        await conn.exec_driver_sql("UPDATE dg_users SET office = $1 WHERE id = $2",
                                   (teams.clean_office(changes["office"]), user_id))
    if changes.get("password"):
        await conn.exec_driver_sql("UPDATE dg_users SET password_hash = $1 WHERE id = $2",
                                   (hash_password(changes["password"]), user_id))
    if changes.get("password") or changes.get("active") is False:
        kinds = "('session', 'api_key')" if changes.get("active") is False else "('session')"
        await conn.exec_driver_sql(
            f"UPDATE dg_tokens SET revoked_at = now() WHERE user_id = $1 AND kind IN {kinds} "
            "AND revoked_at IS NULL", (user_id,))
    await bump_access(conn)
    return str(user_id)


async def remove_group_member(conn: AsyncConnection, group: str, kind: str, member: str
                              ) -> None:
    group_id = await id_of(conn, "dg_groups", group, "group")
    member_id = await subject_id(conn, kind, member)
    done = await conn.exec_driver_sql(
        "DELETE FROM dg_group_members WHERE group_id = $1 AND member_kind = $2 "
        "AND member_id = $3", (group_id, kind, member_id))
    if not done.rowcount:
        raise NotFound(f"{member} is not a member of {group}", field="member")
    await bump_access(conn)


async def delete_role(conn: AsyncConnection, name: str) -> None:
    """Remove a role that no user holds and no role sits below."""
    role_id = await id_of(conn, "dg_roles", name, "role")
    users = (await conn.exec_driver_sql(
        "SELECT count(*) FROM dg_users WHERE role_id = $1", (role_id,))).scalar_one()
    children = (await conn.exec_driver_sql(
        "SELECT count(*) FROM dg_roles WHERE parent_id = $1", (role_id,))).scalar_one()
    if users or children:
        raise BadUserInput(f"role {name} is held by {users} users and has {children} roles "
                           "below it; move them first", field="name")
    await _forget_subject(conn, role_id)
    await conn.exec_driver_sql("DELETE FROM dg_roles WHERE id = $1", (role_id,))
    await bump_access(conn)


async def delete_profile(conn: AsyncConnection, name: str) -> None:
    """Remove a profile; the roles holding it lose what it granted."""
    profile_id = await id_of(conn, "dg_profiles", name, "profile")
    await conn.exec_driver_sql("DELETE FROM dg_profiles WHERE id = $1", (profile_id,))
    await bump_access(conn)


async def delete_group(conn: AsyncConnection, name: str) -> None:
    """Remove a group that owns no record (its records would be nobody's)."""
    group_id = await id_of(conn, "dg_groups", name, "group")
    for (table,) in await conn.exec_driver_sql(
        "SELECT table_name FROM dg_modules WHERE purged_at IS NULL"
    ):
        owned = (await conn.exec_driver_sql(
            f'SELECT count(*) FROM "{table}" WHERE owner_id = $1', (group_id,))).scalar_one()
        if owned:
            raise BadUserInput(f"group {name} owns {owned} records in {table}; hand them "
                               "over first", field="name")
    await _forget_subject(conn, group_id)
    await conn.exec_driver_sql("DELETE FROM dg_group_members WHERE member_id = $1",
                               (group_id,))
    await conn.exec_driver_sql("DELETE FROM dg_groups WHERE id = $1", (group_id,))
    await bump_access(conn)


async def _forget_subject(conn: AsyncConnection, ident: str) -> None:
    """Sharing rules and memberships that name a removed role or group go with it."""
    await conn.exec_driver_sql(
        "DELETE FROM dg_sharing_rules WHERE owner_id = $1 OR shared_id = $1", (ident,))
    await conn.exec_driver_sql("DELETE FROM dg_group_members WHERE member_id = $1", (ident,))


async def roles(conn: AsyncConnection) -> list[dict[str, Any]]:
    found = await _rows(conn, "SELECT r.id::text, r.name, p.name AS parent FROM dg_roles r "
                              "LEFT JOIN dg_roles p ON p.id = r.parent_id ORDER BY r.name")
    profiles = await _rows(conn, "SELECT rp.role_id::text, p.name FROM dg_role_profiles rp "
                                 "JOIN dg_profiles p ON p.id = rp.profile_id ORDER BY p.name")
    return [{"name": r["name"], "parent": r["parent"],
             "profiles": [p["name"] for p in profiles if p["role_id"] == r["id"]]}
            for r in found]


async def profiles(conn: AsyncConnection) -> list[dict[str, Any]]:
    found = await _rows(conn, "SELECT id::text, name FROM dg_profiles ORDER BY name")
    modules = await _rows(conn, "SELECT * FROM dg_profile_modules ORDER BY module")
    fields = await _rows(conn, "SELECT * FROM dg_profile_fields ORDER BY module, field")
    actions = ("view", "create", "edit", "delete", "import", "export")
    return [{
        "name": p["name"],
        "modules": [{"module": m["module"], "actions": [a for a in actions if m[f"can_{a}"]]}
                    for m in modules if str(m["profile_id"]) == p["id"]],
        "fields": [{"module": f["module"], "field": f["field"], "access": f["access"]}
                   for f in fields if str(f["profile_id"]) == p["id"]],
    } for p in found]


async def names(conn: AsyncConnection) -> dict[str, str]:
    """Display names of users (email), roles and groups by id."""
    rows = await _rows(conn, "SELECT id::text, email AS name FROM dg_users UNION ALL "
                             "SELECT id::text, name FROM dg_roles UNION ALL "
                             "SELECT id::text, name FROM dg_groups")
    return {r["id"]: r["name"] for r in rows}


async def groups(conn: AsyncConnection) -> list[dict[str, Any]]:
    found = await _rows(conn, "SELECT id::text, name FROM dg_groups ORDER BY name")
    members = await _rows(conn, "SELECT group_id::text, member_kind, member_id::text "
                                "FROM dg_group_members")
    known = await names(conn)
    return [{"name": g["name"],
             "members": [{"kind": m["member_kind"], "name": known.get(m["member_id"], "?")}
                         for m in members if m["group_id"] == g["id"]]}
            for g in found]


async def sharing_rules(conn: AsyncConnection) -> list[dict[str, Any]]:
    found = await _rows(conn, "SELECT id::text, module, owner_kind, owner_id::text, "
                              "shared_kind, shared_id::text, access FROM dg_sharing_rules "
                              "ORDER BY module, created_at")
    known = await names(conn)
    return [{"id": r["id"], "module": r["module"], "ownerKind": r["owner_kind"],
             "owner": known.get(r["owner_id"], "?"), "sharedKind": r["shared_kind"],
             "sharedWith": known.get(r["shared_id"], "?"), "access": r["access"]}
            for r in found]
