"""Ownership: records owned by a user or a group, handed over, and rights that change.

Changes to sharing rules and groups take effect on the next request; a user who is
no longer active can no longer sign in, and what they owned stays where the role
tree and the sharing rules put it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.access.conftest import Member, Org, World, admin_do, member
from tests.conftest import Api


async def visible_deals(api: Api) -> set[str]:
    data = await api.query("{ deals(first: 100) { edges { node { name } } } }")
    return {edge["node"]["name"] for edge in data["deals"]["edges"]}


async def owner_of(api: Api, ident: str) -> str:
    data = await api.query("query($id: ID!) { deal(id: $id) { ownerId } }", {"id": ident})
    return str(data["deal"]["ownerId"])


async def test_a_record_owned_by_a_group_is_shared_by_its_members(org: Org, world: World
                                                                  ) -> None:
    # when the East rep files a deal under the group Key accounts, which they belong to
    made = await org["east"].api.query(
        'mutation($g: ID) { createDeal(data: {name: "for the group", stage: "Proposal", '
        "ownerId: $g}) { ownerId } }", {"g": org.group_id})

    # then the group owns it; the East rep (a member) and the manager (by a sharing
    # rule) see it, those outside the group do not
    assert made["createDeal"]["ownerId"] == org.group_id
    seeing = {person for person in ("director", "manager", "east", "east2", "west")
              if "for the group" in await visible_deals(org[person].api)}
    assert seeing == {"manager", "east"}


async def test_a_record_given_away_leaves_its_former_owner(org: Org, world: World) -> None:
    deal = world.deals["east"]

    # when the East rep hands their deal to the West rep
    await org["east"].api.query("mutation($id: ID!, $o: ID) { updateDeal(id: $id, data: "
                                "{ownerId: $o}) { id } }", {"id": deal, "o": org["west"].id})

    # then the West rep sees and changes it, and the East rep no longer sees it
    assert "east deal" in await visible_deals(org["west"].api)
    await org["west"].api.query('mutation($id: ID!) { updateDeal(id: $id, data: {name: '
                                '"now west"}) { id } }', {"id": deal})
    assert "now west" not in await visible_deals(org["east"].api)


async def test_a_record_one_only_reads_cannot_be_taken_over(org: Org, world: World) -> None:
    deal = world.deals["east"]

    # when the West rep, who only reads the East rep's deals, makes one theirs
    errors = await org["west"].api.errors("mutation($id: ID!, $o: ID) { updateDeal(id: $id, "
                                          "data: {ownerId: $o}) { id } }",
                                          {"id": deal, "o": org["west"].id})

    # then it is FORBIDDEN and the owner stays
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert await owner_of(org["admin"].api, deal) == org["east"].id


@pytest.mark.parametrize("verb", ["create", "update"])
@pytest.mark.parametrize("owner", ["0f0f0f0f-0000-4000-8000-000000000000", None],
                         ids=["nobody", "empty"])
async def test_a_record_always_has_a_real_owner(
    org: Org, world: World, verb: str, owner: str | None
) -> None:
    # given the deals as they are
    before = await visible_deals(org["admin"].api)
    if verb == "create":
        operation = ('mutation($o: ID) { createDeal(data: {name: "orphan", stage: "Proposal", '
                     "ownerId: $o}) { id } }")
        variables: dict[str, Any] = {"o": owner}
    else:
        operation = ('mutation($id: ID!, $o: ID) { updateDeal(id: $id, data: {name: "orphan", '
                     "ownerId: $o}) { id } }")
        variables = {"id": world.deals["east"], "o": owner}

    # when the East rep gives a deal an owner that is no user or group, or none
    errors = await org["east"].api.errors(operation, variables)

    # then it is refused, naming the field, and nothing changed
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert errors[0]["extensions"]["field"] == "ownerId"
    assert await visible_deals(org["admin"].api) == before


# -- rights that change ----------------------------------------------------------------


@pytest.fixture
async def rule(api: Api, org: Org, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """A sharing rule for one test (rules apply to everyone), deleted afterwards."""
    data = {"module": "Deal", **request.param}
    for field in ("owner", "sharedWith"):
        name = data[field]
        if name == "Key accounts":
            data[field] = org.group
        elif name in org.people:
            data[field] = org[name].email
        else:
            data[field] = org.roles[name]
    ident = await admin_do(api, "($d: SharingRuleInput!) { createSharingRule(data: $d) }",
                           {"d": data})
    yield
    await admin_do(api, "($id: ID!) { deleteSharingRule(id: $id) }", {"id": ident})


RULES = [
    # (rule, person, deals they see on top of the matrix). A group's records, like a
    # role's, are those its members own as well as those it owns itself.
    ({"ownerKind": "group", "owner": "Key accounts", "sharedKind": "user",
      "sharedWith": "east2", "access": "read"}, "east2", {"group deal", "east deal"}),
    ({"ownerKind": "role_and_subordinates", "owner": "Sales Manager",
      "sharedKind": "role_and_subordinates", "sharedWith": "Sales West", "access": "read"},
     "west", {"manager deal"}),
    ({"ownerKind": "role", "owner": "Sales West", "sharedKind": "group",
      "sharedWith": "Key accounts", "access": "read_write"}, "east", {"west deal"}),
]


@pytest.mark.parametrize(("rule", "person", "extra"), RULES, indirect=["rule"],
                         ids=["group to a user", "subtree to a subtree", "role to a group"])
async def test_a_new_sharing_rule_applies_at_once(
    org: Org, world: World, rule: None, person: str, extra: set[str]
) -> None:
    # given a sharing rule made just now (see the fixture)
    # when the person lists deals
    seen = await visible_deals(org[person].api)

    # then they see the deals the rule opens, and no others beyond their own
    from tests.access.test_matrix import DEAL_GRADES

    granted = {f"{owner} deal" for (who, owner), grade in DEAL_GRADES.items()
               if who == person and grade != "-"}
    assert seen == granted | extra


async def test_a_deleted_sharing_rule_closes_at_once(api: Api, org: Org, world: World) -> None:
    # given a rule sharing the manager's deals with the East2 rep, who saw them
    ident = await admin_do(api, "($d: SharingRuleInput!) { createSharingRule(data: $d) }",
                           {"d": {"module": "Deal", "ownerKind": "role",
                                  "owner": org.roles["Sales Manager"], "sharedKind": "user",
                                  "sharedWith": org["east2"].email, "access": "read"}})
    assert "manager deal" in await visible_deals(org["east2"].api)

    # when it is deleted
    await admin_do(api, "($id: ID!) { deleteSharingRule(id: $id) }", {"id": ident})

    # then the next request no longer shows them
    assert await visible_deals(org["east2"].api) == {"east2 deal"}


async def test_joining_a_group_opens_its_records_at_once(api: Api, org: Org, world: World
                                                         ) -> None:
    # given a new group owning a deal, and the East2 rep outside it
    group = f"Night shift {org.suffix}"
    group_id = await admin_do(api, "($n: String!) { createGroup(name: $n) }", {"n": group})
    await admin_do(api, '($o: ID) { createDeal(data: {name: "night deal", stage: "Proposal", '
                        "ownerId: $o}) { id } }", {"o": group_id})
    assert "night deal" not in await visible_deals(org["east2"].api)

    # when the East2 rep's role joins the group
    await admin_do(api, '($g: String!, $r: String!) { addGroupMember(group: $g, kind: "role", '
                        "member: $r) }", {"g": group, "r": org.roles["Sales East"]})

    # then they, and the other East rep, see its deal on the next request
    assert "night deal" in await visible_deals(org["east2"].api)
    assert "night deal" in await visible_deals(org["east"].api)


# -- users who leave ---------------------------------------------------------------------


async def deactivate(api: Api, person: Member) -> None:
    """No mutation deactivates a user yet; the column is what sign-in and rights read."""
    async with api.engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE dg_users SET active = false WHERE id = $1",
                                   (person.id,))
        await conn.exec_driver_sql("UPDATE dg_access_version SET version = version + 1")
    api.runtime.access_changed()


async def test_an_inactive_user_is_locked_out_but_their_records_stay_visible(
    api: Api, org: Org, world: World
) -> None:
    # given a second West rep who owns a deal
    leaver = await member(api, "leaver", org.roles["Sales West"])
    await admin_do(api, '($o: ID) { createDeal(data: {name: "leaver deal", stage: "Proposal", '
                        "ownerId: $o}) { id } }", {"o": leaver.id})

    # when they leave and are made inactive
    await deactivate(api, leaver)

    # then their token stops working
    refused = await leaver.api.raw("{ me { id } }")
    await leaver.api.client.aclose()
    assert refused.status_code == 401

    # and their deal stays with the role tree: the manager and director still see it
    assert "leaver deal" in await visible_deals(org["manager"].api)
    assert "leaver deal" in await visible_deals(org["director"].api)


async def test_groups_nest_even_in_a_circle(api: Api, org: Org, world: World) -> None:
    # given two groups holding each other, the East2 rep in the inner one, and a deal
    # owned by the outer one
    outer, inner = f"Outer {org.suffix}", f"Inner {org.suffix}"
    outer_id = await admin_do(api, "($n: String!) { createGroup(name: $n) }", {"n": outer})
    await admin_do(api, "($n: String!) { createGroup(name: $n) }", {"n": inner})
    for group, kind, name in ((outer, "group", inner), (inner, "group", outer),
                              (inner, "user", org["east2"].email)):
        await admin_do(api, "($g: String!, $k: String!, $m: String!) { addGroupMember("
                            "group: $g, kind: $k, member: $m) }",
                       {"g": group, "k": kind, "m": name})
    await admin_do(api, '($o: ID) { createDeal(data: {name: "outer deal", stage: "Proposal", '
                        "ownerId: $o}) { id } }", {"o": outer_id})

    # when the East2 rep lists deals, then they see it, through both groups
    assert await visible_deals(org["east2"].api) == {"east2 deal", "outer deal"}
