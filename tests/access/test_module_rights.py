"""Module rights and organisation-wide defaults.

A module a profile grants no view of is FORBIDDEN as a list and absent everywhere
else; each other action (create, edit, delete) is checked on its own. Accounts are
public read: everyone reads every account and changes only what the role tree lets
them. Contacts are public read-write.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.access.conftest import (
    DEAL_OWNERS,
    PASSWORD,
    Member,
    Org,
    World,
    admin_do,
    member,
)
from tests.conftest import Api


def codes(body: dict[str, Any]) -> set[str]:
    return {e["extensions"]["code"] for e in body.get("errors", [])}


# -- a module the profile does not grant -----------------------------------------------


async def test_a_module_without_the_view_right_is_forbidden_as_a_list_and_absent_elsewhere(
    org: Org, world: World
) -> None:
    support = org["support"].api

    # when Support, whose profile grants nothing on deals, reads them every way
    listing = (await support.raw("{ deals { totalCount } }")).json()
    nested = (await support.raw("query($id: ID!) { account(id: $id) { name "
                                "deals { totalCount } } }", {"id": world.acme})).json()
    custom = (await support.raw(f"{{ {org.projects} {{ totalCount }} }}")).json()

    # then lists are FORBIDDEN, nulling only themselves
    assert (listing["data"], codes(listing)) == ({"deals": None}, {"FORBIDDEN"})
    assert nested["data"] == {"account": {"name": "Acme", "deals": None}}
    assert (custom["data"], codes(custom)) == ({org.projects: None}, {"FORBIDDEN"})

    # and single records, nodes, polymorphic references and relation filters find nothing
    for owner in DEAL_OWNERS:
        found = await support.query(
            "query($d: ID!, $c: ID!, $a: Decimal!) { deal(id: $d) { id } node(id: $d) { id } "
            "comment(id: $c) { relatedTo { id } } accounts(filter: {deals: {some: {amount: "
            "{amount: {eq: $a}}}}}) { totalCount } }",
            {"d": world.deals[owner], "c": world.comments[owner], "a": world.amounts[owner]})
        assert found == {"deal": None, "node": None, "comment": {"relatedTo": None},
                         "accounts": {"totalCount": 0}}


async def test_a_module_without_the_view_right_is_left_out_of_the_metadata(org: Org) -> None:
    data = await org["support"].api.query('{ modules { name } module(name: "Deal") { name } }')
    assert data["module"] is None
    assert {m["name"] for m in data["modules"]} >= {"Account", "Comment"}
    assert not {m["name"] for m in data["modules"]} & {"Deal", "Contact", org.project}


MUTATIONS_WITHOUT_RIGHTS = {
    "createDeal": 'mutation { createDeal(data: {name: "x", stage: "Proposal"}) { id } }',
    "updateDeal": 'mutation { updateDeal(id: "%(deal)s", data: {name: "x"}) { id } }',
    "updateDeals": 'mutation { updateDeals(filter: {name: {eq: "east deal"}}, '
                   'data: {name: "x"}) { id } }',
    "deleteDeal": 'mutation { deleteDeal(id: "%(deal)s") { id } }',
    "restoreDeal": 'mutation { restoreDeal(id: "%(deal)s") { id } }',
    "destroyDeal": 'mutation { destroyDeal(id: "%(deal)s") }',
    "linkDealContacts": 'mutation { linkDealContacts(id: "%(deal)s", ids: ["%(carol)s"]) '
                        "{ id } }",
    "createComment": 'mutation { createComment(data: {body: "x", relatedTo: {module: '
                     '"Account", id: "%(acme)s"}}) { id } }',
    "updateAccount": 'mutation { updateAccount(id: "%(acme)s", data: {name: "x"}) { id } }',
}


async def everything(api: Api, world: World) -> Any:
    return await api.query("""query($d: ID!) { deals(includeDeleted: true) { totalCount
        edges { node { name version deletedAt contacts { totalCount } } } }
        deal(id: $d) { comments { totalCount } }
        accounts { edges { node { name version } } } }""", {"d": world.deals["east"]})


@pytest.mark.parametrize("operation", list(MUTATIONS_WITHOUT_RIGHTS.values()),
                         ids=list(MUTATIONS_WITHOUT_RIGHTS))
async def test_a_mutation_the_profile_does_not_grant_is_forbidden_and_changes_nothing(
    org: Org, world: World, operation: str
) -> None:
    # given every deal and account as they are
    before = await everything(org["admin"].api, world)

    # when Support tries a change its profile does not grant
    text = operation % {"deal": world.deals["east"], "carol": world.carol, "acme": world.acme}
    errors = await org["support"].api.errors(text)

    # then it is FORBIDDEN and nothing changed
    assert {e["extensions"]["code"] for e in errors} == {"FORBIDDEN"}
    assert await everything(org["admin"].api, world) == before


@pytest.mark.parametrize("verb", ["delete", "restore", "destroy"])
async def test_each_action_is_its_own_right(org: Org, world: World, verb: str) -> None:
    # given the West rep's own account; reps may view, create and edit accounts, not delete
    if verb == "restore":
        await admin_do(org["admin"].api, "($id: ID!) { deleteAccount(id: $id) { id } }",
                       {"id": world.westwind})
    selection = "" if verb == "destroy" else " { id }"

    # when they delete, restore or destroy it
    errors = await org["west"].api.errors(f"mutation($id: ID!) {{ {verb}Account(id: $id)"
                                          f"{selection} }}", {"id": world.westwind})

    # then it is FORBIDDEN however much the record is theirs
    assert errors[0]["extensions"] == {"code": "FORBIDDEN", "field": "Account"}
    found = await org["admin"].api.query("query($id: ID!) { accounts(includeDeleted: true, "
                                         "filter: {id: {eq: $id}}) { totalCount } }",
                                         {"id": world.westwind})
    assert found["accounts"]["totalCount"] == 1


# -- organisation-wide defaults --------------------------------------------------------

# Accounts are public read: everyone reads both; who changes them follows the role tree.
ACCOUNTS = {
    # person: (Acme, the director's; Westwind, the West rep's)
    "director": ("done", "done"),
    "manager": ("FORBIDDEN", "done"),
    "east": ("FORBIDDEN", "FORBIDDEN"),
    "east2": ("FORBIDDEN", "FORBIDDEN"),
    "west": ("FORBIDDEN", "done"),
    "support": ("FORBIDDEN", "FORBIDDEN"),
}


@pytest.mark.parametrize("person", list(ACCOUNTS))
async def test_a_public_read_module_is_read_by_all_and_changed_as_the_role_tree_says(
    org: Org, world: World, person: str
) -> None:
    api = org[person].api

    # when a person lists the accounts and renames each
    listing = await api.query("{ accounts { totalCount } }")
    outcomes = []
    for ident in (world.acme, world.westwind):
        body = (await api.raw("mutation($id: ID!) { updateAccount(id: $id, data: "
                              '{name: "renamed"}) { id } }', {"id": ident})).json()
        outcomes.append(codes(body).pop() if body.get("errors") else "done")

    # then they read both, and change only those the table grants
    assert listing["accounts"]["totalCount"] == 2
    assert tuple(outcomes) == ACCOUNTS[person]


async def test_a_public_read_write_module_is_changed_by_anyone_with_the_edit_right(
    org: Org, world: World
) -> None:
    # when the East2 rep, far from the director, renames the director's contact
    data = await org["east2"].api.query("mutation($id: ID!) { updateContact(id: $id, data: "
                                        '{title: "Buyer"}) { title } }', {"id": world.carol})

    # then it is changed: the module is public read-write
    assert data["updateContact"] == {"title": "Buyer"}


# -- rights that make no sense alone ----------------------------------------------------


@pytest.fixture(scope="module")
async def blind(api: Api, org: Org) -> AsyncIterator[Member]:
    """A person whose profile grants edit and delete on contacts, but not view."""
    name = f"Blind {uuid.uuid4().hex[:6]}"
    await admin_do(api, "($n: String!) { createRole(name: $n) }", {"n": name})
    await admin_do(api, "($n: String!) { createProfile(name: $n) }", {"n": name})
    await admin_do(api, '($n: String!) { setModuleRights(profile: $n, module: "Contact", '
                        'actions: ["edit", "delete"]) }', {"n": name})
    await admin_do(api, "($n: String!) { setRoleProfiles(role: $n, profiles: [$n]) }",
                   {"n": name})
    found = await member(api, "blind", name)
    yield found
    await found.api.client.aclose()


BLIND_WRITES = {
    "update": ('mutation { updateContact(id: "%s", data: {title: "x"}) { id lastName } }',
               "NOT_FOUND"),
    "update many": ('mutation { updateContacts(filter: {id: {eq: "%s"}}, data: {title: "x"}) '
                    "{ id lastName } }", None),
    "delete": ('mutation { deleteContact(id: "%s") { id lastName } }', "NOT_FOUND"),
}


@pytest.mark.parametrize(("operation", "code"), list(BLIND_WRITES.values()),
                         ids=list(BLIND_WRITES))
async def test_edit_without_view_reaches_no_record(
    org: Org, world: World, blind: Member, operation: str, code: str | None
) -> None:
    # given Carol, a contact of a public read-write module
    before = await org["admin"].api.query("{ contacts(includeDeleted: true) { edges { node "
                                          "{ title version deletedAt } } } }")

    # when someone who may edit contacts, but not view them, changes her
    body = (await blind.api.raw(operation % world.carol)).json()

    # then no record is found (an update-many by filter would otherwise let them probe
    # and read records they may not view), and nothing changed
    assert "Carol" not in str(body)
    if code is None:
        assert body["data"] == {"updateContacts": []}
    else:
        assert codes(body) == {code}
    after = await org["admin"].api.query("{ contacts(includeDeleted: true) { edges { node "
                                         "{ title version deletedAt } } } }")
    assert after == before


async def test_a_person_without_a_role_has_no_rights(api: Api, org: Org) -> None:
    # given a new user who was given no role
    rootless = await member(api, "rootless", None)

    # when they read accounts, which everyone with a role may read
    body = (await rootless.api.raw("{ accounts { totalCount } }")).json()
    await rootless.api.client.aclose()

    # then it is FORBIDDEN: rights come from a role's profiles only
    assert codes(body) == {"FORBIDDEN"}
    assert PASSWORD not in str(body)
