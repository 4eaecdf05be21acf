"""What the benchmarks share: a scratch database, ``defalto serve`` subprocesses, GraphQL calls.

Each benchmark script imports this module from beside itself (``python
bench/<script>.py`` puts ``bench/`` first on the import path).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

logger = logging.getLogger("bench")

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
READY_TIMEOUT = 120.0
# The administrator of the scratch database's first start; the benchmarks act as them.
ADMIN_EMAIL = "admin@bench.defalto.local"
ADMIN_PASSWORD = "bench-admin-password"
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"

# The Authorization header for each running server's endpoint, from running_server.
_headers: dict[str, dict[str, str]] = {}


class GraphQLFailure(RuntimeError):
    """A GraphQL response with errors, or a non-200 status, during setup."""


def setup_logging() -> None:
    """INFO lines with a clock; Ctrl-C and SIGTERM both unwind through the cleanup."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    # pgserver narrates every pg_ctl call and httpx every request at INFO; logging each
    # request would also cost the CPU the server shares. Only their problems matter here.
    for name in ("pgserver", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Stopped by a process manager or a timeout: clean up as for Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def nearest_rank(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (NaN when there are none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    # The smallest value with at least ``share`` of them at or below it.
    rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[rank]


# The database ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_database(name: str, force_embedded: bool = False) -> AsyncIterator[str]:
    """Yield the URL of a fresh database ``name``; drop it afterwards."""
    embedded = None
    admin = await _admin_url() if not force_embedded else None
    if admin is None:
        embedded, admin = _start_embedded()
    try:
        await _admin_sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin_sql(admin, f'CREATE DATABASE "{name}"')
        yield _with_database(admin, name)
    finally:
        await _admin_sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if embedded is not None:
            embedded.stop()
            shutil.rmtree(embedded.data_dir, ignore_errors=True)


async def _admin_url() -> str | None:
    """The server to create the scratch database on; None means start an embedded one."""
    configured = os.environ.get("DEFALTO_DATABASE_URL")
    if configured:
        # A server named on purpose and not answering is an error, not a reason to swap.
        if not await _reachable(configured):
            raise RuntimeError(
                f"DEFALTO_DATABASE_URL {_without_password(configured)} does not answer"
            )
        return configured
    if await _reachable(LOCAL_SERVER):
        return LOCAL_SERVER
    logger.info("no PostgreSQL at %s; starting an embedded one", LOCAL_SERVER)
    return None


def _plain(url: str) -> str:
    """asyncpg wants ``postgresql://``; SQLAlchemy URLs may name the driver."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


async def _reachable(url: str) -> bool:
    try:
        connection = await asyncpg.connect(_plain(url), timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


async def _admin_sql(url: str, sql: str) -> None:
    connection = await asyncpg.connect(_plain(url), timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _start_embedded() -> tuple[Any, str]:
    from defalto_gql.db.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="defalto-bench-pg-")))
    return server, server.url("postgres")


# The server --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_server(database_url: str, log_path: Path | None = None) -> AsyncIterator[str]:
    """Run ``defalto serve`` on a free loopback port; yield its GraphQL endpoint.

    Once it answers, the benchmark signs in as the administrator; ``graphql`` sends
    the token by itself, other requests take it from ``authorization(endpoint)``.
    The server logs at WARNING; its log goes to ``log_path`` when given (and is
    kept), else to a temporary file that goes away with the server.
    """
    port = _free_port()
    work_dir = Path(tempfile.mkdtemp(prefix="defalto-bench-"))
    env = {
        **os.environ,
        "DEFALTO_DATABASE_URL": database_url,
        "DEFALTO_DATA_DIR": str(work_dir / "data"),
        "DEFALTO_LOG_LEVEL": "WARNING",
        # Read only while the database has no administrator: the first server makes it.
        "DEFALTO_ADMIN_EMAIL": ADMIN_EMAIL,
        "DEFALTO_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    command = [*_defalto_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log_path = log_path or work_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        endpoint = f"http://127.0.0.1:{port}/graphql"
        await _wait_ready(process, f"http://127.0.0.1:{port}/health", log_path)
        _headers[endpoint] = await _sign_in(endpoint)
        logger.info("server ready at %s (pid %s)", endpoint, process.pid)
        yield endpoint
    finally:
        _headers.pop(f"http://127.0.0.1:{port}/graphql", None)
        _stop(process)
        shutil.rmtree(work_dir, ignore_errors=True)


def authorization(endpoint: str) -> dict[str, str]:
    """The header that signs a request to ``endpoint`` in (a running_server's endpoint)."""
    return dict(_headers[endpoint])


async def _sign_in(endpoint: str) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(endpoint, json={
            "query": LOGIN, "variables": {"e": ADMIN_EMAIL, "p": ADMIN_PASSWORD}})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        # A database made by an earlier run with another administrator lands here.
        raise GraphQLFailure(f"signing in as {ADMIN_EMAIL} failed: {response.text[:2000]}")
    return {"Authorization": f"Bearer {body['data']['login']['token']}"}


def _defalto_command() -> list[str]:
    """The ``defalto`` script beside this interpreter, else the CLI module."""
    script = Path(sys.executable).with_name("defalto")
    return [str(script)] if script.exists() else [sys.executable, "-m", "defalto_gql.cli"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_ready(process: subprocess.Popen[bytes], health: str, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log_path.read_text("utf-8", "replace")[-4000:]
                raise RuntimeError(f"the server exited with {process.returncode}:\n{tail}")
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(health)
                if response.status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {READY_TIMEOUT:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# GraphQL -----------------------------------------------------------------------------------


async def graphql(
    client: httpx.AsyncClient, endpoint: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run one operation, signed in; return ``data``, raise on any error."""
    response = await client.post(endpoint, json={"query": query, "variables": variables or {}},
                                 headers=authorization(endpoint))
    if response.status_code != 200:
        raise GraphQLFailure(f"HTTP {response.status_code}: {response.text[:2000]}")
    body = response.json()
    if body.get("errors"):
        raise GraphQLFailure(json.dumps(body["errors"], indent=2)[:4000])
    data: dict[str, Any] = body["data"]
    return data
