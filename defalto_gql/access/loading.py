"""Computing a user's ``AccessPolicy`` from the access tables."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.access.policy import ACTIONS, AccessPolicy, ModuleRights, with_masks
from defalto_gql.metadata.model import Snapshot

LEVELS = {"hidden": 0, "read_only": 1, "read_write": 2}


async def _rows(conn: AsyncConnection, sql: str, *args: Any) -> list[Any]:
    return list((await conn.exec_driver_sql(sql, args)).mappings())


class Directory:
    """Roles, users and groups, with the tree and membership questions rights need."""

    def __init__(self, roles: list[Any], users: list[Any], members: list[Any]) -> None:
        self.children: dict[str, list[str]] = defaultdict(list)
        self.parent: dict[str, str | None] = {}
        for role in roles:
            self.parent[role["id"]] = role["parent_id"]
            if role["parent_id"]:
                self.children[role["parent_id"]].append(role["id"])
        self.users_by_role: dict[str, set[str]] = defaultdict(set)
        for user in users:
            if user["role_id"]:
                self.users_by_role[user["role_id"]].add(user["id"])
        self.members: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in members:
            self.members[row["group_id"]].append((row["member_kind"], row["member_id"]))

    def subtree(self, role: str) -> set[str]:
        """A role and every role below it."""
        found, todo = set(), [role]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(self.children.get(current, []))
        return found

    def ancestors(self, role: str | None) -> set[str]:
        found = set()
        while role and role not in found:
            found.add(role)
            role = self.parent.get(role)
        return found

    def groups_of(self, user: str, role: str | None) -> set[str]:
        """Groups holding the user directly, through their role, or through other groups."""
        found: set[str] = set()
        changed = True
        while changed:
            changed = False
            for group, members in self.members.items():
                if group in found:
                    continue
                if any((kind == "user" and ident == user) or (kind == "role" and ident == role)
                       or (kind == "group" and ident in found) for kind, ident in members):
                    found.add(group)
                    changed = True
        return found

    def users_in_group(self, group: str, seen: set[str] | None = None) -> set[str]:
        seen = seen if seen is not None else set()
        if group in seen:
            return set()
        seen.add(group)
        found: set[str] = set()
        for kind, ident in self.members.get(group, []):
            if kind == "user":
                found.add(ident)
            elif kind == "role":
                found |= self.users_by_role.get(ident, set())
            else:
                found |= self.users_in_group(ident, seen) | {ident}
        return found

    def users_in_roles(self, roles: set[str]) -> set[str]:
        return set().union(*(self.users_by_role.get(r, set()) for r in roles))


def _rule_applies(rule: Any, user: str, role: str | None, groups: set[str],
                  directory: Directory) -> bool:
    kind, ident = rule["shared_kind"], rule["shared_id"]
    if kind == "user":
        return bool(ident == user)
    if kind == "role":
        return bool(ident == role)
    if kind == "role_and_subordinates":
        return ident in directory.ancestors(role)
    return ident in groups


def _rule_owners(rule: Any, directory: Directory) -> set[str]:
    kind, ident = rule["owner_kind"], rule["owner_id"]
    if kind == "role":
        return directory.users_in_roles({ident})
    if kind == "role_and_subordinates":
        return directory.users_in_roles(directory.subtree(ident))
    return directory.users_in_group(ident) | {ident}


async def load_policy(conn: AsyncConnection, user_id: str, snapshot: Snapshot) -> AccessPolicy:
    """Everything a user may see and do, from the access tables, in a handful of queries."""
    user = (await _rows(conn, "SELECT id::text, is_admin, role_id::text FROM dg_users "
                              "WHERE id = $1", user_id))[0]
    if user["is_admin"]:
        return AccessPolicy.system(user_id)
    directory = Directory(
        await _rows(conn, "SELECT id::text, parent_id::text FROM dg_roles"),
        # Inactive users too: being unable to sign in does not take their records out
        # of the role tree, the groups and the sharing rules.
        await _rows(conn, "SELECT id::text, role_id::text FROM dg_users"),
        await _rows(conn, "SELECT group_id::text, member_kind, member_id::text "
                          "FROM dg_group_members"),
    )
    role = user["role_id"]
    groups = directory.groups_of(user_id, role)
    below = directory.users_in_roles(directory.subtree(role) - {role}) if role else set()
    base = {user_id} | groups | below

    actions, fields = await _profile_rights(conn, role)
    defaults = {r["module"]: r["access"] for r in
                await _rows(conn, "SELECT module, access FROM dg_module_defaults")}
    reads: dict[str, set[str]] = defaultdict(set)
    writes: dict[str, set[str]] = defaultdict(set)
    for rule in await _rows(conn, "SELECT module, owner_kind, owner_id::text, shared_kind, "
                                  "shared_id::text, access FROM dg_sharing_rules"):
        if _rule_applies(rule, user_id, role, groups, directory):
            owners = _rule_owners(rule, directory)
            reads[rule["module"]] |= owners
            if rule["access"] == "read_write":
                writes[rule["module"]] |= owners

    modules = {}
    for name in snapshot.modules:
        default = defaults.get(name, "private")
        own_read = frozenset(base | reads[name] | writes[name])
        own_write = frozenset(base | writes[name])
        levels = fields.get(name, {})
        modules[name] = ModuleRights(
            actions=frozenset(actions.get(name, set())),
            read_owners=None if default != "private" else own_read,
            write_owners=None if default == "public_read_write" else own_write,
            hidden=frozenset(f for f, level in levels.items() if level == 0),
            read_only=frozenset(f for f, level in levels.items() if level == 1),
        )
    references = {
        m.name: {f.name: [f"{f.name}Id", f"{f.name}Module"] for f in m.fields
                 if f.type_key == "reference"}
        for m in snapshot.modules.values()
    }
    return with_masks(AccessPolicy(user_id, False, modules), references)


async def _profile_rights(
    conn: AsyncConnection, role: str | None
) -> tuple[dict[str, set[str]], dict[str, dict[str, int]]]:
    """Module actions (any profile granting is enough) and field levels (the most open wins)."""
    actions: dict[str, set[str]] = defaultdict(set)
    fields: dict[str, dict[str, int]] = defaultdict(dict)
    if role is None:
        return actions, fields
    rows = await _rows(conn, "SELECT pm.* FROM dg_profile_modules pm JOIN dg_role_profiles rp "
                             "ON rp.profile_id = pm.profile_id WHERE rp.role_id = $1", role)
    for row in rows:
        actions[row["module"]] |= {a for a in ACTIONS if row[f"can_{a}"]}
    rows = await _rows(conn, "SELECT pf.module, pf.field, pf.access FROM dg_profile_fields pf "
                             "JOIN dg_role_profiles rp ON rp.profile_id = pf.profile_id "
                             "WHERE rp.role_id = $1", role)
    counted: dict[tuple[str, str], int] = defaultdict(int)
    profiles = (await conn.exec_driver_sql(
        "SELECT count(*) FROM dg_role_profiles WHERE role_id = $1", (role,))).scalar_one()
    for row in rows:
        key = (row["module"], row["field"])
        counted[key] += 1
        level = LEVELS[row["access"]]
        fields[row["module"]][row["field"]] = max(fields[row["module"]].get(row["field"], -1),
                                                  level)
    # A profile that says nothing about a field leaves it read-write.
    for (module, name), count in counted.items():
        if count < profiles:
            fields[module][name] = LEVELS["read_write"]
    return actions, fields
