"""Saved import mappings: only whoever saved a name replaces it, also when saves race."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import sqlalchemy as sa

from tests.conftest import Api
from tests.transfer.test_jobs_api import _user_with

SAVE = ("mutation($n: String!, $r: JSON!) { saveImportMapping(module: \"Contact\", "
        "name: $n, rules: $r) { rules } }")


async def test_of_two_users_saving_a_new_name_at_once_only_one_succeeds(api: Api) -> None:
    # Given two users who may import contacts, each with rules of their own
    rights = {"Contact": ["view", "create", "import"]}
    east, west = await _user_with(api, rights), await _user_with(api, rights)
    rules = {east: {"columns": {"East": "lastName"}}, west: {"columns": {"West": "lastName"}}}
    names = [f"race {uuid.uuid4().hex[:6]} {n}" for n in range(30)]

    # When both save each new name at the same time
    async def save(user: Api, name: str) -> dict[str, Any]:
        response = await user.raw(SAVE, {"n": name, "r": rules[user]})
        body: dict[str, Any] = response.json()
        return body

    bodies = await asyncio.gather(*(save(user, name) for name in names for user in (east, west)))

    # Then for each name one save succeeded and the other was refused as someone else's,
    # and the mapping holds the rules of the user it is recorded under
    async with api.engine.connect() as conn:
        saved = {row.name: (json.loads(row.rules), row.email) for row in await conn.execute(sa.text(
            "SELECT m.name, m.rules::text AS rules, u.email FROM dg_import_mappings m "
            "JOIN dg_users u ON u.id = m.created_by WHERE m.name = ANY(:names)"),
            {"names": names})}
    emails = {east: await _email(east), west: await _email(west)}
    for index, name in enumerate(names):
        pair = dict(zip((east, west), bodies[2 * index:2 * index + 2], strict=True))
        won = [user for user, body in pair.items() if "errors" not in body]
        assert len(won) == 1, (name, pair)
        lost = pair[west if won[0] is east else east]
        assert lost["errors"][0]["extensions"] == {"code": "FORBIDDEN", "field": "name"}
        assert pair[won[0]]["data"]["saveImportMapping"]["rules"] == rules[won[0]]
        assert saved[name] == (rules[won[0]], emails[won[0]])


async def _email(user: Api) -> str:
    data = await user.query("{ me { email } }")
    return str(data["me"]["email"])


async def test_whoever_saved_a_name_or_an_administrator_replaces_it(api: Api) -> None:
    # Given a mapping saved by a user
    east = await _user_with(api, {"Contact": ["view", "create", "import"]})
    name = f"kept {uuid.uuid4().hex[:6]}"
    await east.query(SAVE, {"n": name, "r": {"columns": {"A": "lastName"}}})

    # When that user and then an administrator save it again
    mine = await east.query(SAVE, {"n": name, "r": {"columns": {"B": "lastName"}}})
    admins = await api.query(SAVE, {"n": name, "r": {"columns": {"C": "lastName"}}})

    # Then both replaced the rules
    assert mine["saveImportMapping"]["rules"] == {"columns": {"B": "lastName"}}
    assert admins["saveImportMapping"]["rules"] == {"columns": {"C": "lastName"}}
