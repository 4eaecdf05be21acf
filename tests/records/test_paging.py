"""Ordering and keyset paging through the generated API: orderBy, cursors, totals, nested pages."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import Api

DIRECTIONS = ["AscNullsFirst", "AscNullsLast", "DescNullsFirst", "DescNullsLast"]

# Employee counts with ties and gaps, and industries with gaps, so every key matters.
ROWS = [
    ("A", None, "Retail"), ("B", 5, None), ("C", 5, "Energy"), ("D", 10, "Retail"),
    ("E", None, None), ("F", 1, "Energy"), ("G", 5, "Retail"), ("H", 10, None),
    ("I", None, "Energy"), ("J", 1, "Retail"), ("K", 7, "Energy"),
]

PAGE = """
query($order: [AccountOrderBy!], $first: Int, $after: String, $last: Int, $before: String,
      $filter: AccountFilter) {
  accounts(orderBy: $order, first: $first, after: $after, last: $last, before: $before,
           filter: $filter) {
    totalCount
    edges { node { name } cursor }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def create_accounts(api: Api, rows: list[dict[str, Any]]) -> list[str]:
    query = "mutation($d: [AccountCreateInput!]!) { createAccounts(data: $d) { id } }"
    data = await api.query(query, {"d": rows})
    return [r["id"] for r in data["createAccounts"]]


@pytest.fixture
async def accounts(api: Api) -> list[str]:
    return await create_accounts(api, [
        {"name": name, "employees": employees, "industry": industry}
        for name, employees, industry in ROWS
    ])


async def page(api: Api, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.query(PAGE, arguments))["accounts"]
    return result


def names(found: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in found["edges"]]


def expected_order(direction: str) -> list[str]:
    """ROWS sorted by employees in ``direction``, then by name descending."""
    descending, nulls_first = direction.startswith("Desc"), direction.endswith("NullsFirst")
    by_name = sorted(ROWS, key=lambda row: row[0], reverse=True)
    known = sorted((r for r in by_name if r[1] is not None), key=lambda r: r[1] or 0,
                   reverse=descending)
    empty = [r for r in by_name if r[1] is None]
    return [r[0] for r in (empty + known if nulls_first else known + empty)]


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_order_by_several_keys_with_nulls_placement(
    api: Api, accounts: list[str], direction: str
) -> None:
    # when sorting by employees (ties, empty values), then by name descending
    found = await page(api, order=[{"employees": direction}, {"name": "DescNullsLast"}])

    # then empty values sit where asked and ties fall back to the second key
    assert names(found) == expected_order(direction)


async def test_default_order_is_stable_and_total(api: Api, accounts: list[str]) -> None:
    # when listing without orderBy twice; then the order is the same (by id)
    first, second = await page(api), await page(api)
    assert names(first) == names(second)
    assert sorted(names(first)) == sorted(r[0] for r in ROWS)


async def walk_forward(api: Api, order: list[dict[str, str]], size: int) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        found = await page(api, order=order, first=size, after=after)
        seen += names(found)
        assert found["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not found["pageInfo"]["hasNextPage"]:
            return seen
        after = found["pageInfo"]["endCursor"]


async def walk_backward(api: Api, order: list[dict[str, str]], size: int) -> list[str]:
    seen: list[str] = []
    before = None
    while True:
        found = await page(api, order=order, last=size, before=before)
        seen = names(found) + seen
        assert found["pageInfo"]["hasNextPage"] is (before is not None)
        if not found["pageInfo"]["hasPreviousPage"]:
            return seen
        before = found["pageInfo"]["startCursor"]


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_walking_the_whole_list_both_ways(
    api: Api, accounts: list[str], direction: str
) -> None:
    # given an order over two keys with empty values and ties (the id breaks them)
    order = [{"industry": direction}, {"employees": direction}]
    whole = names(await page(api, order=order, first=100))

    # when walking it in pages of 2 forwards, and of 3 backwards
    forward = await walk_forward(api, order, 2)
    backward = await walk_backward(api, order, 3)

    # then both walks see every record exactly once, in the list's order
    assert len(whole) == len(ROWS)
    assert forward == whole
    assert backward == whole


DEAL_PAGE = """
query($order: [DealOrderBy!], $after: String) {
  deals(orderBy: $order, first: 2, after: $after) {
    edges { node { name } } pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.mark.parametrize("key", ["amount", "probability", "expectedCloseDate", "createdAt",
                                 "account", "stage", "recordNumber"])
async def test_cursors_work_over_every_kind_of_sort_key(api: Api, key: str) -> None:
    # given deals with ties and empty values in money, percent, date, reference, picklist
    account = (await create_accounts(api, [{"name": "Acme"}]))[0]
    specs = [("1", "10.00", "0.5", "2024-01-01", account, "Proposal"),
             ("2", "10.00", None, None, None, "Proposal"),
             ("3", None, "0.5", "2024-01-01", account, "Closed Won"),
             ("4", "9.99", "100", "2023-12-31", None, "Closed Won"),
             ("5", None, None, None, account, "Proposal")]
    await api.query("mutation($d: [DealCreateInput!]!) { createDeals(data: $d) { id } }", {"d": [
        {"name": name, "amount": amount and {"amount": amount, "currency": "EUR"},
         "probability": share, "expectedCloseDate": day, "accountId": ref, "stage": stage}
        for name, amount, share, day, ref, stage in specs]})
    order = [{key: "DescNullsFirst"}]

    # when walking the deals in pages of two
    seen, after = [], None
    while True:
        found = (await api.query(DEAL_PAGE, {"order": order, "after": after}))["deals"]
        seen += [edge["node"]["name"] for edge in found["edges"]]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]

    # then every deal comes exactly once, in the order of the whole list
    whole = await api.query(f"{{ deals(orderBy: [{{{key}: DescNullsFirst}}]) "
                            "{ edges { node { name } } } }")
    assert seen == [edge["node"]["name"] for edge in whole["deals"]["edges"]]
    assert sorted(seen) == ["1", "2", "3", "4", "5"]


async def test_a_cursor_stays_valid_after_inserts_and_deletes(api: Api) -> None:
    # given accounts B, D, F and a first page ending at D
    ids = await create_accounts(api, [{"name": n} for n in ("B", "D", "F")])
    order = [{"name": "AscNullsLast"}]
    first = await page(api, order=order, first=2)
    assert names(first) == ["B", "D"]

    # when records are added before and after the cursor, and D itself is deleted
    await create_accounts(api, [{"name": n} for n in ("A", "C", "E")])
    await api.query("mutation($id: ID!) { deleteAccount(id: $id) { id } }", {"id": ids[1]})

    # then the next page starts right after where D was
    rest = await page(api, order=order, first=10, after=first["pageInfo"]["endCursor"])
    assert names(rest) == ["E", "F"]
    before = await page(api, order=order, last=10, before=first["pageInfo"]["endCursor"])
    assert names(before) == ["A", "B", "C"]


async def test_total_count_ignores_the_page_window(api: Api, accounts: list[str]) -> None:
    # given a filter matching the five Retail accounts
    retail = {"industry": {"eq": "Retail"}}
    first = await page(api, filter=retail, first=2)

    # when asking for a later page; then totalCount is still all matches
    later = await page(api, filter=retail, first=2, after=first["pageInfo"]["endCursor"])
    assert (first["totalCount"], later["totalCount"]) == (4, 4)
    assert len(later["edges"]) == 2


async def test_an_empty_list_has_an_empty_page(api: Api) -> None:
    found = await page(api, first=5)
    assert found == {"totalCount": 0, "edges": [], "pageInfo": {
        "hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None}}


NESTED = """
query($after: String) {
  accounts(orderBy: [{name: AscNullsLast}]) {
    edges { node { name
      contacts(first: 2, after: $after, orderBy: [{lastName: DescNullsLast}],
               filter: {lastName: {neq: "Skip"}}) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { lastName } }
      }
    } }
  }
}
"""


@pytest.fixture
async def people(api: Api) -> dict[str, str]:
    """Xeno with five contacts (one named Skip), Yak with one, Zed with none."""
    ids = await create_accounts(api, [{"name": n} for n in ("Xeno", "Yak", "Zed")])
    contacts = [("Xeno", n) for n in ("Ann", "Bea", "Cid", "Dot", "Skip")] + [("Yak", "Eve")]
    accounts = dict(zip(("Xeno", "Yak", "Zed"), ids, strict=True))
    await api.query("mutation($d: [ContactCreateInput!]!) { createContacts(data: $d) { id } }",
                    {"d": [{"lastName": last, "accountId": accounts[account]}
                           for account, last in contacts]})
    return accounts


async def test_nested_lists_page_per_parent_with_their_own_arguments(
    api: Api, people: dict[str, str]
) -> None:
    # when listing accounts with a page of two contacts each, filtered and sorted
    data = await api.query(NESTED)

    # then each account gets its own first two, its own total and its own hasNextPage
    pages = {e["node"]["name"]: e["node"]["contacts"] for e in data["accounts"]["edges"]}
    got = {name: ([c["node"]["lastName"] for c in p["edges"]], p["totalCount"],
                  p["pageInfo"]["hasNextPage"]) for name, p in pages.items()}
    assert got == {"Xeno": (["Dot", "Cid"], 4, True), "Yak": (["Eve"], 1, False),
                   "Zed": ([], 0, False)}


async def test_a_nested_list_continues_from_its_cursor(api: Api, people: dict[str, str]) -> None:
    # given the end cursor of Xeno's first page of contacts
    query = """query($id: ID!, $after: String) { account(id: $id) {
        contacts(first: 2, after: $after, orderBy: [{lastName: DescNullsLast}],
                 filter: {lastName: {neq: "Skip"}}) {
          pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { lastName } } } } }"""
    first = (await api.query(query, {"id": people["Xeno"]}))["account"]["contacts"]

    # when asking for the next page
    second = (await api.query(query, {"id": people["Xeno"],
                                      "after": first["pageInfo"]["endCursor"]}))
    contacts = second["account"]["contacts"]

    # then it holds the remaining two and says there is nothing more
    assert [e["node"]["lastName"] for e in contacts["edges"]] == ["Bea", "Ann"]
    assert contacts["pageInfo"]["hasNextPage"] is False
    assert contacts["pageInfo"]["hasPreviousPage"] is True


def forged(names: list[str], values: list[Any]) -> str:
    raw = json.dumps([names, values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(("arguments", "field"), [
    ({"first": 2, "after": "not a cursor"}, "after"),
    ({"last": 2, "before": "bm90LWpzb24"}, "before"),
    ({"first": 2, "after": forged(["id"], ["not-a-uuid"])}, "after"),
    ({"first": 2, "after": forged(["name", "id"], [5, "not-a-uuid"]),
      "order": [{"name": "AscNullsLast"}]}, "after"),
    ({"first": 2, "after": forged(["employees", "id"], [{"d": "many"}, None]),
      "order": [{"employees": "AscNullsLast"}]}, "after"),
    ({"first": 2, "after": forged(["id"], [])}, "after"),
    ({"first": 2, "after": forged(["name", "id"], ["a\x00", None]),
      "order": [{"name": "AscNullsLast"}]}, "after"),
], ids=["garbage", "not-json", "bad-id", "wrong-value-type", "bad-decimal", "too-short",
        "nul-character"])
async def test_a_bad_or_forged_cursor_is_bad_user_input(
    api: Api, accounts: list[str], arguments: dict[str, Any], field: str
) -> None:
    errors = await api.errors(PAGE, arguments)
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_a_cursor_from_another_order_is_bad_user_input(api: Api, accounts: list[str]) -> None:
    # given a cursor from a list sorted by name
    by_name = await page(api, order=[{"name": "AscNullsLast"}], first=2)

    # when using it on a list sorted by employees; then it is refused
    errors = await api.errors(PAGE, {"order": [{"employees": "AscNullsLast"}], "first": 2,
                                     "after": by_name["pageInfo"]["endCursor"]})
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


@pytest.mark.parametrize(("arguments", "field"), [
    ({"first": 501}, "first"),
    ({"last": 501}, "last"),
    ({"first": -1}, "first"),
    ({"first": 1, "last": 1}, "last"),
    ({"order": [{"name": "AscNullsLast", "employees": "AscNullsLast"}]}, "orderBy"),
    ({"order": [{}]}, "orderBy"),
], ids=["first-too-large", "last-too-large", "negative", "first-and-last",
        "two-fields-in-one-key", "no-field-in-key"])
async def test_bad_window_or_order_is_bad_user_input(
    api: Api, arguments: dict[str, Any], field: str
) -> None:
    errors = await api.errors(PAGE, arguments)
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_a_nested_first_too_large_is_bad_user_input(api: Api, people: dict[str, str]) -> None:
    errors = await api.errors("{ accounts { edges { node { contacts(first: 501) "
                              "{ edges { node { id } } } } } } }")
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
