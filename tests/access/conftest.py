"""An organisation built through the access API, and clients that act as its people.

The role tree, profiles, group, sharing rules and the custom module are made
once per session (access tables outlive the per-test truncation of module
tables); the records each test reads are made per test by ``world``.

    Director                     director@, profile Manager
    ├── Sales Manager            manager@,  profile Manager
    │   ├── Sales East           east@, east2@ (east@ is in the group Key accounts)
    │   └── Sales West           west@
    └── Support                  support@,  profile Support (no Deal rights)

Profile Rep (Sales East and West) is Manager with Deal.nextStep and the custom
field Project.budget hidden, Contact.account hidden and Account.annualRevenue
read-only. Deal and the custom Project module are private, Account and Comment
public read, Contact public read-write. Sharing rules: Deal records owned by
the role Sales East are shared read-only with Sales West; Deal records owned by
the group Key accounts are shared read-write with Sales Manager.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, Api, sign_in

PASSWORD = "matrix-password-42"
FULL = ["view", "create", "edit", "delete"]
MANAGER_RIGHTS = {"Deal": FULL, "Account": FULL, "Contact": FULL,
                  "Comment": ["view", "create"]}
REP_RIGHTS = {**MANAGER_RIGHTS, "Account": ["view", "create", "edit"]}
SUPPORT_RIGHTS = {"Account": ["view"], "Comment": ["view"]}
DEFAULTS = {"Deal": "private", "Account": "public_read", "Comment": "public_read",
            "Contact": "public_read_write"}
# (key, role): key is also the local part of the email address.
PEOPLE = [("director", "Director"), ("manager", "Sales Manager"), ("east", "Sales East"),
          ("east2", "Sales East"), ("west", "Sales West"), ("support", "Support")]


@dataclass
class Member:
    """One person of the organisation and a client that acts as them."""

    key: str
    email: str
    id: str
    api: Api


@dataclass
class Org:
    """Names and ids of the organisation built for the access tests."""

    suffix: str
    roles: dict[str, str]
    profiles: dict[str, str]
    group: str
    group_id: str
    project: str
    project_plural: str
    projects: str
    single_project: str
    reverse: str
    people: dict[str, Member] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Member:
        return self.people[key]


async def admin_do(api: Api, operation: str, variables: dict[str, Any] | None = None) -> Any:
    """Run one mutation as the administrator; returns its single result."""
    data = await api.query(f"mutation{operation}", variables)
    (result,) = data.values()
    return result


async def _roles(api: Api, suffix: str) -> dict[str, str]:
    roles = {r: f"{r} {suffix}" for r in
             ("Director", "Sales Manager", "Sales East", "Sales West", "Support")}
    tree = [("Director", None), ("Sales Manager", "Director"), ("Sales East", "Sales Manager"),
            ("Sales West", "Sales Manager"), ("Support", "Director")]
    for role, parent in tree:
        await admin_do(api, "($n: String!, $p: String) { createRole(name: $n, parent: $p) }",
                       {"n": roles[role], "p": roles[parent] if parent else None})
    return roles


async def _profile(api: Api, name: str, rights: dict[str, list[str]]) -> None:
    await admin_do(api, "($n: String!) { createProfile(name: $n) }", {"n": name})
    for module, actions in rights.items():
        await admin_do(api, "($p: String!, $m: String!, $a: [String!]!) { "
                            "setModuleRights(profile: $p, module: $m, actions: $a) }",
                       {"p": name, "m": module, "a": actions})


async def field_access(api: Api, profile: str, module: str, name: str, access: str) -> None:
    await admin_do(api, "($p: String!, $m: String!, $f: String!, $a: String!) { "
                        "setFieldAccess(profile: $p, module: $m, field: $f, access: $a) }",
                   {"p": profile, "m": module, "f": name, "a": access})


async def _custom_module(api: Api, suffix: str) -> dict[str, str]:
    """A private custom module with a custom currency field and a reference to Deal."""
    created = await admin_do(api, "($l: String!, $n: String!) { createModule(data: "
                                  "{label: $l, name: $n}) { name plural listField singleField } }",
                             {"l": f"Project {suffix}", "n": f"Project{suffix}"})
    name = created["name"]
    reverse = f"projects{suffix}"
    for data in ({"label": "Budget", "name": "budget", "type": "currency"},
                 {"label": "Deal", "name": "deal", "type": "reference", "targets": ["Deal"],
                  "reverseName": reverse}):
        await admin_do(api, "($m: String!, $d: FieldInput!) { createField(module: $m, "
                            "data: $d) { name } }", {"m": name, "d": data})
    return {"project": name, "project_plural": created["plural"],
            "projects": created["listField"], "single_project": created["singleField"],
            "reverse": reverse}


async def _sharing(api: Api, org: Org) -> None:
    rules = [
        {"module": "Deal", "ownerKind": "role", "owner": org.roles["Sales East"],
         "sharedKind": "role", "sharedWith": org.roles["Sales West"], "access": "read"},
        {"module": "Deal", "ownerKind": "group", "owner": org.group,
         "sharedKind": "role", "sharedWith": org.roles["Sales Manager"],
         "access": "read_write"},
    ]
    for rule in rules:
        await admin_do(api, "($d: SharingRuleInput!) { createSharingRule(data: $d) }",
                       {"d": rule})


async def member(api: Api, key: str, role: str | None) -> Member:
    """A new user with this role (a role name), signed in on a client of their own."""
    email = f"{key}.{uuid.uuid4().hex[:6]}@matrix.test"
    user = await admin_do(api, "($d: UserInput!) { createUser(data: $d) { id } }",
                          {"d": {"email": email, "name": key.title(), "password": PASSWORD,
                                 "role": role}})
    client = httpx.AsyncClient(transport=api.client._transport, base_url="http://test")
    token = await sign_in(client, email, PASSWORD)
    client.headers["Authorization"] = f"Bearer {token}"
    return Member(key, email, user["id"], Api(client, api.runtime))


@pytest.fixture(scope="session")
async def org(api: Api) -> AsyncIterator[Org]:
    """The organisation of the module docstring, made once through the GraphQL API."""
    suffix = uuid.uuid4().hex[:6]
    roles = await _roles(api, suffix)
    profiles = {p: f"{p} {suffix}" for p in ("Manager", "Rep", "Support")}
    custom = await _custom_module(api, suffix)
    project_rights = {custom["project"]: FULL}
    await _profile(api, profiles["Manager"], {**MANAGER_RIGHTS, **project_rights})
    await _profile(api, profiles["Rep"], {**REP_RIGHTS, **project_rights})
    await _profile(api, profiles["Support"], SUPPORT_RIGHTS)
    rep = profiles["Rep"]
    await field_access(api, rep, "Deal", "nextStep", "hidden")
    await field_access(api, rep, custom["project"], "budget", "hidden")
    await field_access(api, rep, "Contact", "account", "hidden")
    await field_access(api, rep, "Account", "annualRevenue", "read_only")
    for role, profile in (("Director", "Manager"), ("Sales Manager", "Manager"),
                          ("Sales East", "Rep"), ("Sales West", "Rep"),
                          ("Support", "Support")):
        await admin_do(api, "($r: String!, $p: [String!]!) { setRoleProfiles(role: $r, "
                            "profiles: $p) }", {"r": roles[role], "p": [profiles[profile]]})
    # The custom module gets no default: a module without one is private.
    for module, access in DEFAULTS.items():
        await admin_do(api, "($m: String!, $a: String!) { setModuleDefault(module: $m, "
                            "access: $a) }", {"m": module, "a": access})

    group = f"Key accounts {suffix}"
    group_id = await admin_do(api, "($n: String!) { createGroup(name: $n) }", {"n": group})
    org = Org(suffix, roles, profiles, group, group_id, project=custom["project"],
              project_plural=custom["project_plural"], projects=custom["projects"],
              single_project=custom["single_project"], reverse=custom["reverse"])
    for key, role in PEOPLE:
        org.people[key] = await member(api, key, roles[role])
    await admin_do(api, "($g: String!, $m: String!) { addGroupMember(group: $g, kind: "
                        '"user", member: $m) }', {"g": group, "m": org["east"].email})
    await _sharing(api, org)
    me = await api.query("{ me { id } }")
    org.people["admin"] = Member("admin", ADMIN_EMAIL, me["me"]["id"], api)
    yield org
    for person in org.people.values():
        if person.key != "admin":
            await person.api.client.aclose()


DEAL_OWNERS = ("director", "manager", "east", "east2", "west", "group")
PROJECT_OWNERS = ("east", "west")


@dataclass
class World:
    """The records of one test, all made by the administrator, keyed by owner."""

    acme: str
    westwind: str
    deals: dict[str, str]
    amounts: dict[str, str]
    comments: dict[str, str]
    carol: str
    projects: dict[str, str]


def owner_id(org: Org, key: str) -> str:
    return org.group_id if key == "group" else org[key].id


async def create_many(api: Api, module: str, plural: str, rows: list[dict[str, Any]]
                      ) -> list[str]:
    created = await admin_do(api, f"($d: [{module}CreateInput!]!) {{ create{plural}(data: $d) "
                                  "{ id } }", {"d": rows})
    return [row["id"] for row in created]


@pytest.fixture
async def world(api: Api, org: Org) -> World:
    """Acme (the director's, public read) holding one deal per owner, each with a comment,
    all linked to the contact Carol; Westwind (the West rep's account); a project each
    for the East and West reps, on their own deals."""
    acme, westwind = await create_many(api, "Account", "Accounts", [
        {"name": "Acme", "ownerId": org["director"].id},
        {"name": "Westwind", "ownerId": org["west"].id,
         "annualRevenue": {"amount": "5000000.00", "currency": "EUR"}},
    ])
    amounts = {key: f"{1001 + i}.00" for i, key in enumerate(DEAL_OWNERS)}
    ids = await create_many(api, "Deal", "Deals", [
        {"name": f"{key} deal", "stage": "Proposal", "accountId": acme,
         "amount": {"amount": amounts[key], "currency": "EUR"},
         "nextStep": f"{key} next step", "ownerId": owner_id(org, key)}
        for key in DEAL_OWNERS])
    deals = dict(zip(DEAL_OWNERS, ids, strict=True))
    comments = await create_many(api, "Comment", "Comments", [
        {"body": f"note on the {key} deal", "relatedTo": {"module": "Deal", "id": deals[key]}}
        for key in DEAL_OWNERS])
    (carol,) = await create_many(api, "Contact", "Contacts", [
        {"lastName": "Carol", "accountId": acme, "ownerId": org["director"].id}])
    await admin_do(api, "($id: ID!, $ids: [ID!]!) { linkContactDeals(id: $id, ids: $ids) "
                        "{ id } }", {"id": carol, "ids": ids})
    projects = await create_many(api, org.project, org.project_plural, [
        {"name": f"{key} project", "dealId": deals[key], "ownerId": org[key].id,
         "budget": {"amount": "300.00", "currency": "EUR"}} for key in PROJECT_OWNERS])
    return World(acme, westwind, deals, amounts,
                 dict(zip(DEAL_OWNERS, comments, strict=True)), carol,
                 dict(zip(PROJECT_OWNERS, projects, strict=True)))
