"""Managing users and rights, and changing the data model, are for administrators only;
bad input to the management API is refused naming the argument at fault.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.access.conftest import PASSWORD, Org, World, admin_do, field_access
from tests.conftest import Api, sign_in


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


# -- the management API refuses everyone but administrators ---------------------------

# Each would widen the caller's own rights, or another's, if it went through.
MANAGEMENT = {
    "createUser (an administrator)": 'mutation { createUser(data: {email: "%(email)s", '
                                     'name: "Mallory", password: "%(password)s", '
                                     "isAdmin: true}) { id } }",
    "createRole": 'mutation { createRole(name: "%(name)s") }',
    "createProfile": 'mutation { createProfile(name: "%(name)s") }',
    "setRoleProfiles (own role, a wider profile)": 'mutation { setRoleProfiles(role: '
                                                   '"%(role)s", profiles: ["%(wide)s"]) }',
    "setModuleRights (own profile)": 'mutation { setModuleRights(profile: "%(rep)s", '
                                     'module: "Account", actions: ["view", "create", "edit", '
                                     '"delete", "import", "export"]) }',
    "setFieldAccess (unhide)": 'mutation { setFieldAccess(profile: "%(rep)s", module: "Deal", '
                               'field: "nextStep", access: "read_write") }',
    "setModuleDefault": 'mutation { setModuleDefault(module: "Deal", '
                        'access: "public_read_write") }',
    "createGroup": 'mutation { createGroup(name: "%(name)s") }',
    "addGroupMember (self)": 'mutation { addGroupMember(group: "%(group)s", kind: "user", '
                             'member: "%(self)s") }',
    "createSharingRule": 'mutation { createSharingRule(data: {module: "Deal", ownerKind: '
                         '"role", owner: "%(manager)s", sharedKind: "user", sharedWith: '
                         '"%(self)s", access: "read_write"}) }',
    "deleteSharingRule": 'mutation { deleteSharingRule(id: "%(nobody)s") }',
    "createApiKey for another user": 'mutation { createApiKey(name: "k", userEmail: '
                                     '"%(manager_email)s") { key } }',
    "users": "{ users { email } }",
}


async def rights_of(org: Org, person: str, world: World) -> Any:
    """What a person sees of deals and accounts, hidden fields included."""
    body = (await org[person].api.raw("""{ deals(orderBy: [{name: AscNullsLast}]) {
        edges { node { name nextStep } } } accounts { totalCount } }""")).json()
    return body


async def access_tables(api: Api) -> list[Any]:
    async with api.engine.connect() as conn:
        counts = []
        for table in ("dg_users", "dg_roles", "dg_profiles", "dg_profile_modules",
                      "dg_profile_fields", "dg_role_profiles", "dg_module_defaults",
                      "dg_groups", "dg_group_members", "dg_sharing_rules", "dg_tokens"):
            found = await conn.exec_driver_sql(f"SELECT count(*) FROM {table}")
            counts.append((table, found.scalar_one()))
        return counts


@pytest.mark.parametrize("person", ["manager", "east"])
@pytest.mark.parametrize("operation", list(MANAGEMENT.values()), ids=list(MANAGEMENT))
async def test_managing_users_and_rights_is_for_administrators_only(
    api: Api, org: Org, world: World, person: str, operation: str
) -> None:
    # given the access tables, and what the person may see, as they are
    before = (await access_tables(api), await rights_of(org, person, world))
    text = operation % {
        "email": f"mallory.{org.suffix}@matrix.test", "password": PASSWORD,
        "name": unique("Mine"), "role": org.roles["Sales East"], "wide": org.profiles["Manager"],
        "rep": org.profiles["Rep"], "group": org.group, "self": org[person].email,
        "manager": org.roles["Sales Manager"], "nobody": str(uuid.uuid4()),
        "manager_email": org["manager"].email}

    # when a person who is no administrator tries it
    errors = await org[person].api.errors(text)

    # then it is FORBIDDEN and neither the tables nor their rights changed
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert (await access_tables(api), await rights_of(org, person, world)) == before


async def test_an_api_key_is_revoked_by_its_owner_only(api: Api, org: Org) -> None:
    # given an API key of the manager's
    key = await org["manager"].api.query('mutation { createApiKey(name: "sync") { id key } }')
    ident, secret = key["createApiKey"]["id"], key["createApiKey"]["key"]

    # when a rep revokes it
    revoked = await org["east"].api.query("mutation($id: ID!) { revokeApiKey(id: $id) }",
                                          {"id": ident})

    # then nothing is revoked and the key still works
    assert revoked == {"revokeApiKey": False}
    still = await api.client.post("/graphql", json={"query": "{ me { email } }"},
                                  headers={"Authorization": f"Bearer {secret}"})
    assert still.json()["data"]["me"]["email"] == org["manager"].email


# -- the data model is changed by administrators only ---------------------------------

METADATA = {
    "createModule": 'mutation { createModule(data: {label: "Mine"}) { name } }',
    "updateModule": 'mutation { updateModule(name: "Deal", data: {label: "Mine"}) { name } }',
    "deleteModule": 'mutation { deleteModule(name: "%(project)s") { version } }',
    "restoreModule": 'mutation { restoreModule(name: "%(project)s") { name } }',
    "purgeModule": 'mutation { purgeModule(name: "%(project)s") { version } }',
    "createField": 'mutation { createField(module: "Deal", data: {label: "Mine", '
                   'type: "text"}) { name } }',
    "updateField": 'mutation { updateField(module: "Deal", name: "nextStep", data: '
                   '{label: "Mine"}) { name } }',
    "deleteField": 'mutation { deleteField(module: "Deal", name: "nextStep") { version } }',
    "restoreField": 'mutation { restoreField(module: "Deal", name: "nextStep") { name } }',
    "purgeField": 'mutation { purgeField(module: "Deal", name: "nextStep") { version } }',
    "convertField (dry run)": 'mutation { convertField(module: "Deal", name: "nextStep", '
                              'type: "longtext") { total } }',
    "convertField": 'mutation { convertField(module: "Deal", name: "nextStep", '
                    'type: "longtext", dryRun: false) { total } }',
    "createRelation": 'mutation { createRelation(data: {left: "Deal", right: "Account", '
                      'leftName: "mine", rightName: "mine"}) { name } }',
    "deleteRelation": 'mutation { deleteRelation(name: "contactDeals") { version } }',
    "restoreRelation": 'mutation { restoreRelation(name: "contactDeals") { version } }',
    "addPicklistValues": 'mutation { addPicklistValues(module: "Deal", field: "stage", '
                         'values: ["Mine"]) { name } }',
    "renamePicklistValue": 'mutation { renamePicklistValue(module: "Deal", field: "stage", '
                           'value: "Proposal", newValue: "Mine") { name } }',
    "reorderPicklistValues": 'mutation { reorderPicklistValues(module: "Deal", field: '
                             '"stage", values: ["Proposal"]) { name } }',
    "removePicklistValue": 'mutation { removePicklistValue(module: "Deal", field: "stage", '
                           'value: "Proposal") { records } }',
    "removePicklistValue (dry run)": 'mutation { removePicklistValue(module: "Deal", field: '
                                     '"stage", value: "Proposal", dryRun: true) { records } }',
}


@pytest.mark.parametrize("operation", list(METADATA.values()), ids=list(METADATA))
async def test_metadata_mutations_are_for_administrators_only(
    api: Api, org: Org, world: World, operation: str
) -> None:
    # given the data model's version and the deals' stages
    query = "{ metadataVersion deals { edges { node { stage } } } }"
    before = await api.query(query)

    # when the manager, the highest person who is no administrator, tries a change
    errors = await org["manager"].api.errors(operation % {"project": org.project})

    # then it is FORBIDDEN and the data model, and the data, are as they were
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert await api.query(query) == before


# -- bad input -------------------------------------------------------------------------

BAD_INPUT = {
    "a role under an unknown parent": (
        'mutation { createRole(name: "%(new)s", parent: "No such role") }', "parent"),
    "profiles for an unknown role": (
        'mutation { setRoleProfiles(role: "No such role", profiles: []) }', "role"),
    "an unknown profile for a role": (
        'mutation { setRoleProfiles(role: "%(role)s", profiles: ["No such profile"]) }',
        "profile"),
    "an unknown action": (
        'mutation { setModuleRights(profile: "%(profile)s", module: "Deal", '
        'actions: ["view", "fly"]) }', "actions"),
    "rights on an unknown module": (
        'mutation { setModuleRights(profile: "%(profile)s", module: "deal", '
        'actions: ["view"]) }', "module"),
    "an unknown field access level": (
        'mutation { setFieldAccess(profile: "%(profile)s", module: "Deal", field: "amount", '
        'access: "secret") }', "access"),
    "access to a field of an unknown module": (
        'mutation { setFieldAccess(profile: "%(profile)s", module: "Dael", field: "amount", '
        'access: "hidden") }', "module"),
    "access to an unknown field": (
        'mutation { setFieldAccess(profile: "%(profile)s", module: "Deal", field: "nextstep", '
        'access: "hidden") }', "field"),
    "an unknown default": (
        'mutation { setModuleDefault(module: "Deal", access: "open") }', "access"),
    "a default for an unknown module": (
        'mutation { setModuleDefault(module: "Deals", access: "private") }', "module"),
    "an unknown kind of group member": (
        'mutation { addGroupMember(group: "%(group)s", kind: "team", member: "x") }', "kind"),
    "an unknown user as a group member": (
        'mutation { addGroupMember(group: "%(group)s", kind: "user", '
        'member: "nobody@matrix.test") }', "member"),
    "a member for an unknown group": (
        'mutation { addGroupMember(group: "No such group", kind: "role", member: "%(role)s") }',
        "group"),
    "a sharing rule with an unknown owner kind": (
        'mutation { createSharingRule(data: {module: "Deal", ownerKind: "user", owner: "x", '
        'sharedKind: "role", sharedWith: "%(role)s", access: "read"}) }', "ownerKind"),
    "a sharing rule with an unknown access": (
        'mutation { createSharingRule(data: {module: "Deal", ownerKind: "role", owner: '
        '"%(role)s", sharedKind: "role", sharedWith: "%(role)s", access: "write"}) }',
        "access"),
    "a sharing rule on an unknown module": (
        'mutation { createSharingRule(data: {module: "Dael", ownerKind: "role", owner: '
        '"%(role)s", sharedKind: "role", sharedWith: "%(role)s", access: "read"}) }',
        "module"),
    "a user with a bad email": (
        'mutation { createUser(data: {email: "not-an-email", name: "X", '
        'password: "%(password)s"}) { id } }', "email"),
    "a user with a short password": (
        'mutation { createUser(data: {email: "%(email)s", name: "X", password: "short"}) '
        "{ id } }", "password"),
    "a user in an unknown time zone": (
        'mutation { createUser(data: {email: "%(email)s", name: "X", password: '
        '"%(password)s", timeZone: "Mars/Olympus"}) { id } }', "timeZone"),
    "a user with an unknown role": (
        'mutation { createUser(data: {email: "%(email)s", name: "X", password: '
        '"%(password)s", role: "No such role"}) { id } }', "role"),
}


@pytest.mark.parametrize(("operation", "argument"), list(BAD_INPUT.values()),
                         ids=list(BAD_INPUT))
async def test_bad_management_input_is_refused_naming_the_argument(
    api: Api, org: Org, operation: str, argument: str
) -> None:
    # given the access tables as they are
    before = await access_tables(api)
    text = operation % {"new": unique("Role"), "role": org.roles["Sales East"],
                        "profile": org.profiles["Rep"], "group": org.group,
                        "password": PASSWORD, "email": f"{unique('x').replace(' ', '.')}@t.test"}

    # when an administrator sends it
    errors = await api.errors(text)

    # then it is BAD_USER_INPUT naming the argument, and nothing was stored
    assert [(e["extensions"]["code"], e["extensions"].get("field")) for e in errors] == [
        ("BAD_USER_INPUT", argument)]
    assert await access_tables(api) == before


DUPLICATES = {
    "role": "createRole(name: $n)",
    "profile": "createProfile(name: $n)",
    "group": "createGroup(name: $n)",
}


@pytest.mark.parametrize("make", list(DUPLICATES.values()), ids=list(DUPLICATES))
async def test_names_are_unique(api: Api, make: str) -> None:
    name = unique("Twice")
    await api.query(f"mutation($n: String!) {{ {make} }}", {"n": name})
    errors = await api.errors(f"mutation($n: String!) {{ {make} }}", {"n": name})
    assert errors[0]["extensions"]["code"] == "CONFLICT"


async def test_a_user_email_is_unique_in_any_case(api: Api, org: Org) -> None:
    errors = await api.errors('mutation($e: String!, $p: String!) { createUser(data: '
                              '{email: $e, name: "Again", password: $p}) { id } }',
                              {"e": org["east"].email.upper(), "p": PASSWORD})
    assert (errors[0]["extensions"]["code"], errors[0]["extensions"]["field"]) == (
        "CONFLICT", "email")


async def test_passwords_are_stored_as_argon2_hashes(api: Api, org: Org) -> None:
    async with api.engine.connect() as conn:
        stored = (await conn.exec_driver_sql("SELECT password_hash FROM dg_users WHERE id = $1",
                                             (org["east"].id,))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_a_user_keeps_their_time_zone_locale_and_role(api: Api, org: Org) -> None:
    data = await api.query('mutation($e: String!, $p: String!, $r: String) { createUser(data: '
                           '{email: $e, name: "Zoe", password: $p, role: $r, '
                           'timeZone: "Europe/Zurich", locale: "de-CH"}) '
                           "{ timeZone locale role active isAdmin } }",
                           {"e": f"zoe.{uuid.uuid4().hex[:6]}@matrix.test", "p": PASSWORD,
                            "r": org.roles["Support"]})
    assert data["createUser"] == {"timeZone": "Europe/Zurich", "locale": "de-CH",
                                  "role": org.roles["Support"], "active": True,
                                  "isAdmin": False}


# -- rights follow the data model ------------------------------------------------------


async def test_a_hidden_field_stays_hidden_when_it_is_renamed(
    api: Api, org: Org, world: World
) -> None:
    # given a custom field hidden from the reps, on a project of the East rep's
    name = f"secret{uuid.uuid4().hex[:6]}"
    await admin_do(api, "($m: String!, $d: FieldInput!) { createField(module: $m, data: $d) "
                        "{ name } }", {"m": org.project,
                                       "d": {"label": "Secret", "name": name, "type": "text"}})
    await field_access(api, org.profiles["Rep"], org.project, name, "hidden")
    await admin_do(api, f"($id: ID!) {{ update{org.project}(id: $id, data: {{{name}: "
                        '"the code"}) { id } }', {"id": world.projects["east"]})

    # when an administrator renames it
    await admin_do(api, "($m: String!, $n: String!, $d: FieldChangeInput!) { updateField("
                        "module: $m, name: $n, data: $d) { name } }",
                   {"m": org.project, "n": name, "d": {"name": f"{name}Renamed"}})

    # then the East rep still cannot read it
    body = (await org["east"].api.raw(f"query($id: ID!) {{ {org.single_project}(id: $id) "
                                      f"{{ {name}Renamed }} }}",
                                      {"id": world.projects["east"]})).json()
    assert "the code" not in str(body)


async def test_a_new_module_is_closed_until_a_profile_grants_it(api: Api, org: Org) -> None:
    # given a module created after the reps' rights were computed
    await org["east"].api.query("{ deals { totalCount } }")
    made = await admin_do(api, "($l: String!) { createModule(data: {label: $l}) "
                               "{ name listField } }", {"l": unique("Late module")})

    # when the East rep lists it
    body = (await org["east"].api.raw(f"{{ {made['listField']} {{ totalCount }} }}")).json()

    # then it is FORBIDDEN: no profile grants it
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}

    # and once their profile grants it, it opens on the next request
    await admin_do(api, '($p: String!, $m: String!) { setModuleRights(profile: $p, module: $m, '
                        'actions: ["view"]) }', {"p": org.profiles["Rep"], "m": made["name"]})
    opened = await org["east"].api.query(f"{{ {made['listField']} {{ totalCount }} }}")
    assert opened[made["listField"]]["totalCount"] == 0


async def test_the_first_administrator_can_make_another(api: Api) -> None:
    # when an administrator makes an administrator
    email = f"second.{uuid.uuid4().hex[:6]}@matrix.test"
    await admin_do(api, '($e: String!, $p: String!) { createUser(data: {email: $e, name: '
                        '"Second", password: $p, isAdmin: true}) { id } }',
                   {"e": email, "p": PASSWORD})
    # then the new administrator manages rights
    token = await sign_in(api.client, email, PASSWORD)
    response = await api.client.post("/graphql", json={"query": "{ users { email } }"},
                                      headers={"Authorization": f"Bearer {token}"})
    assert email in {u["email"] for u in response.json()["data"]["users"]}
