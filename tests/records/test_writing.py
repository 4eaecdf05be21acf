"""Writing records through the generated API: create, update, delete, restore, destroy, links."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import Api


async def create(api: Api, module: str, data: dict[str, Any]) -> str:
    query = f"mutation($d: {module}CreateInput!) {{ create{module}(data: $d) {{ id }} }}"
    return str((await api.query(query, {"d": data}))[f"create{module}"]["id"])


async def count(api: Api, plural: str, include_deleted: bool = False) -> int:
    query = f"query($all: Boolean!) {{ {plural}(includeDeleted: $all) {{ totalCount }} }}"
    found: int = (await api.query(query, {"all": include_deleted}))[plural]["totalCount"]
    return found


async def test_create_returns_the_record_as_stored(api: Api) -> None:
    # when creating an account with money, a picklist label and a number
    data = await api.query("""mutation { createAccount(data: {name: "Acme",
        industry: "Glass / Ceramics / Concrete", employees: 12,
        annualRevenue: {amount: "1234567.80", currency: "EUR"}}) {
          id name industry employees annualRevenue { amount currency }
          version recordNumber createdAt updatedAt deletedAt } }""")

    # then every value comes back exactly, with the common fields filled in
    account = data["createAccount"]
    assert uuid.UUID(account["id"])
    assert account["recordNumber"].startswith("ACC-")
    assert (account["version"], account["deletedAt"]) == (1, None)
    assert account["annualRevenue"] == {"amount": "1234567.80", "currency": "EUR"}
    assert (account["name"], account["industry"], account["employees"]) == (
        "Acme", "Glass / Ceramics / Concrete", 12)


async def test_money_is_never_rounded_silently(api: Api) -> None:
    # when an amount has more decimals than the currency column keeps
    errors = await api.errors('mutation { createDeal(data: {name: "D", stage: "Proposal", '
                              'amount: {amount: "10.005", currency: "EUR"}}) { id } }')

    # then it is refused, naming the field, and nothing is written
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["field"] == "amount"
    assert await count(api, "deals") == 0


async def test_an_amount_sent_as_a_json_number_is_kept_exact(api: Api) -> None:
    # when a client sends the amount as a number rather than a string
    data = await api.query("mutation($d: DealCreateInput!) { createDeal(data: $d) "
                           "{ amount { amount currency } } }",
                           {"d": {"name": "D", "stage": "Proposal",
                                  "amount": {"amount": 0.1, "currency": "EUR"}}})

    # then it is stored as the decimal 0.10, not as a binary float
    assert data["createDeal"]["amount"] == {"amount": "0.10", "currency": "EUR"}


async def test_a_negative_amount_is_refused_where_the_field_has_a_minimum(api: Api) -> None:
    errors = await api.errors('mutation { createDeal(data: {name: "D", stage: "Proposal", '
                              'amount: {amount: "-1", currency: "EUR"}}) { id } }')
    assert (errors[0]["extensions"]["code"], errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", "amount")


async def test_errors_carry_no_stack_trace(api: Api) -> None:
    errors = await api.errors('mutation { createAccount(data: {name: "A", email: "nope"}) '
                              "{ id } }")
    assert set(errors[0]) <= {"message", "locations", "path", "extensions"}
    assert "Traceback" not in str(errors)
    assert set(errors[0]["extensions"]) <= {"code", "field", "problems", "row"}


async def test_create_many_writes_all_rows(api: Api) -> None:
    data = await api.query('mutation { createAccounts(data: [{name: "A"}, {name: "B"}]) '
                           "{ name recordNumber } }")
    assert [a["name"] for a in data["createAccounts"]] == ["A", "B"]
    assert len({a["recordNumber"] for a in data["createAccounts"]}) == 2


async def test_create_many_with_one_invalid_row_writes_nothing(api: Api) -> None:
    # given three accounts, the second with an industry that is not in the picklist
    rows = [{"name": "A"}, {"name": "B", "industry": "Basket Weaving"}, {"name": "C"}]

    # when creating them in one call
    errors = await api.errors("mutation($d: [AccountCreateInput!]!) { createAccounts(data: $d) "
                              "{ id } }", {"d": rows})

    # then the error names the row and the field, and no account was written
    extensions = errors[0]["extensions"]
    assert (extensions["code"], extensions["row"], extensions["field"]) == (
        "BAD_USER_INPUT", 1, "industry")
    assert "row 1" in errors[0]["message"]
    assert await count(api, "accounts") == 0


async def test_create_many_reports_every_problem(api: Api) -> None:
    # given rows with a missing required name and a bad email
    rows = [{"name": "A", "email": "not-an-email"}, {"email": "a@example.org"}]

    # when creating them; then each problem is listed with its row and field
    errors = await api.errors("mutation($d: [AccountCreateInput!]!) { createAccounts(data: $d) "
                              "{ id } }", {"d": rows})
    problems = {(p["row"], p["field"]) for p in errors[0]["extensions"]["problems"]}
    assert problems == {(0, "email"), (1, "name")}


async def test_create_many_with_a_missing_reference_names_its_row(api: Api) -> None:
    # given two contacts, the second at an account that does not exist
    account = await create(api, "Account", {"name": "Acme"})
    rows = [{"lastName": "A", "accountId": account},
            {"lastName": "B", "accountId": str(uuid.uuid4())}]

    # when creating them; then row 1's accountId is named and nothing is written
    errors = await api.errors("mutation($d: [ContactCreateInput!]!) { createContacts(data: $d) "
                              "{ id } }", {"d": rows})
    assert (errors[0]["extensions"]["row"], errors[0]["extensions"]["field"]) == (1, "accountId")
    assert await count(api, "contacts") == 0


@pytest.mark.parametrize("data", [{}, {"name": None}, {"name": ""}, {"name": " \t "}],
                         ids=["missing", "null", "empty", "spaces"])
async def test_a_required_field_must_be_given(api: Api, data: dict[str, Any]) -> None:
    errors = await api.errors("mutation($d: AccountCreateInput!) { createAccount(data: $d) "
                              "{ id } }", {"d": data})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["field"] == "name"
    assert errors[0]["message"].endswith("is required")
    assert await count(api, "accounts") == 0


async def test_a_contact_needs_a_last_name_that_is_not_empty(api: Api) -> None:
    errors = await api.errors('mutation { createContact(data: {lastName: ""}) { id } }')

    assert errors[0]["extensions"]["field"] == "lastName"
    assert await count(api, "contacts") == 0


@pytest.mark.parametrize("cleared", ["null", '""', '"  "'])
async def test_a_required_field_cannot_be_cleared(api: Api, cleared: str) -> None:
    # given an account; when clearing its name; then it is refused and the name stays
    ident = await create(api, "Account", {"name": "Acme"})
    errors = await api.errors(f"mutation($id: ID!) {{ updateAccount(id: $id, data: "
                              f"{{name: {cleared}}}) {{ id }} }}", {"id": ident})
    assert errors[0]["extensions"]["field"] == "name"
    found = await api.query("query($id: ID!) { account(id: $id) { name version } }", {"id": ident})
    assert found["account"] == {"name": "Acme", "version": 1}


async def test_too_long_text_names_the_field(api: Api) -> None:
    errors = await api.errors("mutation($d: ContactCreateInput!) { createContact(data: $d) "
                              "{ id } }", {"d": {"lastName": "x" * 101}})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["field"] == "lastName"


UPDATE = """mutation($id: ID!, $data: AccountUpdateInput!, $version: Int) {
  updateAccount(id: $id, data: $data, version: $version) { name employees version } }"""


async def test_update_changes_only_the_given_fields(api: Api) -> None:
    # given an account with a name and an employee count
    ident = await create(api, "Account", {"name": "Acme", "employees": 5, "website": "acme.com"})

    # when changing the employees and clearing the website
    data = await api.query(UPDATE, {"id": ident, "data": {"employees": 6, "website": None}})

    # then those changed, the name did not, and the version moved on
    assert data["updateAccount"] == {"name": "Acme", "employees": 6, "version": 2}
    found = await api.query("query($id: ID!) { account(id: $id) { website } }", {"id": ident})
    assert found["account"]["website"] is None


async def test_update_with_the_current_version_succeeds(api: Api) -> None:
    ident = await create(api, "Account", {"name": "Acme"})
    data = await api.query(UPDATE, {"id": ident, "data": {"name": "Acme Ltd"}, "version": 1})
    assert data["updateAccount"]["version"] == 2


async def test_update_with_a_stale_version_is_a_conflict_and_changes_nothing(api: Api) -> None:
    # given an account someone changed since we read it at version 1
    ident = await create(api, "Account", {"name": "Acme"})
    await api.query(UPDATE, {"id": ident, "data": {"name": "Theirs"}})

    # when we update it claiming version 1
    errors = await api.errors(UPDATE, {"id": ident, "data": {"name": "Ours"}, "version": 1})

    # then it is a conflict on the version, and their change stands
    assert errors[0]["extensions"] == {"code": "CONFLICT", "field": "version"}
    found = await api.query("query($id: ID!) { account(id: $id) { name version } }", {"id": ident})
    assert found["account"] == {"name": "Theirs", "version": 2}


async def test_update_with_no_fields_is_bad_user_input(api: Api) -> None:
    ident = await create(api, "Account", {"name": "Acme"})
    errors = await api.errors(UPDATE, {"id": ident, "data": {}})
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "data"}


async def test_update_many_changes_the_matching_records_only(api: Api) -> None:
    # given two retail accounts and one bank
    for name, industry in (("A", "Retail"), ("B", "Retail"), ("C", "Banking / Mortgage")):
        await create(api, "Account", {"name": name, "industry": industry})

    # when setting the type of every retail account
    data = await api.query('mutation { updateAccounts(filter: {industry: {eq: "Retail"}}, '
                           'data: {type: "Customer"}) { name type version } }')

    # then exactly those changed, each at its next version
    changed = sorted((a["name"], a["type"], a["version"]) for a in data["updateAccounts"])
    assert changed == [("A", "Customer", 2), ("B", "Customer", 2)]
    rest = await api.query('{ accounts(filter: {name: {eq: "C"}}) { edges { node { type } } } }')
    assert rest["accounts"]["edges"][0]["node"]["type"] is None


async def test_update_many_skips_deleted_records(api: Api) -> None:
    ident = await create(api, "Account", {"name": "A", "industry": "Retail"})
    await api.query("mutation($id: ID!) { deleteAccount(id: $id) { id } }", {"id": ident})
    data = await api.query('mutation { updateAccounts(filter: {industry: {eq: "Retail"}}, '
                           'data: {type: "Customer"}) { id } }')
    assert data["updateAccounts"] == []


async def test_update_many_needs_a_filter(api: Api) -> None:
    errors = await api.errors('mutation { updateAccounts(filter: {}, data: {type: "Customer"}) '
                              "{ id } }")
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter"}


async def test_update_many_with_an_invalid_value_changes_nothing(api: Api) -> None:
    await create(api, "Account", {"name": "A", "industry": "Retail"})
    errors = await api.errors('mutation { updateAccounts(filter: {name: {eq: "A"}}, '
                              'data: {type: "Friend"}) { id } }')
    assert errors[0]["extensions"]["field"] == "type"
    found = await api.query("{ accounts { edges { node { type version } } } }")
    assert found["accounts"]["edges"][0]["node"] == {"type": None, "version": 1}


async def test_delete_restore_and_destroy(api: Api) -> None:
    # given an account
    ident = await create(api, "Account", {"name": "Acme"})
    one = "query($id: ID!) { account(id: $id) { name } }"

    # when deleting it: it leaves the list and the single read, but not the recycle bin
    deleted = await api.query("mutation($id: ID!) { deleteAccount(id: $id) { deletedAt } }",
                              {"id": ident})
    assert deleted["deleteAccount"]["deletedAt"] is not None
    assert (await count(api, "accounts"), await count(api, "accounts", True)) == (0, 1)
    assert (await api.query(one, {"id": ident}))["account"] is None

    # when restoring it: it is back
    restored = await api.query("mutation($id: ID!) { restoreAccount(id: $id) "
                               "{ deletedAt version } }", {"id": ident})
    assert restored["restoreAccount"] == {"deletedAt": None, "version": 3}
    assert (await api.query(one, {"id": ident}))["account"] == {"name": "Acme"}

    # when destroying it: it is gone for good
    gone = await api.query("mutation($id: ID!) { destroyAccount(id: $id) }", {"id": ident})
    assert gone["destroyAccount"] == ident
    assert await count(api, "accounts", True) == 0


@pytest.mark.parametrize("operation", [
    "updateAccount(id: $id, data: {name: \"X\"}) { id }",
    "deleteAccount(id: $id) { id }",
    "restoreAccount(id: $id) { id }",
    "destroyAccount(id: $id)",
], ids=["update", "delete", "restore", "destroy"])
async def test_a_missing_record_is_not_found(api: Api, operation: str) -> None:
    errors = await api.errors(f"mutation($id: ID!) {{ {operation} }}", {"id": str(uuid.uuid4())})
    assert errors[0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}


@pytest.mark.parametrize("operation", [
    "updateAccount(id: $id, data: {name: \"X\"}) { id }",
    "deleteAccount(id: $id) { id }",
], ids=["update", "delete-again"])
async def test_a_deleted_record_is_not_found(api: Api, operation: str) -> None:
    ident = await create(api, "Account", {"name": "Acme"})
    await api.query("mutation($id: ID!) { deleteAccount(id: $id) { id } }", {"id": ident})
    errors = await api.errors(f"mutation($id: ID!) {{ {operation} }}", {"id": ident})
    assert errors[0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}


async def test_restoring_a_live_record_is_not_found(api: Api) -> None:
    ident = await create(api, "Account", {"name": "Acme"})
    errors = await api.errors("mutation($id: ID!) { restoreAccount(id: $id) { id } }",
                              {"id": ident})
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("operation", [
    "query($id: ID!) { account(id: $id) { id } }",
    "mutation($id: ID!) { deleteAccount(id: $id) { id } }",
    "query($id: ID!) { node(id: $id) { id } }",
], ids=["read", "delete", "node"])
async def test_a_malformed_id_is_bad_user_input(api: Api, operation: str) -> None:
    errors = await api.errors(operation, {"id": "42"})
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}


async def test_a_product_code_is_unique_among_live_products(api: Api) -> None:
    # given a product with code P-1
    first = await create(api, "Product", {"name": "Widget", "code": "P-1"})

    # when another product takes the same code; then it is a conflict naming the code
    errors = await api.errors('mutation { createProduct(data: {name: "Gadget", code: "P-1"}) '
                              "{ id } }")
    assert errors[0]["extensions"]["code"] == "CONFLICT"
    assert errors[0]["extensions"]["field"] == "code"
    assert await count(api, "products") == 1

    # when the first is deleted; then the code is free again
    await api.query("mutation($id: ID!) { deleteProduct(id: $id) { id } }", {"id": first})
    await create(api, "Product", {"name": "Gadget", "code": "P-1"})


async def test_changing_a_code_to_a_taken_one_is_a_conflict(api: Api) -> None:
    await create(api, "Product", {"name": "Widget", "code": "P-1"})
    other = await create(api, "Product", {"name": "Gadget", "code": "P-2"})
    errors = await api.errors('mutation($id: ID!) { updateProduct(id: $id, data: {code: "P-1"}) '
                              "{ id } }", {"id": other})
    assert (errors[0]["extensions"]["code"], errors[0]["extensions"]["field"]) == (
        "CONFLICT", "code")


async def test_a_duplicate_code_within_one_create_many_writes_nothing(api: Api) -> None:
    errors = await api.errors('mutation { createProducts(data: [{name: "A", code: "P-2"}, '
                              '{name: "B", code: "P-2"}]) { id } }')
    assert (errors[0]["extensions"]["code"], errors[0]["extensions"]["field"]) == (
        "CONFLICT", "code")
    assert await count(api, "products") == 0


async def test_a_product_gets_its_default_on_create(api: Api) -> None:
    data = await api.query('mutation { createProduct(data: {name: "W"}) { active } }')
    assert data["createProduct"]["active"] is True


@pytest.mark.parametrize("state", ["missing", "deleted"])
async def test_a_reference_to_a_missing_or_deleted_record_names_the_field(
    api: Api, state: str
) -> None:
    # given an account id that does not exist, or whose account is in the recycle bin
    ident = str(uuid.uuid4())
    if state == "deleted":
        ident = await create(api, "Account", {"name": "Gone"})
        await api.query("mutation($id: ID!) { deleteAccount(id: $id) { id } }", {"id": ident})

    # when creating a contact at it
    errors = await api.errors("mutation($d: ContactCreateInput!) { createContact(data: $d) "
                              "{ id } }", {"d": {"lastName": "Ada", "accountId": ident}})

    # then it is refused, naming accountId, and nothing is written
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["field"] == "accountId"
    assert await count(api, "contacts") == 0


async def test_updating_a_reference_to_a_missing_record_names_the_field(api: Api) -> None:
    ident = await create(api, "Contact", {"lastName": "Ada"})
    errors = await api.errors("mutation($id: ID!, $a: ID) { updateContact(id: $id, "
                              "data: {accountId: $a}) { id } }",
                              {"id": ident, "a": str(uuid.uuid4())})
    assert (errors[0]["extensions"]["code"], errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", "accountId")


async def test_a_many_to_one_reads_its_record(api: Api) -> None:
    account = await create(api, "Account", {"name": "Acme"})
    deal = await create(api, "Deal", {"name": "D", "stage": "Proposal", "accountId": account})
    data = await api.query("query($id: ID!) { deal(id: $id) { accountId account { name } } }",
                           {"id": deal})
    assert data["deal"] == {"accountId": account, "account": {"name": "Acme"}}


async def test_a_reference_to_a_deleted_record_reads_as_null(api: Api) -> None:
    # given a deal whose account was deleted afterwards
    account = await create(api, "Account", {"name": "Acme"})
    deal = await create(api, "Deal", {"name": "D", "stage": "Proposal", "accountId": account})
    await api.query("mutation($id: ID!) { deleteAccount(id: $id) { id } }", {"id": account})

    # when reading the deal's account; then there is none to show
    data = await api.query("query($id: ID!) { deal(id: $id) { account { name } } }", {"id": deal})
    assert data["deal"]["account"] is None


LINKS = """mutation($id: ID!, $ids: [ID!]!) { %s(id: $id, ids: $ids) {
  deals(orderBy: [{name: AscNullsLast}]) { totalCount edges { node { name } } } } }"""


@pytest.fixture
async def linked(api: Api) -> dict[str, str]:
    """Contact Ada and deals One, Two and Three; Ada on One and Two."""
    ids = {"Ada": await create(api, "Contact", {"lastName": "Ada"})}
    for name in ("One", "Two", "Three"):
        ids[name] = await create(api, "Deal", {"name": name, "stage": "Proposal"})
    await api.query(LINKS % "linkContactDeals", {"id": ids["Ada"], "ids": [ids["One"], ids["Two"]]})
    return ids


async def test_link_and_unlink_contacts_and_deals(api: Api, linked: dict[str, str]) -> None:
    # when linking Three (and One again), then unlinking One
    added = await api.query(LINKS % "linkContactDeals",
                            {"id": linked["Ada"], "ids": [linked["Three"], linked["One"]]})
    removed = await api.query(LINKS % "unlinkContactDeals",
                              {"id": linked["Ada"], "ids": [linked["One"]]})

    # then links are a set: One is not doubled, and after unlinking it is gone
    names = [e["node"]["name"] for e in added["linkContactDeals"]["deals"]["edges"]]
    assert names == ["One", "Three", "Two"]
    after = [e["node"]["name"] for e in removed["unlinkContactDeals"]["deals"]["edges"]]
    assert after == ["Three", "Two"]


async def test_links_read_from_both_sides(api: Api, linked: dict[str, str]) -> None:
    data = await api.query("query($id: ID!) { deal(id: $id) { contacts { edges { node "
                           "{ lastName } } } } }", {"id": linked["One"]})
    assert data["deal"]["contacts"]["edges"] == [{"node": {"lastName": "Ada"}}]


async def test_linking_a_missing_record_is_refused(api: Api, linked: dict[str, str]) -> None:
    # when linking Ada to a deal that does not exist
    errors = await api.errors(LINKS % "linkContactDeals",
                              {"id": linked["Ada"], "ids": [linked["Three"], str(uuid.uuid4())]})

    # then nothing is linked, not even the deal that exists
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "ids"}
    data = await api.query("query($id: ID!) { contact(id: $id) { deals { totalCount } } }",
                           {"id": linked["Ada"]})
    assert data["contact"]["deals"]["totalCount"] == 2


async def test_linking_from_a_missing_record_is_not_found(api: Api, linked: dict[str, str]) -> None:
    errors = await api.errors(LINKS % "linkContactDeals",
                              {"id": str(uuid.uuid4()), "ids": [linked["One"]]})
    assert errors[0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}


async def test_a_deleted_deal_leaves_the_contacts_list(api: Api, linked: dict[str, str]) -> None:
    await api.query("mutation($id: ID!) { deleteDeal(id: $id) { id } }", {"id": linked["One"]})
    data = await api.query("query($id: ID!) { contact(id: $id) { deals { totalCount "
                           "edges { node { name } } } } }", {"id": linked["Ada"]})
    assert data["contact"]["deals"] == {"totalCount": 1, "edges": [{"node": {"name": "Two"}}]}


COMMENT = """mutation($body: String!, $module: String!, $id: ID!) {
  createComment(data: {body: $body, relatedTo: {module: $module, id: $id}}) {
    relatedToId relatedToModule
    relatedTo { __typename id ... on Deal { name } ... on Account { name } }
  }
}"""


async def test_a_comment_relates_to_a_record_of_any_module(api: Api) -> None:
    # given a deal and an account
    deal = await create(api, "Deal", {"name": "Big", "stage": "Proposal"})
    account = await create(api, "Account", {"name": "Acme"})

    # when commenting on each
    on_deal = await api.query(COMMENT, {"body": "a", "module": "Deal", "id": deal})
    on_account = await api.query(COMMENT, {"body": "b", "module": "Account", "id": account})

    # then each comment points at its record, of its own type
    assert on_deal["createComment"] == {
        "relatedToId": deal, "relatedToModule": "Deal",
        "relatedTo": {"__typename": "Deal", "id": deal, "name": "Big"}}
    assert on_account["createComment"]["relatedTo"] == {
        "__typename": "Account", "id": account, "name": "Acme"}


async def test_every_record_lists_its_own_comments(api: Api) -> None:
    # given two comments on a deal and one on an account
    deal = await create(api, "Deal", {"name": "Big", "stage": "Proposal"})
    account = await create(api, "Account", {"name": "Acme"})
    for body, module, ident in (("1", "Deal", deal), ("2", "Deal", deal),
                                ("3", "Account", account)):
        await api.query(COMMENT, {"body": body, "module": module, "id": ident})

    # when reading each record's comments
    query = """query($deal: ID!, $account: ID!) {
      deal(id: $deal) { comments(orderBy: [{createdAt: AscNullsLast}]) {
        edges { node { body } } } }
      account(id: $account) { comments { totalCount } } }"""
    data = await api.query(query, {"deal": deal, "account": account})

    # then each sees its own only
    assert [e["node"]["body"] for e in data["deal"]["comments"]["edges"]] == ["1", "2"]
    assert data["account"]["comments"]["totalCount"] == 1


@pytest.mark.parametrize(("module", "problem"), [
    ("Deal", "missing"), ("Deal", "deleted"), ("Nowhere", "module"),
])
async def test_a_comment_on_a_missing_record_is_refused(
    api: Api, module: str, problem: str
) -> None:
    ident = str(uuid.uuid4())
    if problem == "deleted":
        ident = await create(api, "Deal", {"name": "Gone", "stage": "Proposal"})
        await api.query("mutation($id: ID!) { deleteDeal(id: $id) { id } }", {"id": ident})
    errors = await api.errors(COMMENT, {"body": "x", "module": module, "id": ident})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["field"] == "relatedTo"
    assert await count(api, "comments") == 0


async def test_destroying_a_record_takes_its_comments_and_clears_references(api: Api) -> None:
    # given an account with a comment and a contact
    account = await create(api, "Account", {"name": "Acme"})
    contact = await create(api, "Contact", {"lastName": "Ada", "accountId": account})
    await api.query(COMMENT, {"body": "x", "module": "Account", "id": account})

    # when destroying the account
    await api.query("mutation($id: ID!) { destroyAccount(id: $id) }", {"id": account})

    # then its comment is gone and the contact no longer points at it
    assert await count(api, "comments", True) == 0
    data = await api.query("query($id: ID!) { contact(id: $id) { accountId } }", {"id": contact})
    assert data["contact"]["accountId"] is None


async def test_node_finds_a_record_of_any_module(api: Api) -> None:
    # given a deal and a contact
    deal = await create(api, "Deal", {"name": "Big", "stage": "Proposal"})
    contact = await create(api, "Contact", {"lastName": "Ada"})

    # when looking each up by its id alone (in any letter case)
    query = """query($id: ID!) { node(id: $id) { __typename id
      ... on Deal { name } ... on Contact { lastName } } }"""
    found = [(await api.query(query, {"id": i}))["node"] for i in (deal, contact.upper())]

    # then each comes back as its own type
    assert found == [{"__typename": "Deal", "id": deal, "name": "Big"},
                     {"__typename": "Contact", "id": contact, "lastName": "Ada"}]


async def test_node_of_a_missing_or_deleted_record_is_null(api: Api) -> None:
    deal = await create(api, "Deal", {"name": "Big", "stage": "Proposal"})
    await api.query("mutation($id: ID!) { deleteDeal(id: $id) { id } }", {"id": deal})
    for ident in (deal, str(uuid.uuid4())):
        data = await api.query("query($id: ID!) { node(id: $id) { id } }", {"id": ident})
        assert data["node"] is None


async def test_a_wrongly_typed_variable_is_bad_user_input(api: Api) -> None:
    # when a variable holds text where an integer belongs
    errors = await api.errors("mutation($d: AccountCreateInput!) { createAccount(data: $d) "
                              "{ id } }", {"d": {"name": "Acme", "employees": "many"}})

    # then it is the client's mistake, named as such
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "employees" in errors[0]["message"]


async def test_a_record_is_owned_by_an_existing_user_or_group_only(api: Api) -> None:
    nobody = "0f0f0f0f-0000-4000-8000-000000000000"
    errors = await api.errors('mutation($o: ID) { createAccount(data: {name: "A", ownerId: $o}) '
                              "{ id } }", {"o": nobody})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["field"] == "ownerId"
    me = (await api.query("{ me { id } }"))["me"]["id"]
    made = await api.query('mutation($o: ID) { createAccount(data: {name: "A", ownerId: $o}) '
                           "{ ownerId } }", {"o": me})
    assert made["createAccount"]["ownerId"] == me
