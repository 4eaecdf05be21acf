"""Metadata changes reach every running instance, without a restart or a failed request."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from defalto_gql.app import create_app
from defalto_gql.db.migrate import shipped_dir
from defalto_gql.metadata.shipped import install_shipped
from defalto_gql.runtime import LISTENER_NAME
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, settings_for_tests, sign_in


@contextlib.asynccontextmanager
async def second_instance(database_url: str) -> AsyncIterator[Api]:
    """Another app on the same database, as a second server would be."""
    app = create_app(settings_for_tests(), database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://two") as client:
            token = await sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
            client.headers["Authorization"] = f"Bearer {token}"
            yield Api(client, app.state.runtime)


async def wait_until_served(other: Api, query: str, timeout: float = 10.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        body = (await other.raw(query)).json()
        if "errors" not in body:
            return time.perf_counter() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"the other instance never served {query}")


async def add_text_field(api: Api, label: str) -> str:
    found = await api.query('mutation($l: String!) { createField(module: "Account", data: '
                            '{label: $l, type: "text"}) { name } }', {"l": label})
    return str(found["createField"]["name"])


async def test_a_field_created_on_one_instance_is_served_by_the_other(
    api: Api, database_url: str
) -> None:
    async with second_instance(database_url) as other:
        name = await add_text_field(api, f"Territory {uuid.uuid4().hex[:6]}")
        waited = await wait_until_served(other, f"{{ accounts {{ totalCount edges {{ node "
                                                f"{{ {name} }} }} }} }}")
        assert waited < 2.0


async def test_a_dropped_listener_reconnects_and_catches_up(api: Api, database_url: str) -> None:
    async with second_instance(database_url) as other:
        await asyncio.sleep(0.3)
        async with api.engine.connect() as conn:
            killed = (await conn.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1 AND datname = current_database()",
                (LISTENER_NAME,))).scalar_one()
        assert killed >= 1
        name = await add_text_field(api, f"Zone {uuid.uuid4().hex[:6]}")
        await wait_until_served(other, f"{{ accounts {{ edges {{ node {{ {name} }} }} }} }}")


async def test_a_request_finishes_on_the_schema_it_started_with(api: Api) -> None:
    # Given a request that has taken its schema generation, and a field it asks for
    name = await add_text_field(api, f"Legacy {uuid.uuid4().hex[:6]}")
    await api.query(f'mutation {{ createAccount(data: {{name: "A", {name}: "kept"}}) {{ id }} }}')
    started_on = api.runtime.generation()
    # When the field is deleted meanwhile
    await api.query('mutation($n: String!) { deleteField(module: "Account", name: $n) '
                    "{ version } }", {"n": name})
    assert api.runtime.generation().version > started_on.version
    # Then the request, executing on its own generation, still completes
    result = await started_on.schema.execute(
        f"{{ accounts {{ edges {{ node {{ {name} }} }} }} }}",
        context_value=api.runtime.context(started_on),
    )
    assert result.errors is None
    assert result.data == {"accounts": {"edges": [{"node": {name: "kept"}}]}}


async def test_shipped_definitions_evolve_without_touching_custom_fields(
    api: Api, tmp_path: Path
) -> None:
    # Given a custom field holding a value
    custom = await add_text_field(api, f"Custom {uuid.uuid4().hex[:6]}")
    await api.query(f'mutation {{ createAccount(data: {{name: "A", {custom}: "mine"}}) '
                    "{ id } }")
    # When a later release adds a field to the Account file
    folder = tmp_path / "metadata"
    shutil.copytree(shipped_dir("metadata"), folder)
    added = f"sicCode{uuid.uuid4().hex[:6]}"
    with (folder / "account.toml").open("a", encoding="utf-8") as file:
        file.write(f'\n[[fields]]\nname = "{added}"\nlabel = "SIC code"\ntype = "text"\n')
    created = await install_shipped(api.engine, folder)
    await api.runtime.refresh()
    # Then the new field is served, and the custom field and its value are untouched
    assert created == 1
    found = await api.query(f"{{ accounts {{ edges {{ node {{ {custom} {added} }} }} }} }}")
    assert found["accounts"]["edges"] == [{"node": {custom: "mine", added: None}}]
    assert await install_shipped(api.engine, folder) == 0


@pytest.mark.parametrize("rounds", [3])
async def test_no_request_fails_while_fields_come_and_go(
    api: Api, database_url: str, rounds: int
) -> None:
    await api.query('mutation { createAccount(data: {name: "Steady"}) { id } }')
    failures: list[object] = []
    stop = asyncio.Event()

    async def load(instance: Api) -> int:
        done = 0
        while not stop.is_set():
            body = (await instance.raw("{ accounts { totalCount edges { node { name } } } }")
                    ).json()
            if "errors" in body or body["data"]["accounts"]["totalCount"] != 1:
                failures.append(body)
            done += 1
        return done

    async with second_instance(database_url) as other:
        workers = [asyncio.create_task(load(i)) for i in (api, other, api, other)]
        for _ in range(rounds):
            name = await add_text_field(api, f"Churn {uuid.uuid4().hex[:6]}")
            await api.query('mutation($n: String!) { deleteField(module: "Account", name: $n) '
                            "{ version } }", {"n": name})
        stop.set()
        served = sum(await asyncio.gather(*workers))
    assert failures == []
    assert served > 0


async def test_a_shipped_field_never_takes_a_custom_fields_name_or_column(
    api: Api, tmp_path: Path
) -> None:
    # Given a custom field "Duns number" (API name dunsNumber, column x_duns_number…)
    tag = uuid.uuid4().hex[:6]
    custom = await add_text_field(api, f"Duns number {tag}")
    await api.query(f'mutation {{ createAccount(data: {{name: "A", {custom}: "mine"}}) '
                    "{ id } }")
    # When a release ships a field of the same API name
    folder = tmp_path / "metadata"
    shutil.copytree(shipped_dir("metadata"), folder)
    with (folder / "account.toml").open("a", encoding="utf-8") as file:
        file.write(f'\n[[fields]]\nname = "{custom}"\nlabel = "DUNS"\ntype = "integer"\n')
    created = await install_shipped(api.engine, folder)
    # Then the start goes on, the custom field keeps its name, type and value
    assert created == 0
    await api.runtime.refresh()
    found = await api.query(f"{{ accounts {{ edges {{ node {{ {custom} }} }} }} }}")
    assert found["accounts"]["edges"] == [{"node": {custom: "mine"}}]
    async with api.engine.connect() as conn:
        columns = {c for (c,) in await conn.exec_driver_sql(
            "SELECT column_name FROM dg_fields f JOIN dg_modules m ON m.id = f.module_id "
            "WHERE m.name = 'Account'")}
    assert all(c.startswith("x_") for c in columns if "duns" in c)
