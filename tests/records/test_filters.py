"""The filter language through the generated API: typed operators, and/or/not, relations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

ACCOUNTS: list[dict[str, Any]] = [
    {"name": "Acme", "industry": "Glass / Ceramics / Concrete", "employees": 50,
     "annualRevenue": {"amount": "1000.00", "currency": "EUR"}, "billingCity": "Berlin"},
    {"name": "Bolt", "industry": "Banking / Mortgage", "employees": 500,
     "annualRevenue": {"amount": "250000.00", "currency": "USD"}, "billingCity": "boston"},
    {"name": "Cirrus"},
    {"name": "50% Off", "industry": "Retail", "employees": 10,
     "annualRevenue": {"amount": "999.99", "currency": "EUR"}},
    {"name": "500 Club", "industry": "Retail", "employees": 0},
]


async def create(api: Api, module: str, data: dict[str, Any]) -> str:
    """Create one record through the API; its id."""
    query = f"mutation($d: {module}CreateInput!) {{ create{module}(data: $d) {{ id }} }}"
    return str((await api.query(query, {"d": data}))[f"create{module}"]["id"])


async def matching(api: Api, module: str, plural: str, where: dict[str, Any],
                   field: str = "name") -> list[str]:
    """The ``field`` values of the records matching a filter, sorted here (not by collation)."""
    query = (f"query($f: {module}Filter) {{ {plural}(filter: $f, first: 500) "
             f"{{ edges {{ node {{ {field} }} }} }} }}")
    data = await api.query(query, {"f": where})
    return sorted(edge["node"][field] for edge in data[plural]["edges"])


@pytest.fixture
async def accounts(api: Api) -> dict[str, str]:
    """The five accounts above, by name."""
    return {a["name"]: await create(api, "Account", a) for a in ACCOUNTS}


@pytest.mark.parametrize(("where", "expected"), [
    ({"name": {"eq": "Acme"}}, ["Acme"]),
    ({"name": {"in": ["Acme", "Bolt", "Nobody"]}}, ["Acme", "Bolt"]),
    ({"billingCity": {"like": "B%"}}, ["Acme"]),
    ({"billingCity": {"ilike": "b%"}}, ["Acme", "Bolt"]),
    ({"name": {"startsWith": "50%"}}, ["50% Off"]),
    ({"name": {"startsWith": "50_"}}, []),
    ({"name": {"contains": "CLUB"}}, ["500 Club"]),
    ({"billingCity": {"is": "NULL"}}, ["50% Off", "500 Club", "Cirrus"]),
    ({"billingCity": {"is": "NOT_NULL"}}, ["Acme", "Bolt"]),
], ids=["eq", "in", "like", "ilike", "startsWith-percent-literal",
        "startsWith-underscore-literal", "contains-any-case", "is-null", "is-not-null"])
async def test_text_operators(api: Api, accounts: dict[str, str], where: dict[str, Any],
                              expected: list[str]) -> None:
    # given the five accounts; when filtering by text; then exactly these match
    assert await matching(api, "Account", "accounts", where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ({"industry": {"neq": "Retail"}}, ["Acme", "Bolt", "Cirrus"]),
    ({"industry": {"notIn": ["Retail", "Banking / Mortgage"]}}, ["Acme", "Cirrus"]),
    ({"employees": {"neq": 50}}, ["50% Off", "500 Club", "Bolt", "Cirrus"]),
    ({"employees": {"notIn": [0, 500]}}, ["50% Off", "Acme", "Cirrus"]),
], ids=["picklist-neq", "picklist-notIn", "integer-neq", "integer-notIn"])
async def test_negations_count_empty_values_as_different(
    api: Api, accounts: dict[str, str], where: dict[str, Any], expected: list[str]
) -> None:
    # given Cirrus with no industry and no employee count
    # when filtering with neq / notIn; then Cirrus is among the records that differ
    assert await matching(api, "Account", "accounts", where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ({"employees": {"gt": 10}}, ["Acme", "Bolt"]),
    ({"employees": {"gte": 10}}, ["50% Off", "Acme", "Bolt"]),
    ({"employees": {"lt": 50}}, ["50% Off", "500 Club"]),
    ({"employees": {"lte": 50}}, ["50% Off", "500 Club", "Acme"]),
    ({"employees": {"in": [0, 500]}}, ["500 Club", "Bolt"]),
    ({"employees": {"gt": 0, "lt": 500}}, ["50% Off", "Acme"]),
], ids=["gt", "gte", "lt", "lte", "in", "two-operators-both-hold"])
async def test_ordered_operators(api: Api, accounts: dict[str, str], where: dict[str, Any],
                                 expected: list[str]) -> None:
    assert await matching(api, "Account", "accounts", where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ({"or": [{"industry": {"eq": "Retail"}}, {"employees": {"gte": 500}}]},
     ["50% Off", "500 Club", "Bolt"]),
    ({"and": [{"industry": {"eq": "Retail"}}, {"employees": {"gt": 0}}]}, ["50% Off"]),
    ({"not": {"employees": {"gt": 10}}}, ["50% Off", "500 Club", "Cirrus"]),
    ({"not": {"industry": {"eq": "Retail"}}}, ["Acme", "Bolt", "Cirrus"]),
    ({"or": [{"and": [{"industry": {"eq": "Retail"}}, {"not": {"employees": {"eq": 0}}}]},
             {"name": {"eq": "Cirrus"}}]}, ["50% Off", "Cirrus"]),
    ({"or": []}, []),
    ({"and": []}, ["50% Off", "500 Club", "Acme", "Bolt", "Cirrus"]),
], ids=["or", "and", "not", "not-keeps-empty-values", "nested", "empty-or", "empty-and"])
async def test_and_or_not(api: Api, accounts: dict[str, str], where: dict[str, Any],
                          expected: list[str]) -> None:
    assert await matching(api, "Account", "accounts", where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ({"annualRevenue": {"amount": {"gte": "999.99", "lt": "1000.01"}}}, ["50% Off", "Acme"]),
    ({"annualRevenue": {"amount": {"eq": "1000"}}}, ["Acme"]),
    ({"annualRevenue": {"amount": {"gt": "999.989", "lt": "999.991"}}}, ["50% Off"]),
    ({"annualRevenue": {"currency": {"eq": "EUR"}}}, ["50% Off", "Acme"]),
    ({"annualRevenue": {"amount": {"gt": "500"}, "currency": {"neq": "EUR"}}}, ["Bolt"]),
    ({"annualRevenue": {"amount": {"is": "NULL"}}}, ["500 Club", "Cirrus"]),
], ids=["range", "eq-other-scale", "exact-decimals", "currency", "amount-and-currency",
        "no-amount"])
async def test_money_filters_on_amount_and_currency(
    api: Api, accounts: dict[str, str], where: dict[str, Any], expected: list[str]
) -> None:
    # amounts compare as exact decimals: 999.99 is strictly between 999.989 and 999.991
    assert await matching(api, "Account", "accounts", where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ({"doNotCall": {"eq": False}}, ["No"]),
    ({"doNotCall": {"neq": True}}, ["No", "Unknown"]),
    ({"doNotCall": {"is": "NULL"}}, ["Unknown"]),
    ({"birthday": {"gte": "1990-01-01", "lt": "2000-01-01"}}, ["Yes"]),
    ({"birthday": {"in": ["1980-02-29", "1995-06-15"]}}, ["No", "Yes"]),
    ({"birthday": {"neq": "1995-06-15"}}, ["No", "Unknown"]),
], ids=["boolean-eq", "boolean-neq", "boolean-is", "date-range", "date-in", "date-neq"])
async def test_boolean_and_date_operators(api: Api, where: dict[str, Any],
                                          expected: list[str]) -> None:
    # given contacts with yes, no and no answer, and birthdays (one on a leap day)
    await create(api, "Contact", {"lastName": "Yes", "doNotCall": True, "birthday": "1995-06-15"})
    await create(api, "Contact", {"lastName": "No", "doNotCall": False, "birthday": "1980-02-29"})
    await create(api, "Contact", {"lastName": "Unknown"})

    # when filtering; then
    assert await matching(api, "Contact", "contacts", where, "lastName") == expected


async def test_picklist_labels_with_slashes_plus_and_spaces_round_trip(api: Api) -> None:
    # given leads whose picklist values are labels, not enum names
    await create(api, "Lead", {"lastName": "Big", "companySize": "1000+",
                               "industry": "Glass / Ceramics / Concrete", "status": "Closed Won"})
    await create(api, "Lead", {"lastName": "Small", "companySize": "1-10",
                               "industry": "Non - Profit / Volunteering"})

    # when filtering and reading by those labels
    size = await matching(api, "Lead", "leads", {"companySize": {"eq": "1000+"}}, "lastName")
    some = await matching(api, "Lead", "leads",
                          {"companySize": {"in": ["1-10", "1000+"]}}, "lastName")
    status = await matching(api, "Lead", "leads", {"status": {"eq": "Closed Won"}}, "lastName")
    read = await api.query('{ leads(filter: {lastName: {eq: "Big"}}) '
                           "{ edges { node { companySize industry status } } } }")

    # then each label matches exactly and reads back unchanged
    assert (size, some, status) == (["Big"], ["Big", "Small"], ["Big"])
    assert read["leads"]["edges"][0]["node"] == {
        "companySize": "1000+", "industry": "Glass / Ceramics / Concrete", "status": "Closed Won"}


async def test_picklist_values_compare_exactly(api: Api) -> None:
    # given a deal in stage "Closed Won"
    await create(api, "Deal", {"name": "Won", "stage": "Closed Won"})

    # when filtering with another case or spacing; then nothing matches
    for near in ("closed won", "Closed  Won", "Closed Won "):
        assert await matching(api, "Deal", "deals", {"stage": {"eq": near}}) == []


async def test_filter_through_many_to_one(api: Api, accounts: dict[str, str]) -> None:
    # given contacts at Acme (ceramics), at Bolt, and at no account
    await create(api, "Contact", {"lastName": "Ada", "accountId": accounts["Acme"]})
    await create(api, "Contact", {"lastName": "Bob", "accountId": accounts["Bolt"]})
    await create(api, "Contact", {"lastName": "Cy"})

    # when filtering contacts by their account's industry
    where = {"account": {"industry": {"eq": "Glass / Ceramics / Concrete"}}}
    found = await matching(api, "Contact", "contacts", where, "lastName")

    # then only the contact at Acme matches
    assert found == ["Ada"]
    assert await matching(api, "Contact", "contacts", {"accountId": {"is": "NULL"}},
                          "lastName") == ["Cy"]


async def test_filter_through_many_to_one_ignores_deleted_targets(
    api: Api, accounts: dict[str, str]
) -> None:
    # given a contact at Acme, and Acme in the recycle bin
    await create(api, "Contact", {"lastName": "Ada", "accountId": accounts["Acme"]})
    await api.query("mutation($id: ID!) { deleteAccount(id: $id) { id } }",
                    {"id": accounts["Acme"]})

    # when filtering by the account's name; then the deleted account matches nothing
    where = {"account": {"name": {"eq": "Acme"}}}
    assert await matching(api, "Contact", "contacts", where, "lastName") == []


async def test_filter_through_two_many_to_one_hops(api: Api, accounts: dict[str, str]) -> None:
    # given Bolt owned by Acme, and a deal at Bolt
    await api.query("mutation($id: ID!, $p: ID) { updateAccount(id: $id, "
                    "data: {parentAccountId: $p}) { id } }",
                    {"id": accounts["Bolt"], "p": accounts["Acme"]})
    await create(api, "Deal", {"name": "Sub", "stage": "Proposal", "accountId": accounts["Bolt"]})
    await create(api, "Deal", {"name": "Top", "stage": "Proposal", "accountId": accounts["Acme"]})

    # when filtering deals by their account's parent; then only the deal at Bolt matches
    where = {"account": {"parentAccount": {"name": {"eq": "Acme"}}}}
    assert await matching(api, "Deal", "deals", where) == ["Sub"]


@pytest.fixture
async def deals(api: Api, accounts: dict[str, str]) -> dict[str, str]:
    """Acme: one won and one open deal; Bolt: one lost deal; the others: none."""
    specs = [("Big", "Closed Won", "Acme"), ("Small", "Prospecting", "Acme"),
             ("Lost", "Closed Lost", "Bolt")]
    return {name: await create(api, "Deal", {"name": name, "stage": stage,
                                             "accountId": accounts[account]})
            for name, stage, account in specs}


@pytest.mark.parametrize(("where", "expected"), [
    ({"deals": {"some": {"stage": {"eq": "Closed Won"}}}}, ["Acme"]),
    ({"deals": {"some": {"stage": {"in": ["Closed Won", "Closed Lost"]}}}}, ["Acme", "Bolt"]),
    ({"deals": {"none": {"stage": {"eq": "Closed Won"}}}},
     ["50% Off", "500 Club", "Bolt", "Cirrus"]),
    ({"deals": {"some": {}}}, ["Acme", "Bolt"]),
    ({"deals": {"none": {}}}, ["50% Off", "500 Club", "Cirrus"]),
    ({"deals": {"some": {"stage": {"eq": "Prospecting"}},
                "none": {"stage": {"eq": "Closed Won"}}}}, []),
], ids=["some", "some-in", "none", "any-deal", "no-deal", "some-and-none"])
async def test_filter_through_one_to_many(api: Api, deals: dict[str, str],
                                          where: dict[str, Any], expected: list[str]) -> None:
    assert await matching(api, "Account", "accounts", where) == expected


async def test_one_to_many_filter_ignores_deleted_children(api: Api, deals: dict[str, str]) -> None:
    # given Acme's won deal in the recycle bin
    await api.query("mutation($id: ID!) { deleteDeal(id: $id) { id } }", {"id": deals["Big"]})

    # when asking for accounts with a won deal; then none has one any more
    where = {"deals": {"some": {"stage": {"eq": "Closed Won"}}}}
    assert await matching(api, "Account", "accounts", where) == []


async def test_filter_through_many_to_many(api: Api, deals: dict[str, str]) -> None:
    # given Ada on the won deal, Bob on the lost one, Cy on none
    ada = await create(api, "Contact", {"lastName": "Ada"})
    bob = await create(api, "Contact", {"lastName": "Bob"})
    await create(api, "Contact", {"lastName": "Cy"})
    link = "mutation($id: ID!, $ids: [ID!]!) { linkContactDeals(id: $id, ids: $ids) { id } }"
    await api.query(link, {"id": ada, "ids": [deals["Big"], deals["Small"]]})
    await api.query(link, {"id": bob, "ids": [deals["Lost"]]})

    # when filtering both ways through the link table
    won = {"deals": {"some": {"stage": {"eq": "Closed Won"}}}}
    contacts = await matching(api, "Contact", "contacts", won, "lastName")
    nobody = await matching(api, "Contact", "contacts", {"deals": {"none": {}}}, "lastName")
    with_ada = await matching(api, "Deal", "deals",
                              {"contacts": {"some": {"lastName": {"eq": "Ada"}}}})

    # then
    assert (contacts, nobody, with_ada) == (["Ada"], ["Cy"], ["Big", "Small"])


async def test_filter_through_polymorphic_comments(api: Api, deals: dict[str, str]) -> None:
    # given an urgent comment on the Big deal and a calm one on the Lost deal
    for deal, body in (("Big", "Urgent: call back"), ("Lost", "all calm")):
        await create(api, "Comment", {"body": body,
                                      "relatedTo": {"module": "Deal", "id": deals[deal]}})

    # when filtering deals by their comments, and comments by the module they are on
    urgent = {"comments": {"some": {"body": {"contains": "urgent"}}}}
    found = await matching(api, "Deal", "deals", urgent)
    on_deals = await matching(api, "Comment", "comments",
                              {"relatedToModule": {"eq": "Deal"}}, "body")
    on_accounts = await matching(api, "Comment", "comments",
                                 {"relatedToModule": {"eq": "Account"}}, "body")

    # then
    assert (found, on_deals, on_accounts) == (["Big"], ["Urgent: call back", "all calm"], [])


async def test_filter_by_a_malformed_id_is_bad_user_input(api: Api) -> None:
    errors = await api.errors('{ contacts(filter: {accountId: {eq: "nope"}}) { totalCount } }')
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["field"] == "accountId"


async def test_filter_by_a_date_time_without_offset_is_bad_user_input(api: Api) -> None:
    query = "query($f: AccountFilter) { accounts(filter: $f) { totalCount } }"
    errors = await api.errors(query, {"f": {"createdAt": {"gt": "2024-01-01T00:00:00"}}})
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "createdAt"}


async def test_a_filter_nesting_too_deeply_is_bad_user_input(api: Api) -> None:
    # given a filter of twenty nested nots
    where: dict[str, Any] = {"name": {"eq": "Acme"}}
    for _ in range(20):
        where = {"not": where}

    # when listing; then it is refused, naming the filter
    query = "query($f: AccountFilter) { accounts(filter: $f) { totalCount } }"
    errors = await api.errors(query, {"f": where})
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter"}


@pytest.mark.parametrize("where", [
    {"name": {"eq": "a\x00b"}},
    {"name": {"contains": "a\x00b"}},
    {"industry": {"in": ["Retail", "a\x00b"]}},
], ids=["eq", "contains", "in"])
async def test_a_nul_character_in_an_operand_is_bad_user_input(
    api: Api, where: dict[str, Any]
) -> None:
    query = "query($f: AccountFilter) { accounts(filter: $f) { totalCount } }"
    errors = await api.errors(query, {"f": where})
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": next(iter(where))}
