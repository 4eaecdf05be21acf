"""Test fixtures: one real PostgreSQL database per session, the real ASGI app, an HTTP client.

The database server is ``DEFALTO_TEST_DATABASE_URL`` when set (a scratch
database is created on it and dropped afterwards), otherwise an embedded
PostgreSQL started in a temporary folder and stopped at the end.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from defalto_gql.app import create_app
from defalto_gql.config import Settings
from defalto_gql.db.engine import async_url, make_engine
from defalto_gql.runtime import Runtime


def _server_url() -> Iterator[str]:
    given = os.environ.get("DEFALTO_TEST_DATABASE_URL")
    if given:
        yield async_url(given)
        return
    from defalto_gql.db.embedded import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="defalto-test-") as folder:
        server = EmbeddedPostgres(Path(folder) / "pg")
        try:
            yield server.url()
        finally:
            server.stop()


async def _admin(url: str, statement: str) -> None:
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(statement)
    await engine.dispose()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    yield from _server_url()


async def scratch_database(server_url: str) -> str:
    name = f"defalto_test_{uuid.uuid4().hex[:10]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    url = await scratch_database(server_url)
    yield url
    await drop_database(server_url, url)


ADMIN_EMAIL = "admin@test.defalto.local"
ADMIN_PASSWORD = "test-admin-password"


def settings_for_tests(**changes: Any) -> Settings:
    base = Settings.from_env()
    # Fixtures build data in few requests, with many aliases; the limits have their own tests.
    values = {**base.__dict__, "database_url": None, "admin_email": ADMIN_EMAIL,
              "admin_password": ADMIN_PASSWORD, "max_aliases": 1000, "max_tokens": 200_000,
              **changes}
    return Settings(**values)


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> str:
    """Log in through the API and return the session token."""
    response = await client.post("/graphql", json={
        "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
                 "{ token } }", "variables": {"e": email, "p": password}})
    body = response.json()
    assert "errors" not in body, body
    return str(body["data"]["login"]["token"])


class Api:
    """A GraphQL client over the in-process ASGI transport (real app, real database)."""

    def __init__(self, client: httpx.AsyncClient, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime

    @property
    def engine(self) -> AsyncEngine:
        return self.runtime.engine

    async def raw(self, query: str, variables: dict[str, Any] | None = None,
                  **headers: str) -> httpx.Response:
        return await self.client.post("/graphql", json={"query": query, "variables": variables},
                                      headers=headers)

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run an operation that must succeed; returns ``data``."""
        response = await self.raw(query, variables)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def errors(self, query: str, variables: dict[str, Any] | None = None
                     ) -> list[dict[str, Any]]:
        """Run an operation that must fail; returns its errors."""
        body = (await self.raw(query, variables)).json()
        assert body.get("errors"), body
        errors: list[dict[str, Any]] = body["errors"]
        return errors


@pytest.fixture(scope="session")
async def api(database_url: str) -> AsyncIterator[Api]:
    app = create_app(settings_for_tests(), database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            token = await sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
            client.headers["Authorization"] = f"Bearer {token}"
            yield Api(client, app.state.runtime)


@pytest.fixture(autouse=True)
async def clean_records(request: pytest.FixtureRequest) -> None:
    """Empty every module table before each test that uses the shared API."""
    if "api" not in request.fixturenames:
        return
    api: Api = request.getfixturevalue("api")
    tables = api.runtime.generation().model.tables
    names = [t.name for t in [*tables.modules.values(), *tables.links.values()]]
    async with api.engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {', '.join(names)} CASCADE"))
