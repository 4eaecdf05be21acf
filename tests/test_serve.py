"""End to end: ``defalto serve`` as a real process, a real uvicorn, real HTTP.

Most API tests run in process (tests/test_http.py); these check what only a
real process shows: the command line, the port, the workers, a clean exit on
SIGTERM, and the embedded PostgreSQL that starts and stops with the server and
keeps its data between runs.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import drop_database, scratch_database
from tests.processes import DEFALTO, alive, environment, postgres_processes

START_SECONDS = 120  # a first embedded start runs initdb and installs every module
STOP_SECONDS = 60
COUNTS = "{ accounts { totalCount } contacts { totalCount } deals { totalCount } }"
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
ADMIN_EMAIL = "admin@defalto.local"  # the default DEFALTO_ADMIN_EMAIL
ADMIN_PASSWORD = "serve-admin-password"
ANNOUNCED = re.compile(r"Created the administrator (\S+) with the password (\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Served:
    """A running ``defalto serve`` and a client for it, signed in as the administrator
    unless told otherwise."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log
        self.token: str | None = None

    def sign_in(self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
        response = httpx.post(f"{self.url}/graphql", timeout=30, json={
            "query": LOGIN, "variables": {"e": email, "p": password}})
        body = response.json()
        assert "errors" not in body, body
        self.token = body["data"]["login"]["token"]

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        if self.token is None:
            self.sign_in()
        response = httpx.post(f"{self.url}/graphql", json={"query": query, "variables": variables},
                              headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        body: dict[str, Any] = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until_healthy(served: Served) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"defalto serve exited with {served.process.returncode}:\n"
                        f"{served.output()}")
        try:
            if httpx.get(f"{served.url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"defalto serve did not become healthy in {START_SECONDS} s:\n{served.output()}")


@contextmanager
def serve(env: dict[str, str], folder: Path, *options: str,
          stop: signal.Signals = signal.SIGTERM) -> Iterator[Served]:
    """Start ``defalto serve`` and wait for /health; on leaving, signal ``stop``, expect exit 0."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [DEFALTO, "serve", "--host", "127.0.0.1", "--port", str(port), *options],
            env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
        )
    served = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_healthy(served)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(stop)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"defalto serve ignored {stop.name}:\n{served.output()}")
    assert process.returncode == 0, served.output()


@pytest.fixture
async def scratch_url(server_url: str) -> AsyncIterator[str]:
    """A database of its own, for a server process that installs its modules into it."""
    url = await scratch_database(server_url)
    yield url
    await drop_database(server_url, url)


CREATE_ACCOUNT = """
mutation($name: String) { createAccount(data: {name: $name, employees: 12}) { id name version } }
"""


def admin_environment(**settings: str) -> dict[str, str]:
    return environment(DEFALTO_ADMIN_PASSWORD=ADMIN_PASSWORD, **settings)


def test_serve_answers_queries_and_mutations_over_http(scratch_url: str, tmp_path: Path) -> None:
    with serve(admin_environment(DEFALTO_DATABASE_URL=scratch_url), tmp_path) as served:
        anonymous = httpx.post(f"{served.url}/graphql", json={"query": COUNTS})
        created = served.graphql(CREATE_ACCOUNT, {"name": "Initech"})["createAccount"]
        found = served.graphql("query($id: ID!) { account(id: $id) { name employees } }",
                               {"id": created["id"]})
        health = httpx.get(f"{served.url}/health").json()

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert created["version"] == 1
    assert found == {"account": {"name": "Initech", "employees": 12}}
    assert health["status"] == "ok"
    assert f"GraphQL at {served.url}/graphql" in served.output()
    # The administrator's password came from the environment: nothing to announce.
    assert "Created the administrator" not in served.output()
    assert ADMIN_PASSWORD not in served.output()


def test_serve_with_two_workers(scratch_url: str, tmp_path: Path) -> None:
    with serve(admin_environment(DEFALTO_DATABASE_URL=scratch_url), tmp_path,
               "--workers", "2") as served:
        workers = psutil.Process(served.process.pid).children(recursive=True)
        names = [worker.name().lower() for worker in workers]
        for number in range(20):
            served.graphql(CREATE_ACCOUNT, {"name": f"Account {number}"})
        total = served.graphql("{ accounts { totalCount } }")["accounts"]["totalCount"]

    assert total == 20
    assert len([name for name in names if "python" in name]) >= 2, names
    # multiprocessing's resource tracker notices its parent's exit a moment later
    deadline = time.monotonic() + STOP_SECONDS
    while any(alive(worker) for worker in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [worker for worker in workers if alive(worker)]


def test_serve_demo_loads_the_demo_data_once(scratch_url: str, tmp_path: Path) -> None:
    env = admin_environment(DEFALTO_DATABASE_URL=scratch_url)

    with serve(env, tmp_path, "--demo") as served:
        first = served.graphql(COUNTS)
    with serve(env, tmp_path, "--demo") as served:
        second = served.graphql(COUNTS)
        users = served.graphql("{ users { email role } }")["users"]
        served.sign_in("east@demo.defalto.local", "defalto-demo")
        east = served.graphql("{ me { role } deals { totalCount } }")

    assert all(count["totalCount"] > 0 for count in first.values()), first
    assert sum(count["totalCount"] for count in first.values()) >= 200
    assert second == first
    # The demo users, once each, in their roles; a sales rep sees only their own deals.
    assert sorted((u["email"], u["role"]) for u in users) == [
        ("admin@defalto.local", None), ("director@demo.defalto.local", "Director"),
        ("east@demo.defalto.local", "Sales East"), ("manager@demo.defalto.local", "Sales Manager"),
        ("support@demo.defalto.local", "Support"), ("west@demo.defalto.local", "Sales West"),
    ]
    assert east["me"] == {"role": "Sales East"}
    assert 0 < east["deals"]["totalCount"] < first["deals"]["totalCount"]


def test_embedded_postgres_keeps_data_across_restarts_and_stops(tmp_path: Path) -> None:
    data_dir = tmp_path / "defalto-data"
    env = environment(DEFALTO_DATA_DIR=str(data_dir))

    with serve(env, tmp_path, stop=signal.SIGINT) as served:  # Ctrl-C in a terminal
        # No DEFALTO_ADMIN_PASSWORD: the first start makes one up and says it once.
        announced = ANNOUNCED.search(served.output())
        assert announced, served.output()
        served.sign_in(announced[1], announced[2])
        created = served.graphql(CREATE_ACCOUNT, {"name": "Umbrella"})["createAccount"]
        assert postgres_processes(data_dir), "the embedded server should be running"
    assert not postgres_processes(data_dir), "the embedded server outlived defalto serve"

    with serve(env, tmp_path) as served:
        served.sign_in(announced[1], announced[2])
        found = served.graphql("{ accounts { edges { node { id name } } } }")
        assert "Created the administrator" not in served.output()

    assert announced[1] == ADMIN_EMAIL
    assert found["accounts"]["edges"] == [{"node": {"id": created["id"], "name": "Umbrella"}}]
    assert not postgres_processes(data_dir)
    assert not (data_dir / "postmaster.pid").exists()


UPLOAD = ("mutation($f: Upload!) { startImport(module: \"Account\", file: $f) { id status } }")
JOB = "query($id: ID!) { transferJob(id: $id) { status rowsDone result { created } fileUrl } }"


def test_an_upload_over_http_is_imported_by_a_separate_worker_process(
    scratch_url: str, tmp_path: Path
) -> None:
    # Given a server that runs no jobs itself
    env = admin_environment(DEFALTO_DATABASE_URL=scratch_url, DEFALTO_RUN_JOBS="off")
    csv_text = "Account name,Employees\r\n\"Grimes, Madden and Huff\",\" 1,200\"\r\nInitech,7\r\n"
    with serve(env, tmp_path) as served:
        served.sign_in()
        headers = {"Authorization": f"Bearer {served.token}"}
        # When a file is uploaded as a GraphQL multipart request over real HTTP
        response = httpx.post(f"{served.url}/graphql", headers=headers, timeout=30, data={
            "operations": json.dumps({"query": UPLOAD, "variables": {"f": None}}),
            "map": '{"0": ["variables.f"]}'},
            files={"0": ("accounts.csv", csv_text.encode(), "text/csv")})
        job = response.json()["data"]["startImport"]
        # Then it waits in the queue until a worker process runs it
        time.sleep(1)
        assert served.graphql(JOB, {"id": job["id"]})["transferJob"]["status"] == "queued"
        worker = subprocess.Popen([DEFALTO, "worker"], env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + START_SECONDS
            while time.monotonic() < deadline:
                found = served.graphql(JOB, {"id": job["id"]})["transferJob"]
                if found["status"] in ("finished", "failed"):
                    break
                time.sleep(0.25)
        finally:
            worker.send_signal(signal.SIGTERM)
            _, errors = worker.communicate(timeout=STOP_SECONDS)
        names = served.graphql("{ accounts { edges { node { name employees } } } }")

    assert worker.returncode == 0, errors.decode()
    assert found == {"status": "finished", "rowsDone": 2, "result": {"created": 2},
                     "fileUrl": None}
    assert sorted((e["node"]["name"], e["node"]["employees"])
                  for e in names["accounts"]["edges"]) == [("Grimes, Madden and Huff", 1200),
                                                          ("Initech", 7)]
