"""Field access: a hidden field is neither read, written, filtered nor sorted on; a
read-only field is read and filtered on but every write of it is FORBIDDEN, naming it.

The sales reps' profile hides Deal.nextStep, the custom field Project.budget and the
reference Contact.account, and makes Account.annualRevenue read-only; the manager's
profile leaves them all read-write.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.access.conftest import Org, World, admin_do, field_access, member
from tests.conftest import Api

# -- reading ---------------------------------------------------------------------------


async def test_a_hidden_field_reads_as_null_with_an_error_naming_it(org: Org, world: World
                                                                    ) -> None:
    # when the East rep reads their own deal with its hidden next step
    query = "query($id: ID!) { deal(id: $id) { name nextStep } }"
    body = (await org["east"].api.raw(query, {"id": world.deals["east"]})).json()

    # then the rest of the deal arrives, the hidden value does not, and the error says why
    assert body["data"] == {"deal": {"name": "east deal", "nextStep": None}}
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN", "field": "nextStep"}
    assert error["path"] == ["deal", "nextStep"]
    assert "east next step" not in str(body)

    # while their manager, whose profile does not hide it, reads the value
    seen = await org["manager"].api.query(query, {"id": world.deals["east"]})
    assert seen["deal"]["nextStep"] == "east next step"


async def test_hidden_fields_are_left_out_of_the_metadata_a_rep_sees(org: Org) -> None:
    query = "query($m: String!) { module(name: $m) { fields { name } } }"

    async def names(person: str, module: str) -> set[str]:
        found = await org[person].api.query(query, {"m": module})
        return {f["name"] for f in found["module"]["fields"]}

    assert "nextStep" not in await names("east", "Deal")
    assert "budget" not in await names("east", org.project)
    assert "account" not in await names("east", "Contact")
    assert "annualRevenue" in await names("east", "Account")
    assert "nextStep" in await names("manager", "Deal")


async def test_a_read_only_field_is_read_filtered_and_sorted_like_any_other(
    org: Org, world: World
) -> None:
    # when the West rep reads, filters and sorts on the read-only revenue
    data = await org["west"].api.query("""{ accounts(filter: {annualRevenue: {amount:
        {gt: "1000"}}}, orderBy: [{annualRevenue: DescNullsLast}]) {
        edges { node { name annualRevenue { amount } } } } }""")

    # then it answers as for anyone
    assert [e["node"] for e in data["accounts"]["edges"]] == [
        {"name": "Westwind", "annualRevenue": {"amount": "5000000.00"}}]


# -- every other use of a hidden field ---------------------------------------------------

DEAL = '{name: "Sneaky", stage: "Proposal", nextStep: "peek"}'
HIDDEN_DEAL_FIELD = {
    "filter": '{ deals(filter: {nextStep: {eq: "east next step"}}) { totalCount } }',
    "filter under or": '{ deals(filter: {or: [{name: {eq: "x"}}, {nextStep: {is: NULL}}]}) '
                       "{ totalCount } }",
    "filter under not": "{ deals(filter: {not: {nextStep: {is: NULL}}}) { totalCount } }",
    "filter through a one-to-many": '{ accounts(filter: {deals: {some: {nextStep: {eq: '
                                    '"east next step"}}}}) { totalCount } }',
    "filter through none": '{ accounts(filter: {deals: {none: {nextStep: {is: NOT_NULL}}}}) '
                           "{ totalCount } }",
    "filter through a many-to-many": '{ contacts(filter: {deals: {some: {nextStep: '
                                     '{startsWith: "east"}}}}) { totalCount } }',
    "filter through a many-to-one": '{ %(projects)s(filter: {deal: {nextStep: {eq: '
                                    '"east next step"}}}) { totalCount } }',
    "filter of a nested list": '{ accounts { edges { node { deals(filter: {nextStep: '
                               '{contains: "next"}}) { totalCount } } } } }',
    "sort": "{ deals(orderBy: [{nextStep: AscNullsLast}]) { totalCount } }",
    "sort of a nested list": "{ accounts { edges { node { deals(orderBy: [{nextStep: "
                             "DescNullsFirst}]) { totalCount } } } } }",
    "create": "mutation { createDeal(data: %(deal)s) { id } }",
    "create many": "mutation { createDeals(data: [%(deal)s]) { id } }",
    "update": 'mutation { updateDeal(id: "%(east)s", data: {nextStep: "peek"}) { id } }',
    "update many, in the data": 'mutation { updateDeals(filter: {name: {eq: "east deal"}}, '
                                'data: {nextStep: "peek"}) { id } }',
    "update many, in the filter": 'mutation { updateDeals(filter: {nextStep: {eq: '
                                  '"east next step"}}, data: {name: "peek"}) { id } }',
}


async def deal_state(api: Api) -> list[Any]:
    data = await api.query("{ deals(orderBy: [{name: AscNullsLast}]) { totalCount "
                           "edges { node { name nextStep version } } } }")
    return [data["deals"]["totalCount"], [e["node"] for e in data["deals"]["edges"]]]


@pytest.mark.parametrize("operation", list(HIDDEN_DEAL_FIELD.values()),
                         ids=list(HIDDEN_DEAL_FIELD))
async def test_every_other_use_of_a_hidden_field_is_forbidden_and_changes_nothing(
    org: Org, world: World, operation: str
) -> None:
    # given the deals as they are
    before = await deal_state(org["admin"].api)

    # when the East rep uses the next step they may not see
    text = operation % {"east": world.deals["east"], "projects": org.projects, "deal": DEAL}
    errors = await org["east"].api.errors(text)

    # then it is FORBIDDEN, naming the field, and no deal changed
    assert {(e["extensions"]["code"], e["extensions"]["field"]) for e in errors} == {
        ("FORBIDDEN", "nextStep")}
    assert await deal_state(org["admin"].api) == before


# -- a hidden custom field -------------------------------------------------------------

HIDDEN_CUSTOM_FIELD = {
    "read": '{ %(one)s(id: "%(id)s") { budget { amount } } }',
    "filter": "{ %(list)s(filter: {budget: {amount: {gt: 0}}}) { totalCount } }",
    "sort": "{ %(list)s(orderBy: [{budget: AscNullsLast}]) { totalCount } }",
    "create": 'mutation { create%(module)s(data: {name: "P", budget: {amount: "1", '
              'currency: "EUR"}}) { id } }',
    "update": 'mutation { update%(module)s(id: "%(id)s", data: {budget: {amount: "1", '
              'currency: "EUR"}}) { id } }',
}


@pytest.mark.parametrize("operation", list(HIDDEN_CUSTOM_FIELD.values()),
                         ids=list(HIDDEN_CUSTOM_FIELD))
async def test_a_custom_field_is_hidden_like_a_standard_one(
    org: Org, world: World, operation: str
) -> None:
    # when the East rep touches the budget of their own project
    text = operation % {"one": org.single_project, "list": org.projects,
                        "module": org.project, "id": world.projects["east"]}
    body = (await org["east"].api.raw(text)).json()

    # then it is FORBIDDEN, naming the field; the manager may do the same
    assert [e["extensions"] for e in body["errors"]] == [{"code": "FORBIDDEN",
                                                           "field": "budget"}]
    assert "300" not in str(body)
    await org["manager"].api.query(text)


# -- a hidden reference ----------------------------------------------------------------

HIDDEN_REFERENCE = {
    "its id": "query($c: ID!) { contact(id: $c) { accountId } }",
    "the record": "query($c: ID!) { contact(id: $c) { account { id } } }",
    "filter by id": "query($a: ID!) { contacts(filter: {accountId: {eq: $a}}) "
                    "{ totalCount } }",
    "filter through it": '{ contacts(filter: {account: {name: {eq: "Acme"}}}) '
                         "{ totalCount } }",
    "write it": "mutation($c: ID!, $a: ID!) { updateContact(id: $c, data: {accountId: $a}) "
                "{ id } }",
    "the reverse list": "query($a: ID!) { account(id: $a) { contacts "
                        "{ totalCount edges { node { id } } } } }",
    "filter through the reverse list": "query($c: ID!) { accounts(filter: "
                                       "{contacts: {some: {id: {eq: $c}}}}) { totalCount } }",
}


@pytest.mark.parametrize("operation", list(HIDDEN_REFERENCE.values()),
                         ids=list(HIDDEN_REFERENCE))
async def test_a_hidden_reference_cannot_be_followed_from_either_end(
    org: Org, world: World, operation: str
) -> None:
    # when a rep, from whom Contact.account is hidden, asks which account Carol is at
    given = {"c": world.carol, "a": world.acme}
    variables = {name: value for name, value in given.items() if f"${name}" in operation}
    errors = await org["west"].api.errors(operation, variables)

    # then each way of asking is FORBIDDEN (reading the reverse list, or filtering by
    # it, would tell the hidden value as surely as reading it)
    assert {e["extensions"]["code"] for e in errors} == {"FORBIDDEN"}
    assert errors[0]["extensions"]["field"] in ("account", "accountId", "contacts")


# -- a read-only field -----------------------------------------------------------------

REVENUE = '{amount: "1.00", currency: "EUR"}'
READ_ONLY_WRITES = {
    "update": 'mutation { updateAccount(id: "%(id)s", data: {annualRevenue: %(r)s}) { id } }',
    "update with other fields": 'mutation { updateAccount(id: "%(id)s", data: {name: "W", '
                                "annualRevenue: %(r)s}) { id } }",
    "update many": 'mutation { updateAccounts(filter: {id: {eq: "%(id)s"}}, data: '
                   "{annualRevenue: %(r)s}) { id } }",
    "create": 'mutation { createAccount(data: {name: "New", annualRevenue: %(r)s}) { id } }',
    "create many": 'mutation { createAccounts(data: [{name: "New", annualRevenue: %(r)s}]) '
                   "{ id } }",
}


async def account_state(api: Api) -> Any:
    return await api.query("{ accounts(orderBy: [{name: AscNullsLast}]) { totalCount edges "
                           "{ node { name annualRevenue { amount } version } } } }")


@pytest.mark.parametrize("operation", list(READ_ONLY_WRITES.values()),
                         ids=list(READ_ONLY_WRITES))
async def test_writing_a_read_only_field_is_forbidden_naming_it(
    org: Org, world: World, operation: str
) -> None:
    # given the West rep's own account, which they may otherwise change
    before = await account_state(org["admin"].api)
    text = operation % {"id": world.westwind, "r": REVENUE}

    # when they write its read-only revenue
    errors = await org["west"].api.errors(text)

    # then it is FORBIDDEN, naming the field, and nothing changed
    assert [e["extensions"] for e in errors] == [{"code": "FORBIDDEN",
                                                  "field": "annualRevenue"}]
    assert "annualRevenue" in errors[0]["message"]
    assert await account_state(org["admin"].api) == before

    # while their manager, for whom it is read-write, may write it
    await org["manager"].api.query(text)


async def test_a_read_only_field_leaves_the_other_fields_writable(org: Org, world: World
                                                                  ) -> None:
    data = await org["west"].api.query('mutation($id: ID!) { updateAccount(id: $id, data: '
                                       '{name: "Westwind Ltd"}) { name annualRevenue '
                                       "{ amount } } }", {"id": world.westwind})
    assert data["updateAccount"] == {"name": "Westwind Ltd",
                                     "annualRevenue": {"amount": "5000000.00"}}


# -- several profiles ------------------------------------------------------------------


@pytest.mark.parametrize(("second", "expected"), [
    (None, "hidden"), ("read_write", "shown"), ("says nothing", "shown"), ("hidden", "hidden")],
    ids=["one profile", "another grants it", "another is silent", "both hide it"])
async def test_with_several_profiles_the_most_open_field_access_wins(
    api: Api, org: Org, world: World, second: str | None, expected: str
) -> None:
    # given a role holding the reps' profile and, maybe, a second one on deals
    role = f"Dual {uuid.uuid4().hex[:6]}"
    profiles = [org.profiles["Rep"]]
    await admin_do(api, "($n: String!) { createRole(name: $n) }", {"n": role})
    if second is not None:
        profiles.append(role)
        await admin_do(api, "($n: String!) { createProfile(name: $n) }", {"n": role})
        await admin_do(api, '($n: String!) { setModuleRights(profile: $n, module: "Deal", '
                            'actions: ["view"]) }', {"n": role})
        if second != "says nothing":
            await field_access(api, role, "Deal", "nextStep", second)
    await admin_do(api, "($r: String!, $p: [String!]!) { setRoleProfiles(role: $r, "
                        "profiles: $p) }", {"r": role, "p": profiles})
    person = await member(api, "dual", role)
    await admin_do(api, '($o: ID) { createDeal(data: {name: "dual deal", stage: "Proposal", '
                        'nextStep: "call", ownerId: $o}) { id } }', {"o": person.id})

    # when they read the next step of their own deal
    body = (await person.api.raw("{ deals { edges { node { nextStep } } } }")).json()
    await person.api.client.aclose()

    # then it shows if any of their profiles shows it
    shown = body["data"]["deals"]["edges"] == [{"node": {"nextStep": "call"}}]
    assert ("shown" if shown else "hidden") == expected
