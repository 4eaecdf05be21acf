"""The permission matrix: every person against every record, on every path.

The tables below say who may read (R) or change (W) each record, from the role
tree, the group and the sharing rules of ``conftest.py``; "-" means the record
must not show up anywhere. Each (person, record) pair runs every read path, and
separately every write path, and compares what it saw with its row of the table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.access.conftest import DEAL_OWNERS, PROJECT_OWNERS, Member, Org, World, admin_do
from tests.conftest import Api

# Deals by owner. The director sees what the roles below own, not the group's deal;
# the manager reaches the group's deal through the read-write sharing rule; the West
# rep reads (only reads) what the Sales East role owns; the two East reps, peers in
# one role, do not see each other's deals; the East rep is in the group.
DEALS = """
            director  manager  east  east2  west  group
admin       W         W        W     W      W     W
director    W         W        W     W      W     -
manager     -         W        W     W      W     W
east        -         -        W     -      -     W
east2       -         -        -     W      -     -
west        -         -        R     R      W     -
"""

# Projects (a custom module, private, with no sharing rule) by owner.
PROJECTS = """
            east  west
admin       W     W
director    W     W
manager     W     W
east        W     -
east2       -     -
west        -     W
"""


def grades(table: str) -> dict[tuple[str, str], str]:
    """(person, record owner) -> R, W or -, read from a table above."""
    header, *rows = [line.split() for line in table.strip().splitlines()]
    return {(row[0], owner): grade for row in rows
            for owner, grade in zip(header, row[1:], strict=True)}


DEAL_GRADES = grades(DEALS)
PROJECT_GRADES = grades(PROJECTS)
PEOPLE = ("admin", "director", "manager", "east", "east2", "west")


def pairs(owners: tuple[str, ...]) -> list[Any]:
    return [pytest.param(person, owner, id=f"{person}-sees-{owner}")
            for person in PEOPLE for owner in owners]


def ids(connection: dict[str, Any]) -> set[str]:
    return {edge["node"]["id"] for edge in connection["edges"]}


# -- read paths ----------------------------------------------------------------------

Probe = Callable[[Member, Org, World, str], Awaitable[bool]]


async def in_list(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("{ deals(first: 100) { edges { node { id } } } }")
    return w.deals[owner] in ids(data["deals"])


async def in_total(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!) { deals(filter: {id: {eq: $id}}) "
                             "{ totalCount } }", {"id": w.deals[owner]})
    total: int = data["deals"]["totalCount"]
    assert total in (0, 1)
    return total == 1


async def by_id(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!) { deal(id: $id) { id } }",
                             {"id": w.deals[owner]})
    return data["deal"] is not None


async def by_node(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!) { node(id: $id) { id } }",
                             {"id": w.deals[owner]})
    return data["node"] is not None


async def under_account(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!) { account(id: $id) { deals(first: 100) "
                             "{ edges { node { id } } } } }", {"id": w.acme})
    return w.deals[owner] in ids(data["account"]["deals"])


async def its_account(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!) { deal(id: $id) { account { id } } }",
                             {"id": w.deals[owner]})
    return bool(data["deal"] is not None and data["deal"]["account"] == {"id": w.acme})


async def comment_points_at_it(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!) { comment(id: $id) { relatedTo { id } } }",
                             {"id": w.comments[owner]})
    return bool(data["comment"]["relatedTo"] == {"id": w.deals[owner]})


async def its_comments(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!) { deal(id: $id) { comments "
                             "{ edges { node { id } } } } }", {"id": w.deals[owner]})
    return data["deal"] is not None and w.comments[owner] in ids(data["deal"]["comments"])


async def under_contact(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!) { contact(id: $id) { deals(first: 100) "
                             "{ edges { node { id } } } } }", {"id": w.carol})
    return w.deals[owner] in ids(data["contact"]["deals"])


async def its_contacts(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!) { deal(id: $id) { contacts "
                             "{ edges { node { id } } } } }", {"id": w.deals[owner]})
    return data["deal"] is not None and w.carol in ids(data["deal"]["contacts"])


async def account_filter_some(m: Member, org: Org, w: World, owner: str) -> bool:
    """Its amount is unique: an account matching it would reveal the deal."""
    data = await m.api.query("query($a: Decimal!) { accounts(filter: {deals: {some: "
                             "{amount: {amount: {eq: $a}}}}}) { edges { node { id } } } }",
                             {"a": w.amounts[owner]})
    return w.acme in ids(data["accounts"])


async def account_filter_none(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($id: ID!, $a: Decimal!) { accounts(filter: {id: "
                             "{eq: $id}, deals: {none: {amount: {amount: {eq: $a}}}}}) "
                             "{ totalCount } }", {"id": w.acme, "a": w.amounts[owner]})
    return bool(data["accounts"]["totalCount"] == 0)


async def two_hop_filter(m: Member, org: Org, w: World, owner: str) -> bool:
    """Out through a many-to-one and back through its one-to-many, to the hidden deal."""
    data = await m.api.query("query($a: Decimal!) { deals(filter: {account: {deals: {some: "
                             "{amount: {amount: {eq: $a}}}}}}) { totalCount } }",
                             {"a": w.amounts[owner]})
    return bool(data["deals"]["totalCount"] > 0)


async def contact_filter(m: Member, org: Org, w: World, owner: str) -> bool:
    data = await m.api.query("query($n: String!) { contacts(filter: {deals: {some: "
                             "{name: {eq: $n}}}}) { edges { node { id } } } }",
                             {"n": f"{owner} deal"})
    return w.carol in ids(data["contacts"])


async def _own_project_on(m: Member, org: Org, w: World, owner: str) -> str:
    """A project the person owns (so sees), pointing at the deal."""
    created = await admin_do(org["admin"].api, f"($d: {org.project}CreateInput!) "
                             f"{{ create{org.project}(data: $d) {{ id }} }}",
                             {"d": {"name": "probe", "dealId": w.deals[owner],
                                    "ownerId": m.id}})
    return str(created["id"])


async def project_filter(m: Member, org: Org, w: World, owner: str) -> bool:
    probe = await _own_project_on(m, org, w, owner)
    data = await m.api.query(f"query($a: Decimal!) {{ {org.projects}(filter: {{deal: "
                             "{amount: {amount: {eq: $a}}}}) { edges { node { id } } } }",
                             {"a": w.amounts[owner]})
    return probe in ids(data[org.projects])


async def project_reference(m: Member, org: Org, w: World, owner: str) -> bool:
    probe = await _own_project_on(m, org, w, owner)
    data = await m.api.query(f"query($id: ID!) {{ {org.single_project}(id: $id) "
                             "{ deal { id } } }", {"id": probe})
    return bool(data[org.single_project]["deal"] == {"id": w.deals[owner]})


async def projects_of_deal(m: Member, org: Org, w: World, owner: str) -> bool:
    probe = await _own_project_on(m, org, w, owner)
    data = await m.api.query(f"query($id: ID!) {{ deal(id: $id) {{ {org.reverse} "
                             "{ edges { node { id } } } } }", {"id": w.deals[owner]})
    return data["deal"] is not None and probe in ids(data["deal"][org.reverse])


READ_PATHS: dict[str, Probe] = {
    "deals list": in_list,
    "deals totalCount": in_total,
    "deal(id)": by_id,
    "node(id)": by_node,
    "account.deals": under_account,
    "deal.account": its_account,
    "comment.relatedTo": comment_points_at_it,
    "deal.comments": its_comments,
    "contact.deals": under_contact,
    "deal.contacts": its_contacts,
    "accounts(deals some amount)": account_filter_some,
    "accounts(deals none amount)": account_filter_none,
    "deals(account.deals some amount)": two_hop_filter,
    "contacts(deals some name)": contact_filter,
    "projects(deal amount)": project_filter,
    "project.deal": project_reference,
    "deal.projects": projects_of_deal,
}


@pytest.mark.parametrize(("person", "owner"), pairs(DEAL_OWNERS))
async def test_every_read_path_shows_a_deal_exactly_when_the_matrix_grants_it(
    org: Org, world: World, person: str, owner: str
) -> None:
    # given a person and a deal, and whether the matrix lets them read it
    visible = DEAL_GRADES[person, owner] != "-"

    # when every read path looks for the deal
    seen = {path: await probe(org[person], org, world, owner)
            for path, probe in READ_PATHS.items()}

    # then each finds it exactly when reading is granted
    assert seen == dict.fromkeys(READ_PATHS, visible)


# -- write paths ---------------------------------------------------------------------


async def admin_view(api: Api, plural: str, ident: str) -> dict[str, Any] | None:
    """The record as the administrator sees it, deleted or not; None once destroyed."""
    data = await api.query(f"query($id: ID!) {{ {plural}(includeDeleted: true, filter: "
                           "{id: {eq: $id}}) { edges { node { id name deletedAt } } } }",
                           {"id": ident})
    edges = data[plural]["edges"]
    return edges[0]["node"] if edges else None


async def outcome(api: Api, operation: str, variables: dict[str, Any],
                  changed: Callable[[], Awaitable[bool]]) -> str:
    """"done" when it worked and the change is there; the error code when refused and
    nothing changed; "untouched" for a quiet no-op. Anything else names the mismatch."""
    body = (await api.raw(operation, variables)).json()
    effect = await changed()
    if body.get("errors"):
        code = body["errors"][0]["extensions"]["code"]
        return f"{code}, yet changed" if effect else str(code)
    return "done" if effect else "untouched"


class Writes:
    """The write paths of one person on one record, checked through the administrator."""

    def __init__(self, org: Org, person: str, module: str, ident: str) -> None:
        self.admin = org["admin"].api
        self.api = org[person].api
        self.module, self.ident = module, ident
        custom = module == org.project
        self.plural = org.project_plural if custom else "Deals"
        self.listing = org.projects if custom else "deals"

    async def _name_is(self, name: str) -> bool:
        found = await admin_view(self.admin, self.listing, self.ident)
        return found is not None and found["name"] == name

    async def update(self) -> str:
        return await outcome(self.api, f"mutation($id: ID!) {{ update{self.module}(id: $id, "
                             'data: {name: "renamed"}) { id } }', {"id": self.ident},
                             lambda: self._name_is("renamed"))

    async def update_many(self) -> str:
        return await outcome(self.api, f"mutation($id: ID!) {{ update{self.plural}(filter: "
                             '{id: {eq: $id}}, data: {name: "renamed in bulk"}) { id } }',
                             {"id": self.ident}, lambda: self._name_is("renamed in bulk"))

    async def _deleted(self) -> bool:
        found = await admin_view(self.admin, self.listing, self.ident)
        return found is not None and found["deletedAt"] is not None

    async def _restored(self) -> bool:
        return not await self._deleted()

    async def _gone(self) -> bool:
        return await admin_view(self.admin, self.listing, self.ident) is None

    async def delete(self) -> str:
        return await outcome(self.api, f"mutation($id: ID!) {{ delete{self.module}(id: $id) "
                             "{ id } }", {"id": self.ident}, self._deleted)

    async def restore(self) -> str:
        if not await self._deleted():
            await admin_do(self.admin, f"($id: ID!) {{ delete{self.module}(id: $id) {{ id }} }}",
                           {"id": self.ident})
        return await outcome(self.api, f"mutation($id: ID!) {{ restore{self.module}(id: $id) "
                             "{ id } }", {"id": self.ident}, self._restored)

    async def destroy(self) -> str:
        return await outcome(self.api, f"mutation($id: ID!) {{ destroy{self.module}(id: $id) }}",
                             {"id": self.ident}, self._gone)

    async def _comments(self) -> int:
        data = await self.admin.query("query($id: ID!) { comments(filter: {relatedToId: "
                                      "{eq: $id}}) { totalCount } }", {"id": self.ident})
        return int(data["comments"]["totalCount"])

    async def comment(self) -> str:
        before = await self._comments()

        async def commented() -> bool:
            return await self._comments() > before

        return await outcome(self.api, "mutation($r: RecordRefInput!) { createComment(data: "
                             '{body: "me too", relatedTo: $r}) { id } }',
                             {"r": {"module": self.module, "id": self.ident}}, commented)


class DealLinks(Writes):
    """The many-to-many paths between a deal and contacts."""

    async def _linked(self, contact: str) -> bool:
        data = await self.admin.query("query($id: ID!) { contact(id: $id) { deals "
                                      "{ edges { node { id } } } } }", {"id": contact})
        return self.ident in ids(data["contact"]["deals"])

    async def _contact(self) -> str:
        created = await admin_do(self.admin, '{ createContact(data: {lastName: "Dora"}) '
                                             "{ id } }")
        return str(created["id"])

    async def link_from_deal(self) -> str:
        contact = await self._contact()
        return await outcome(self.api, "mutation($id: ID!, $c: ID!) { linkDealContacts(id: "
                             "$id, ids: [$c]) { id } }", {"id": self.ident, "c": contact},
                             lambda: self._linked(contact))

    async def link_from_contact(self) -> str:
        contact = await self._contact()
        return await outcome(self.api, "mutation($id: ID!, $c: ID!) { linkContactDeals(id: "
                             "$c, ids: [$id]) { id } }", {"id": self.ident, "c": contact},
                             lambda: self._linked(contact))

    async def unlink(self, carol: str) -> str:
        async def unlinked() -> bool:
            return not await self._linked(carol)

        return await outcome(self.api, "mutation($id: ID!, $c: ID!) { unlinkContactDeals(id: "
                             "$c, ids: [$id]) { id } }", {"id": self.ident, "c": carol},
                             unlinked)


# What each write path does, by grade. Reading a record but not changing it answers
# FORBIDDEN where the API names the record (update); every other refusal, and every
# refusal of a record one cannot see, is NOT_FOUND, so it reveals nothing.
WRITES = {
    "W": {"update": "done", "updateMany": "done", "link from deal": "done",
          "link from contact": "done", "unlink": "done", "comment": "done",
          "delete": "done", "restore": "done", "destroy": "done"},
    "R": {"update": "FORBIDDEN", "updateMany": "untouched", "link from deal": "NOT_FOUND",
          "link from contact": "done", "unlink": "done", "comment": "done",
          "delete": "NOT_FOUND", "restore": "NOT_FOUND", "destroy": "NOT_FOUND"},
    "-": {"update": "NOT_FOUND", "updateMany": "untouched", "link from deal": "NOT_FOUND",
          "link from contact": "BAD_USER_INPUT", "unlink": "untouched",
          "comment": "BAD_USER_INPUT", "delete": "NOT_FOUND", "restore": "NOT_FOUND",
          "destroy": "NOT_FOUND"},
}


@pytest.mark.parametrize(("person", "owner"), pairs(DEAL_OWNERS))
async def test_every_write_path_changes_a_deal_exactly_when_the_matrix_grants_it(
    org: Org, world: World, person: str, owner: str
) -> None:
    # given a person and a deal
    writes = DealLinks(org, person, "Deal", world.deals[owner])

    # when they try every change, in an order that leaves the deal for the next step
    done = {
        "update": await writes.update(),
        "updateMany": await writes.update_many(),
        "link from deal": await writes.link_from_deal(),
        "link from contact": await writes.link_from_contact(),
        "unlink": await writes.unlink(world.carol),
        "comment": await writes.comment(),
        "delete": await writes.delete(),
        "restore": await writes.restore(),
        "destroy": await writes.destroy(),
    }

    # then exactly the granted ones happened, and the refused ones changed nothing
    assert done == WRITES[DEAL_GRADES[person, owner]]


# -- the custom module ---------------------------------------------------------------


async def project_paths(m: Member, org: Org, w: World, owner: str) -> dict[str, bool]:
    ident, deal = w.projects[owner], w.deals[owner]
    listing = await m.api.query(f"{{ {org.projects}(first: 100) {{ totalCount "
                                "edges { node { id } } } }")
    counted = await m.api.query(f"query($id: ID!) {{ {org.projects}(filter: {{id: "
                                "{eq: $id}}) { totalCount } }", {"id": ident})
    single = await m.api.query(f"query($id: ID!) {{ {org.single_project}(id: $id) {{ id }} "
                               "node(id: $id) { id } }", {"id": ident})
    nested = await m.api.query(f"query($id: ID!) {{ deal(id: $id) {{ {org.reverse} "
                               "{ edges { node { id } } } } }", {"id": deal})
    filtered = await m.api.query(f"query($n: String!) {{ deals(filter: {{{org.reverse}: "
                                 "{some: {name: {eq: $n}}}}) { edges { node { id } } } }",
                                 {"n": f"{owner} project"})
    return {
        "list": ident in ids(listing[org.projects]),
        "totalCount": counted[org.projects]["totalCount"] == 1,
        "single": single[org.single_project] is not None,
        "node": single["node"] is not None,
        "deal.projects": nested["deal"] is not None
        and ident in ids(nested["deal"][org.reverse]),
        "deals(projects some name)": deal in ids(filtered["deals"]),
    }


@pytest.mark.parametrize(("person", "owner"), pairs(PROJECT_OWNERS))
async def test_a_custom_module_is_guarded_like_a_standard_one(
    org: Org, world: World, person: str, owner: str
) -> None:
    # given a project of the custom (private) module and a person
    grade = PROJECT_GRADES[person, owner]

    # when they look for it on every path, then try to change it
    seen = await project_paths(org[person], org, world, owner)
    writes = Writes(org, person, org.project, world.projects[owner])
    done = {"update": await writes.update(), "updateMany": await writes.update_many(),
            "comment": await writes.comment(), "delete": await writes.delete(),
            "restore": await writes.restore(), "destroy": await writes.destroy()}

    # then it shows and changes exactly as the matrix says
    assert seen == dict.fromkeys(seen, grade != "-")
    assert done == {path: WRITES[grade][path] for path in done}
