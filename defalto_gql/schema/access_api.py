"""Signing in, API keys, and (for administrators) users, roles, profiles, groups, sharing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.access import management, tokens
from defalto_gql.access import users as accounts
from defalto_gql.errors import Forbidden, NotFound


@strawberry.type(description="A person who signs in.")
class User:
    id: strawberry.ID = strawberry.field(description="User id.")
    email: str = strawberry.field(description="Sign-in email.")
    name: str = strawberry.field(description="Full name.")
    isAdmin: bool = strawberry.field(description="Administrators have every right.")
    active: bool = strawberry.field(description="Inactive users cannot sign in.")
    timeZone: str = strawberry.field(description="IANA time zone.")
    locale: str = strawberry.field(description="Language and region, such as en or de-CH.")
    role: str | None = strawberry.field(description="Role in the role tree.")
    manager: str | None = strawberry.field(description="Email of the user this user reports "
                                           "to (their manager); grants no rights.")
    office: str | None = strawberry.field(description="Office or region the user works from.")


@strawberry.type(description="A signed-in session.")
class Session:
    token: str = strawberry.field(description="Send as Authorization: Bearer <token>.")
    expiresAt: dt.datetime | None = strawberry.field(description="When the token stops working.")
    user: User = strawberry.field(description="Who signed in.")


@strawberry.type(description="A new API key; the key is shown this once and stored hashed.")
class ApiKey:
    id: strawberry.ID = strawberry.field(description="Key id, for revoking it.")
    name: str = strawberry.field(description="What the key is for.")
    key: str = strawberry.field(description="The secret; send as Authorization: Bearer <key>.")


@strawberry.input(description="A new user.")
class UserInput:
    email: str = strawberry.field(description="Sign-in email.")
    name: str = strawberry.field(description="Full name.")
    password: str = strawberry.field(description="At least 10 characters.")
    isAdmin: bool = strawberry.field(default=False, description="Every right.")
    role: str | None = strawberry.field(default=None, description="Role name.")
    timeZone: str = strawberry.field(default="UTC", description="IANA time zone.")
    locale: str = strawberry.field(default="en", description="Language and region.")
    manager: str | None = strawberry.field(default=None, description="Email of the user "
                                           "this user reports to.")
    office: str | None = strawberry.field(default=None, description="Office or region.")


@strawberry.input(description="Share records owned by some with others.")
class SharingRuleInput:
    module: str = strawberry.field(description="Module the rule applies to.")
    ownerKind: str = strawberry.field(description="role, role_and_subordinates or group.")
    owner: str = strawberry.field(description="Role or group name.")
    sharedKind: str = strawberry.field(description="role, role_and_subordinates, group or user.")
    sharedWith: str = strawberry.field(description="Role or group name, or user email.")
    access: str = strawberry.field(description="read or read_write.")


def _user(row: Any) -> User:
    return User(id=row["id"], email=row["email"], name=row["name"], isAdmin=row["is_admin"],
                active=row["active"], timeZone=row["time_zone"], locale=row["locale"],
                role=row["role"], manager=row["manager"], office=row["office"])


def _admin(info: strawberry.Info) -> None:
    if not info.context.records.rights.is_admin:
        raise Forbidden("only administrators manage users and rights", field="access")


async def _manage(info: strawberry.Info, change: Callable[[AsyncConnection], Awaitable[Any]]
                  ) -> Any:
    """Run an access change as an administrator; this instance forgets cached rights at once."""
    _admin(info)
    runtime = info.context.runtime
    async with runtime.engine.begin() as conn:
        result = await change(conn)
    runtime.access_changed()
    return result


def _address(info: strawberry.Info) -> str:
    request = info.context.request
    client = getattr(request, "client", None)
    return client.host if client else "local"


@strawberry.type
class AccessQuery:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: strawberry.Info) -> User:
        async with info.context.runtime.engine.connect() as conn:
            row = await accounts.user_row(conn, info.context.records.user_id)
        if row is None:
            raise NotFound("no user is signed in", field="me")
        return _user(row)

    @strawberry.field(description="Every user (administrators only).")
    async def users(self, info: strawberry.Info) -> list[User]:
        _admin(info)
        async with info.context.runtime.engine.connect() as conn:
            ids = [i for (i,) in await conn.exec_driver_sql(
                "SELECT id::text FROM dg_users WHERE id <> $1 ORDER BY email",
                (accounts.SYSTEM_USER_ID,))]
            return [_user(await accounts.user_row(conn, i)) for i in ids]


@strawberry.type
class AccessMutation:
    @strawberry.mutation(description="Sign in with email and password; returns a token.")
    async def login(self, info: strawberry.Info, email: str, password: str) -> Session:
        runtime = info.context.runtime
        settings = runtime.settings
        session = await accounts.login(
            runtime.engine, email, password, _address(info),
            ttl=dt.timedelta(hours=settings.token_ttl_hours),
            per_account=settings.login_failures_per_account,
            per_address=settings.login_failures_per_address,
        )
        async with runtime.engine.connect() as conn:
            row = await accounts.user_row(conn, session.user_id)
        return Session(token=session.token, expiresAt=session.expires_at, user=_user(row))

    @strawberry.mutation(description="Change your own password; your other sessions end.")
    async def changePassword(self, info: strawberry.Info, currentPassword: str,
                             newPassword: str) -> bool:
        token_id = getattr(info.context.request.state, "token_id", None)
        async with info.context.runtime.engine.begin() as conn:
            await accounts.change_password(conn, info.context.records.user_id,
                                           currentPassword, newPassword, token_id)
        return True

    @strawberry.mutation(description="Sign out: the token of this request stops working.")
    async def logout(self, info: strawberry.Info) -> bool:
        token_id = getattr(info.context.request.state, "token_id", None)
        if token_id is None:
            return False
        async with info.context.runtime.engine.begin() as conn:
            return await tokens.revoke(conn, token_id)

    @strawberry.mutation(description="An API key for an integration, for yourself (or, as an "
                                     "administrator, for another user by email).")
    async def createApiKey(self, info: strawberry.Info, name: str,
                           userEmail: str | None = None) -> ApiKey:
        records = info.context.records
        async with info.context.runtime.engine.begin() as conn:
            user_id = records.user_id
            if userEmail is not None:
                _admin(info)
                user_id = (await conn.exec_driver_sql(
                    "SELECT id::text FROM dg_users WHERE email = lower($1)", (userEmail,)
                )).scalar()
                if user_id is None:
                    raise NotFound(f"there is no user {userEmail}", field="userEmail")
            issued = await tokens.issue(conn, user_id, "api_key", name=name)
        return ApiKey(id=strawberry.ID(issued.id), name=name, key=issued.secret)

    @strawberry.mutation(description="Revoke an API key (yours; administrators: any).")
    async def revokeApiKey(self, info: strawberry.Info, id: strawberry.ID) -> bool:
        records = info.context.records
        owner = None if records.rights.is_admin else records.user_id
        async with info.context.runtime.engine.begin() as conn:
            return await tokens.revoke(conn, str(id), owner)

    @strawberry.mutation(description="Create a user (administrators only).")
    async def createUser(self, info: strawberry.Info, data: UserInput) -> User:
        async def change(conn: AsyncConnection) -> Any:
            created = await accounts.create_user(
                conn, email=data.email, name=data.name, password=data.password,
                is_admin=data.isAdmin, role=data.role, time_zone=data.timeZone,
                locale=data.locale, manager=data.manager, office=data.office)
            return await accounts.user_row(conn, created)

        return _user(await _manage(info, change))

    @strawberry.mutation(description="Create a role, below a parent role.")
    async def createRole(self, info: strawberry.Info, name: str, parent: str | None = None
                         ) -> strawberry.ID:
        return await _manage(info, lambda c: management.create_role(c, name, parent))  # type: ignore[no-any-return]

    @strawberry.mutation(description="Create a profile (a set of module and field rights).")
    async def createProfile(self, info: strawberry.Info, name: str) -> strawberry.ID:
        return await _manage(info, lambda c: management.create_profile(c, name))  # type: ignore[no-any-return]

    @strawberry.mutation(description="Give a role exactly these profiles.")
    async def setRoleProfiles(self, info: strawberry.Info, role: str, profiles: list[str]
                              ) -> bool:
        await _manage(info, lambda c: management.assign_profiles(c, role, profiles))
        return True

    @strawberry.mutation(description="Module rights of a profile: view, create, edit, delete, "
                                     "import, export.")
    async def setModuleRights(self, info: strawberry.Info, profile: str, module: str,
                              actions: list[str]) -> bool:
        await _manage(info, lambda c: management.set_module_rights(c, profile, module, actions))
        return True

    @strawberry.mutation(description="Field access of a profile: hidden, read_only, read_write.")
    async def setFieldAccess(self, info: strawberry.Info, profile: str, module: str,
                             field: str, access: str) -> bool:
        await _manage(info, lambda c: management.set_field_access(c, profile, module, field,
                                                                   access))
        return True

    @strawberry.mutation(description="Organisation-wide default of a module: private, "
                                     "public_read or public_read_write.")
    async def setModuleDefault(self, info: strawberry.Info, module: str, access: str) -> bool:
        await _manage(info, lambda c: management.set_module_default(c, module, access))
        return True

    @strawberry.mutation(description="Create a group (of users, roles and groups).")
    async def createGroup(self, info: strawberry.Info, name: str) -> strawberry.ID:
        return await _manage(info, lambda c: management.create_group(c, name))  # type: ignore[no-any-return]

    @strawberry.mutation(description="Add a member to a group: kind user (email), role or "
                                     "group (name).")
    async def addGroupMember(self, info: strawberry.Info, group: str, kind: str, member: str
                             ) -> bool:
        await _manage(info, lambda c: management.add_group_member(c, group, kind, member))
        return True

    @strawberry.mutation(description="Share records owned by a role, a role and its "
                                     "subordinates, or a group with others.")
    async def createSharingRule(self, info: strawberry.Info, data: SharingRuleInput
                                ) -> strawberry.ID:
        return await _manage(info, lambda c: management.create_sharing_rule(  # type: ignore[no-any-return]
            c, data.module, data.ownerKind, data.owner, data.sharedKind, data.sharedWith,
            data.access))

    @strawberry.mutation(description="Delete a sharing rule.")
    async def deleteSharingRule(self, info: strawberry.Info, id: strawberry.ID) -> bool:
        await _manage(info, lambda c: management.delete_sharing_rule(c, str(id)))
        return True
