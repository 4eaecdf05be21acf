"""Administrators list and change the access directory: users, roles, profiles, groups, rules."""

from __future__ import annotations

import uuid

from tests.conftest import Api, sign_in


def tag() -> str:
    return uuid.uuid4().hex[:6]


async def test_the_directory_lists_what_was_set_up(api: Api) -> None:
    t = tag()
    await api.query(f"""mutation {{
        a: createRole(name: "Boss {t}") b: createRole(name: "Staff {t}", parent: "Boss {t}")
        c: createProfile(name: "P {t}")
        d: setModuleRights(profile: "P {t}", module: "Deal", actions: ["view", "edit"])
        e: setFieldAccess(profile: "P {t}", module: "Deal", field: "nextStep", access: "hidden")
        f: setRoleProfiles(role: "Staff {t}", profiles: ["P {t}"])
        g: createGroup(name: "G {t}") h: addGroupMember(group: "G {t}", kind: "role",
                                                         member: "Staff {t}")
        i: createSharingRule(data: {{module: "Deal", ownerKind: "role", owner: "Staff {t}",
            sharedKind: "group", sharedWith: "G {t}", access: "read"}}) }}""")
    found = await api.query("""{ roles { name parent profiles }
        profiles { name modules { module actions } fields { module field access } }
        groups { name members { kind name } }
        sharingRules { module ownerKind owner sharedKind sharedWith access } }""")
    assert {"name": f"Staff {t}", "parent": f"Boss {t}", "profiles": [f"P {t}"]} in found["roles"]
    assert {"name": f"P {t}", "modules": [{"module": "Deal", "actions": ["view", "edit"]}],
            "fields": [{"module": "Deal", "field": "nextStep", "access": "hidden"}]} \
        in found["profiles"]
    assert {"name": f"G {t}", "members": [{"kind": "role", "name": f"Staff {t}"}]} \
        in found["groups"]
    assert {"module": "Deal", "ownerKind": "role", "owner": f"Staff {t}", "sharedKind": "group",
            "sharedWith": f"G {t}", "access": "read"} in found["sharingRules"]


async def test_deactivating_a_user_ends_their_sessions(api: Api) -> None:
    email = f"leaver{tag()}@test.defalto.local"
    await api.query('mutation($e: String!) { createUser(data: {email: $e, name: "Leaver", '
                    'password: "leaver-password"}) { id } }', {"e": email})
    token = await sign_in(api.client, email, "leaver-password")
    mine = {"Authorization": f"Bearer {token}"}
    assert (await api.raw("{ me { email } }", None, **mine)).status_code == 200
    changed = await api.query('mutation($e: String!) { updateUser(email: $e, data: '
                              '{active: false, name: "Gone"}) { name active } }', {"e": email})
    assert changed["updateUser"] == {"name": "Gone", "active": False}
    assert (await api.raw("{ me { email } }", None, **mine)).status_code == 401
    refused = await api.raw('mutation($e: String!) { login(email: $e, password: '
                            '"leaver-password") { token } }', {"e": email}, Authorization="")
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_removals_refuse_while_something_depends_on_them(api: Api) -> None:
    t = tag()
    await api.query(f'mutation {{ createRole(name: "Held {t}") createGroup(name: "Owner {t}") '
                    f'createProfile(name: "Gone {t}") }}')
    await api.query(f'mutation($e: String!) {{ createUser(data: {{email: $e, name: "U", '
                    f'password: "holder-password", role: "Held {t}"}}) {{ id }} }}',
                    {"e": f"holder{t}@test.defalto.local"})
    held = await api.errors(f'mutation {{ deleteRole(name: "Held {t}") }}')
    assert held[0]["extensions"]["code"] == "BAD_USER_INPUT"
    await api.query('mutation($e: String!) { updateUser(email: $e, data: {role: null}) '
                    "{ role } }", {"e": f"holder{t}@test.defalto.local"})
    await api.query(f'mutation {{ deleteRole(name: "Held {t}") deleteProfile(name: "Gone {t}") '
                    f'deleteGroup(name: "Owner {t}") }}')
    found = await api.query("{ roles { name } profiles { name } groups { name } }")
    names = {n["name"] for kind in found.values() for n in kind}
    assert not names & {f"Held {t}", f"Gone {t}", f"Owner {t}"}


async def test_a_group_that_owns_records_cannot_be_deleted(api: Api) -> None:
    t = tag()
    group = (await api.query(f'mutation {{ createGroup(name: "Team {t}") }}'))["createGroup"]
    await api.query('mutation($o: ID) { createAccount(data: {name: "A", ownerId: $o}) { id } }',
                    {"o": group})
    errors = await api.errors(f'mutation {{ deleteGroup(name: "Team {t}") }}')
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "owns 1 records" in errors[0]["message"]
