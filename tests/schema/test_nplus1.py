"""No N+1: the number of SQL statements depends on a query's shape, not on how many rows it returns.

One data set of 100 accounts, each with two contacts and two deals (every
contact on both deals of its account) and a comment on each deal; each query
runs for the first 5 and the first 100 accounts.
"""

from __future__ import annotations

from typing import Any

import pytest
from strawberry.types.base import StrawberryObjectDefinition

from defalto_gql.db.engine import count_statements
from tests.conftest import Api

ACCOUNTS = 100


async def create_many(api: Api, module: str, plural: str, rows: list[dict[str, Any]]) -> list[str]:
    query = (f"mutation($d: [{module}CreateInput!]!) "
             f"{{ create{plural}(data: $d) {{ id }} }}")
    return [r["id"] for r in (await api.query(query, {"d": rows}))[f"create{plural}"]]


@pytest.fixture
async def crm(api: Api) -> None:
    """The data set above, written through the API."""
    accounts = await create_many(api, "Account", "Accounts",
                                 [{"name": f"Account {i:03}"} for i in range(ACCOUNTS)])
    contacts = await create_many(api, "Contact", "Contacts", [
        {"lastName": f"Contact {i:03}-{j}", "accountId": a}
        for i, a in enumerate(accounts) for j in range(2)])
    deals = await create_many(api, "Deal", "Deals", [
        {"name": f"Deal {i:03}-{j}", "stage": "Proposal", "accountId": a}
        for i, a in enumerate(accounts) for j in range(2)])
    await create_many(api, "Comment", "Comments", [
        {"body": "note", "relatedTo": {"module": "Deal", "id": d}} for d in deals])
    # every contact on both deals of its account, in one request of aliased mutations
    links = " ".join(
        f'l{n}: linkContactDeals(id: "{c}", ids: ["{deals[n // 2 * 2]}", '
        f'"{deals[n // 2 * 2 + 1]}"]) {{ id }}'
        for n, c in enumerate(contacts))
    await api.query(f"mutation {{ {links} }}")


async def statements(api: Api, query: str, first: int | None) -> tuple[int, dict[str, Any]]:
    """How many SQL statements one query issues, and its data.

    The server's metadata watcher polls the version on the same engine now and
    then, and its job worker looks for interrupted jobs; their statements are not
    the query's and are left out of the count, as are
    the one that checks the request's token (one per request, whatever its
    shape) and those that compute the user's rights (once per access version).
    """
    with count_statements(api.engine) as counter:
        data = await api.query(query, None if first is None else {"first": first})
    skipped = ("dg_metadata_version", "dg_access_version", "dg_tokens", "dg_users",
               "dg_transfer_jobs")
    own = [s for s in counter.statements if not any(name in s for name in skipped)]
    return len(own), data


def count_nodes(value: Any, key: str) -> int:
    """How many times ``key`` holds a connection's edges anywhere in ``value``."""
    if isinstance(value, list):
        return sum(count_nodes(v, key) for v in value)
    if not isinstance(value, dict):
        return 0
    here = len(value[key]["edges"]) if isinstance(value.get(key), dict) and \
        "edges" in value[key] else 0
    return here + sum(count_nodes(v, key) for v in value.values())


THREE_LEVELS = {
    "accounts-contacts-deals": ("""query($first: Int) { accounts(first: $first) { edges { node {
        name contacts { edges { node { lastName deals { edges { node { name } } } } } } } } } }""",
                                "deals", 4),
    "accounts-deals-contacts": ("""query($first: Int) { accounts(first: $first) { edges { node {
        name deals { edges { node { name contacts { edges { node { lastName } } } } } } } } } }""",
                                "contacts", 4),
    "accounts-deals-comments": ("""query($first: Int) { accounts(first: $first) { edges { node {
        name deals { edges { node { name comments { edges { node { body } } } } } } } } } }""",
                                "comments", 2),
}


