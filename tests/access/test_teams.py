"""Who reports to whom, and from which office: set by administrators, read by integrators."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Api

CREATE = ("mutation($d: UserInput!) { createUser(data: $d) { email manager office } }")
UPDATE = ("mutation($e: String!, $d: UserChangeInput!) { updateUser(email: $e, data: $d) "
          "{ email manager office } }")


def person(key: str, t: str) -> str:
    return f"{key}.{t}@teams.test.invalid"


async def create(api: Api, email: str, **more: Any) -> dict[str, Any]:
    data = {"email": email, "name": email.split("@")[0], "password": "team-password-1", **more}
    found: dict[str, Any] = (await api.query(CREATE, {"d": data}))["createUser"]
    return found


async def test_a_user_is_created_with_a_manager_and_an_office(api: Api) -> None:
    t = uuid.uuid4().hex[:6]
    boss = person("boss", t)
    await create(api, boss)

    made = await create(api, person("rep", t), manager=boss.upper(), office=" Central ")

    assert made == {"email": person("rep", t), "manager": boss, "office": "Central"}
    listed = await api.query("{ users { email manager office } }")
    assert made in listed["users"]


async def test_changing_and_taking_away_the_manager_and_office(api: Api) -> None:
    t = uuid.uuid4().hex[:6]
    first, second, rep = person("first", t), person("second", t), person("rep", t)
    for email in (first, second):
        await create(api, email)
    await create(api, rep, manager=first, office="East")

    moved = await api.query(UPDATE, {"e": rep, "d": {"manager": second}})
    kept = moved["updateUser"]
    cleared = await api.query(UPDATE, {"e": rep, "d": {"manager": None, "office": None}})

    assert kept == {"email": rep, "manager": second, "office": "East"}
    assert cleared["updateUser"] == {"email": rep, "manager": None, "office": None}


async def test_reporting_lines_cannot_loop_or_name_nobody(api: Api) -> None:
    t = uuid.uuid4().hex[:6]
    top, middle, low = person("top", t), person("middle", t), person("low", t)
    await create(api, top)
    await create(api, middle, manager=top)
    await create(api, low, manager=middle)

    loop = await api.errors(UPDATE, {"e": top, "d": {"manager": low}})
    itself = await api.errors(UPDATE, {"e": top, "d": {"manager": top}})
    nobody = await api.errors(CREATE, {"d": {"email": person("x", t), "name": "X",
                                             "password": "team-password-1",
                                             "manager": person("ghost", t)}})

    assert [e["extensions"]["code"] for e in (*loop, *itself, *nobody)] == \
        ["BAD_USER_INPUT"] * 3
    assert "loop" in loop[0]["message"]
    assert itself[0]["message"] == "a user cannot report to themselves"
    assert nobody[0]["message"] == f"there is no user {person('ghost', t)} to report to"
    users = await api.query("{ users { email } }")
    assert person("x", t) not in [u["email"] for u in users["users"]]
