"""Nothing tells a hidden record from a missing one: errors, counts, pages, the recycle bin.

A side channel is any answer that differs between "exists but hidden" and "does not
exist": an error message, a total, whether there is a next page.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.access.conftest import Org, World, admin_do
from tests.access.test_matrix import DEAL_GRADES, PEOPLE

ATTEMPTS = {
    "update": 'mutation { updateDeal(id: "%(id)s", data: {name: "x"}) { id } }',
    "update at a version": 'mutation { updateDeal(id: "%(id)s", version: 1, '
                           'data: {name: "x"}) { id } }',
    "delete": 'mutation { deleteDeal(id: "%(id)s") { id } }',
    "restore": 'mutation { restoreDeal(id: "%(id)s") { id } }',
    "destroy": 'mutation { destroyDeal(id: "%(id)s") }',
    "link from the deal": 'mutation { linkDealContacts(id: "%(id)s", ids: ["%(carol)s"]) '
                          "{ id } }",
    "link from a contact": 'mutation { linkContactDeals(id: "%(carol)s", ids: ["%(id)s"]) '
                           "{ id } }",
    "comment on it": 'mutation { createComment(data: {body: "x", relatedTo: {module: "Deal", '
                     'id: "%(id)s"}}) { id } }',
    "refer to it": 'mutation { create%(project)s(data: {name: "x", dealId: "%(id)s"}) { id } }',
    "refer to it on update": 'mutation { update%(project)s(id: "%(own)s", data: '
                             '{dealId: "%(id)s"}) { id } }',
}


def answer(body: dict[str, Any], ident: str) -> Any:
    """The response with the id it was about blanked out."""
    return str(body).replace(ident, "<id>")


@pytest.mark.parametrize("operation", list(ATTEMPTS.values()), ids=list(ATTEMPTS))
async def test_a_hidden_deal_answers_exactly_as_a_missing_one(
    org: Org, world: World, operation: str
) -> None:
    # given the manager's deal, hidden from the West rep, and an id that names nothing
    hidden, missing = world.deals["manager"], str(uuid.uuid4())
    values = {"carol": world.carol, "project": org.project, "own": world.projects["west"]}

    # when the West rep tries the same thing on both
    api = org["west"].api
    on_hidden = (await api.raw(operation % {**values, "id": hidden})).json()
    on_missing = (await api.raw(operation % {**values, "id": missing})).json()

    # then the answers are the same, word for word
    assert on_hidden.get("errors"), on_hidden
    assert answer(on_hidden, hidden) == answer(on_missing, missing)


@pytest.mark.parametrize("person", PEOPLE)
async def test_every_total_counts_only_what_the_person_may_read(
    org: Org, world: World, person: str
) -> None:
    # given the number of deals the matrix lets the person read
    readable = sum(1 for (who, _), grade in DEAL_GRADES.items()
                   if who == person and grade != "-")

    # when they ask for totals at the top, under an account and under a contact
    data = await org[person].api.query(
        "query($a: ID!, $c: ID!) { deals { totalCount } account(id: $a) { deals "
        "{ totalCount } } contact(id: $c) { deals { totalCount } } }",
        {"a": world.acme, "c": world.carol})

    # then each is that number
    assert [data["deals"]["totalCount"], data["account"]["deals"]["totalCount"],
            data["contact"]["deals"]["totalCount"]] == [readable] * 3


@pytest.mark.parametrize("person", PEOPLE)
async def test_pages_end_where_the_readable_deals_end(org: Org, world: World, person: str
                                                      ) -> None:
    # given the deals the person may read
    readable = {world.deals[owner] for (who, owner), grade in DEAL_GRADES.items()
                if who == person and grade != "-"}

    # when they page through the deals one at a time
    seen: list[str] = []
    after = None
    while True:
        data = await org[person].api.query(
            "query($after: String) { deals(first: 1, after: $after, orderBy: "
            "[{amount: DescNullsLast}]) { edges { node { id } } pageInfo "
            "{ hasNextPage endCursor } } }", {"after": after})
        page = data["deals"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then the last page is the last readable deal: no empty page hints at hidden ones
    assert len(seen) == len(readable) and set(seen) == readable


@pytest.mark.parametrize("person", PEOPLE)
async def test_the_recycle_bin_shows_only_what_the_person_may_read(
    org: Org, world: World, person: str
) -> None:
    # given every deal deleted by the administrator
    for ident in world.deals.values():
        await admin_do(org["admin"].api, "($id: ID!) { deleteDeal(id: $id) { id } }",
                       {"id": ident})

    # when the person lists deleted deals too
    data = await org[person].api.query("{ deals(includeDeleted: true) { totalCount "
                                       "edges { node { name } } } }")

    # then they see the deleted deals they could read, and no others
    readable = {f"{owner} deal" for (who, owner), grade in DEAL_GRADES.items()
                if who == person and grade != "-"}
    assert {edge["node"]["name"] for edge in data["deals"]["edges"]} == readable
    assert data["deals"]["totalCount"] == len(readable)
