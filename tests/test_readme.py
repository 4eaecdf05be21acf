"""The README tells the truth: its examples run, its settings exist, CI runs its test command."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from defalto_gql.app import create_app
from defalto_gql.bootstrap import load_demo_once
from defalto_gql.demo_access import DEMO_PASSWORD
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    drop_database,
    scratch_database,
    settings_for_tests,
    sign_in,
)

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# An example's first line may say who sends it and how it fails:
# "# without a token, fails with UNAUTHENTICATED", "# as east@demo.defalto.local".
WHO = re.compile(r"^# (without a token|as (\S+?))(,|$)", re.MULTILINE)
FAILS = re.compile(r"^# (?:.*, )?fails with (\w+)")


def blocks() -> list[tuple[str, str]]:
    """The README's fenced blocks in order, as (language, text)."""
    return [(match[1], match[2]) for match in BLOCK.finditer(README)]


def test_ci_runs_the_readme_test_command() -> None:
    marked = README[README.index("<!-- test-command"):]
    command = BLOCK.search(marked)
    assert command is not None and command[1] == "sh"

    ci = (ROOT / ".ci" / "run").read_text()

    assert f"'{command[2].strip()}'" in ci


def test_every_setting_is_documented() -> None:
    sources = [ROOT / "defalto_gql" / "config.py", ROOT / "tests" / "conftest.py"]
    settings = {name for path in sources for name in re.findall(r"DEFALTO_\w+", path.read_text())}

    assert settings >= {"DEFALTO_DATABASE_URL", "DEFALTO_DATA_DIR", "DEFALTO_TEST_DATABASE_URL"}
    assert sorted(name for name in settings if f"`{name}`" not in README) == []


@pytest.fixture
async def demo_client(server_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A server of its own with the demo data and users (the examples change the data model),
    and a client signed in as the administrator."""
    url = await scratch_database(server_url)
    settings = settings_for_tests()
    app = create_app(settings, database_url=url)
    try:
        async with app.router.lifespan_context(app):
            await load_demo_once(app.state.runtime.engine, settings)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                token = await sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
                client.headers["Authorization"] = f"Bearer {token}"
                yield client
    finally:
        await drop_database(server_url, url)


async def send(client: httpx.AsyncClient, example: str, variables: dict[str, Any]
               ) -> httpx.Response:
    """Run an example as its first line asks: as the administrator unless it names a demo
    user, or says it goes without a token."""
    request = client.build_request("POST", "/graphql", json={"query": example,
                                                             "variables": variables})
    who = WHO.match(example)
    if who and who[2] is None:
        del request.headers["Authorization"]
    elif who:
        request.headers["Authorization"] = f"Bearer {await sign_in(client, who[2], DEMO_PASSWORD)}"
    return await client.send(request)


def variable_names(query: str) -> list[str]:
    operation = next(d for d in parse(query).definitions
                     if isinstance(d, OperationDefinitionNode))
    return [v.variable.name.value for v in operation.variable_definitions or ()]


def shows_data(data: dict[str, Any]) -> bool:
    """Every top-level answer is there, and lists are not empty."""
    return all(value and (not isinstance(value, dict) or value.get("edges", True) != [])
               for value in data.values())


async def test_the_examples_run_against_the_demo_data(demo_client: httpx.AsyncClient) -> None:
    known: dict[str, Any] = {"after": None, "version": 1}
    examples = blocks()
    ran = 0

    for number, (language, text) in enumerate(examples):
        if language != "graphql":
            continue
        variables = {name: known[name] for name in variable_names(text)}
        response = await send(demo_client, text, variables)
        body = response.json()
        ran += 1

        failure = FAILS.match(text)
        if text.startswith("# without a token"):
            assert response.status_code == 401, body
        if failure:
            assert [e["extensions"]["code"] for e in body["errors"]] == [failure[1]], body
            following = examples[number + 1] if number + 1 < len(examples) else ("", "")
            if following[0] == "json":
                assert json.loads(following[1]) == body
            continue
        assert "errors" not in body, (text, body["errors"])
        assert shows_data(body["data"]), (text, body["data"])
        if "createAccount" in body["data"]:
            known["id"] = known["account"] = body["data"]["createAccount"]["id"]

    assert ran >= 6

    # The field the last example created is served at once: no record has a tier yet.
    tiers = await demo_client.post("/graphql", json={"query": """{
        all: accounts { totalCount }
        untiered: accounts(filter: {tier: {is: NULL}}) { totalCount }
    }"""})
    counts = tiers.json()["data"]
    assert counts["untiered"] == counts["all"], tiers.json()
