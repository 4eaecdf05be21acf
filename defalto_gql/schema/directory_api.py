"""Administrators' view of the access directory: list roles, profiles, groups and rules;
change users; remove members, roles, profiles and groups."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.access import directory
from defalto_gql.access import users as accounts
from defalto_gql.schema.access_api import User, _admin, _manage, _user


@strawberry.type(description="A role in the role tree.")
class Role:
    name: str = strawberry.field(description="Role name.")
    parent: str | None = strawberry.field(description="The role above it.")
    profiles: list[str] = strawberry.field(description="Profiles the role holds.")


@strawberry.type(description="What a profile allows in one module.")
class ModuleRights:
    module: str = strawberry.field(description="Module name.")
    actions: list[str] = strawberry.field(description="view, create, edit, delete, import, "
                                                      "export.")


@strawberry.type(description="A profile's access to one field.")
class FieldAccess:
    module: str = strawberry.field(description="Module name.")
    field: str = strawberry.field(description="Field name.")
    access: str = strawberry.field(description="hidden, read_only or read_write.")


@strawberry.type(description="A set of module and field rights, held by roles.")
class Profile:
    name: str = strawberry.field(description="Profile name.")
    modules: list[ModuleRights] = strawberry.field(description="Module rights.")
    fields: list[FieldAccess] = strawberry.field(description="Field access settings.")


@strawberry.type(description="A member of a group.")
class GroupMember:
    kind: str = strawberry.field(description="user, role or group.")
    name: str = strawberry.field(description="User email, or role or group name.")


@strawberry.type(description="A group of users, roles and groups.")
class Group:
    name: str = strawberry.field(description="Group name.")
    members: list[GroupMember] = strawberry.field(description="Its members.")


@strawberry.type(description="Records owned by some, shared with others.")
class SharingRule:
    id: strawberry.ID = strawberry.field(description="Rule id, for deleting it.")
    module: str = strawberry.field(description="Module the rule applies to.")
    ownerKind: str = strawberry.field(description="role, role_and_subordinates or group.")
    owner: str = strawberry.field(description="Role or group name.")
    sharedKind: str = strawberry.field(description="role, role_and_subordinates, group, user.")
    sharedWith: str = strawberry.field(description="Role or group name, or user email.")
    access: str = strawberry.field(description="read or read_write.")


@strawberry.input(description="Changes to a user; omitted fields stay as they are.")
class UserChangeInput:
    name: str | None = strawberry.field(default=None, description="Full name.")
    role: str | None = strawberry.field(default=strawberry.UNSET, description="Role name; "
                                        "null takes the role away.")
    active: bool | None = strawberry.field(default=None, description="Inactive users cannot "
                                           "sign in; their tokens and keys stop working.")
    isAdmin: bool | None = strawberry.field(default=None, description="Every right.")
    timeZone: str | None = strawberry.field(default=None, description="IANA time zone.")
    locale: str | None = strawberry.field(default=None, description="Language and region.")
    password: str | None = strawberry.field(default=None, description="A new password; ends "
                                            "the user's sessions.")
    manager: str | None = strawberry.field(default=strawberry.UNSET, description="Email of "
                                           "the user this user reports to; null: nobody.")
    office: str | None = strawberry.field(default=strawberry.UNSET, description="Office or "
                                          "region; null takes it away.")


async def _listed(info: strawberry.Info, read: Any) -> Any:
    _admin(info)
    async with info.context.runtime.engine.connect() as conn:
        return await read(conn)


@strawberry.type
class DirectoryQuery:
    @strawberry.field(description="Every role (administrators only).")
    async def roles(self, info: strawberry.Info) -> list[Role]:
        return [Role(**r) for r in await _listed(info, directory.roles)]

    @strawberry.field(description="Every profile with its rights (administrators only).")
    async def profiles(self, info: strawberry.Info) -> list[Profile]:
        return [Profile(name=p["name"], modules=[ModuleRights(**m) for m in p["modules"]],
                        fields=[FieldAccess(**f) for f in p["fields"]])
                for p in await _listed(info, directory.profiles)]

    @strawberry.field(description="Every group with its members (administrators only).")
    async def groups(self, info: strawberry.Info) -> list[Group]:
        return [Group(name=g["name"], members=[GroupMember(**m) for m in g["members"]])
                for g in await _listed(info, directory.groups)]

    @strawberry.field(description="Every sharing rule (administrators only).")
    async def sharingRules(self, info: strawberry.Info) -> list[SharingRule]:
        return [SharingRule(**r) for r in await _listed(info, directory.sharing_rules)]


@strawberry.type
class DirectoryMutation:
    @strawberry.mutation(description="Change a user: name, role, active, administrator flag, "
                                     "time zone, locale, password, manager or office.")
    async def updateUser(self, info: strawberry.Info, email: str, data: UserChangeInput
                         ) -> User:
        changes = {k: v for k, v in vars(data).items() if v is not strawberry.UNSET}

        async def change(conn: AsyncConnection) -> Any:
            return await accounts.user_row(conn, await directory.update_user(conn, email,
                                                                             changes))

        return _user(await _manage(info, change))

    @strawberry.mutation(description="Take a member (user email, role or group name) out of "
                                     "a group.")
    async def removeGroupMember(self, info: strawberry.Info, group: str, kind: str,
                                member: str) -> bool:
        await _manage(info, lambda c: directory.remove_group_member(c, group, kind, member))
        return True

    @strawberry.mutation(description="Delete a role no user holds and no role sits below.")
    async def deleteRole(self, info: strawberry.Info, name: str) -> bool:
        await _manage(info, lambda c: directory.delete_role(c, name))
        return True

    @strawberry.mutation(description="Delete a profile; its roles lose what it granted.")
    async def deleteProfile(self, info: strawberry.Info, name: str) -> bool:
        await _manage(info, lambda c: directory.delete_profile(c, name))
        return True

    @strawberry.mutation(description="Delete a group that owns no record.")
    async def deleteGroup(self, info: strawberry.Info, name: str) -> bool:
        await _manage(info, lambda c: directory.delete_group(c, name))
        return True