@pytest.mark.parametrize("shape", THREE_LEVELS, ids=list(THREE_LEVELS))
async def test_three_levels_cost_the_same_for_5_and_100_rows(
    api: Api, crm: None, shape: str
) -> None:
    query, leaf, per_account = THREE_LEVELS[shape]

    # when asking for 5 accounts, then for 100, with their nested lists
    few, few_data = await statements(api, query, 5)
    many, many_data = await statements(api, query, 100)

    # then the data is all there, and one statement per level was enough either way
    assert count_nodes(few_data, leaf) == 5 * per_account
    assert count_nodes(many_data, leaf) == 100 * per_account
    assert few == many == 3


async def test_nested_totals_add_one_statement_per_level(api: Api, crm: None) -> None:
    query = """query($first: Int) { accounts(first: $first) { totalCount edges { node {
        contacts { totalCount edges { node { deals { totalCount } } } } } } } }"""
    few, _ = await statements(api, query, 5)
    many, _ = await statements(api, query, 100)
    assert few == many == 6


async def test_four_levels_with_a_many_to_one_at_the_end(api: Api, crm: None) -> None:
    query = """query($first: Int) { accounts(first: $first) { edges { node {
        contacts { edges { node { deals { edges { node { account { name } } } } } } } } } } }"""
    few, _ = await statements(api, query, 5)
    many, data = await statements(api, query, 100)
    assert count_nodes(data, "deals") == 400
    assert few == many == 4


@pytest.mark.parametrize(("query", "expected"), [
    ("query($first: Int) { accounts(first: $first) { edges { node { id name } } } }", 1),
    ("query($first: Int) { accounts(first: $first) { totalCount edges { node { name } } } }",
     2),
], ids=["list", "list-with-total"])
async def test_one_level(api: Api, crm: None, query: str, expected: int) -> None:
    few, _ = await statements(api, query, 5)
    many, data = await statements(api, query, 100)
    assert len(data["accounts"]["edges"]) == 100
    assert few == many == expected


async def test_many_to_one_loads_in_one_statement(api: Api, crm: None) -> None:
    # when reading deals with their account (a many-to-one) and their comments' record
    query = """query($first: Int) { deals(first: $first) { edges { node {
        name account { name } comments { edges { node { relatedTo { id } } } } } } } }"""
    few, _ = await statements(api, query, 5)
    many, data = await statements(api, query, 100)

    # then one statement each: deals, their accounts, their comments, the comments' deals
    assert all(e["node"]["account"] for e in data["deals"]["edges"])
    assert len(data["deals"]["edges"]) == 100
    assert few == many == 4


async def test_many_single_record_fields_in_one_request_batch(api: Api, crm: None) -> None:
    # given the ids of 5 and of 100 contacts
    found = await api.query("{ contacts(first: 100) { edges { node { id } } } }")
    ids = [e["node"]["id"] for e in found["contacts"]["edges"]]

    # when asking for each by id in one request (aliases), with its account
    def query(some: list[str]) -> str:
        fields = " ".join(f'c{n}: contact(id: "{i}") {{ account {{ name }} }}'
                          for n, i in enumerate(some))
        return f"{{ {fields} }}"

    few, _ = await statements(api, query(ids[:5]), None)
    many, data = await statements(api, query(ids), None)
    assert all(contact["account"] for contact in data.values())

    # then the contacts load together, and their accounts together
    assert few == many == 2


def test_scalar_fields_are_plain_attributes(api: Api) -> None:
    # given the schema in service
    generation = api.runtime.generation()
    model = generation.model

    for module in model.snapshot.modules.values():
        definition = generation.schema.get_type_by_name(module.name)
        assert isinstance(definition, StrawberryObjectDefinition)

        # when looking at which fields have a resolver of their own
        resolved = {f.name for f in definition.fields if f.base_resolver is not None}

        # then only relations do: references and related lists
        relations = {f.name for f in module.fields if f.type_key == "reference"}
        relations |= {rl.name for rl in model.lists_of(module.name)}
        assert resolved == relations, module.name
