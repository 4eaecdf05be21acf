"""The live metadata benchmark's scenario: its settings, the operations it sends, its data.

Both instances must answer the steady query alike before anything is measured;
``first_success`` is also how propagation waits for B.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _support import authorization, graphql

BENCH_DATABASE = "defalto_bench_metadata"
REQUEST_TIMEOUT = 30.0
PROPAGATION_TIMEOUT = 30.0
ACCOUNTS = 20

CREATE_FIELD = """
mutation($module: String!, $data: FieldInput!) {
  createField(module: $module, data: $data) { name }
}
"""
DELETE_FIELD = """
mutation($module: String!, $name: String!) {
  deleteField(module: $module, name: $name) { version }
}
"""
# A custom field (created at setup, never deleted) sits beside shipped ones.
STEADY_QUERY = """
query Steady {
  accounts(first: 20, orderBy: [{name: AscNullsLast}]) {
    edges { node { id name industry website benchStable } }
  }
}
"""


@dataclass(frozen=True)
class Options:
    """The command line, parsed."""

    modules: int
    fields: int
    builds: int
    propagations: int
    poll_ms: float
    concurrency: int
    baseline: float
    duration: float
    changes: int
    json_path: Path | None
    embedded: bool


async def prepare_data(control: httpx.AsyncClient, a: str, b: str) -> dict[str, Any]:
    """Accounts and a stable custom field; the steady query's answer, the same on A and B."""
    rows = [
        {
            "name": f"Bench Account {i:03d}",
            "industry": "Software",
            "website": f"https://account{i}.example",
        }
        for i in range(ACCOUNTS)
    ]
    mutation = "mutation($data: [AccountCreateInput!]!) { createAccounts(data: $data) { id } }"
    await graphql(control, a, mutation, {"data": rows})
    stable = {"label": "Bench stable", "type": "text", "default": "steady"}
    await graphql(control, a, CREATE_FIELD, {"module": "Account", "data": stable})

    expected = await graphql(control, a, STEADY_QUERY)
    if await first_success(control, b, STEADY_QUERY, 0.05) is None:
        raise RuntimeError(f"B did not serve benchStable within {PROPAGATION_TIMEOUT:.0f} s")
    if await graphql(control, b, STEADY_QUERY) != expected:
        raise RuntimeError("instances A and B answer the steady query differently")
    if {e["node"]["benchStable"] for e in expected["accounts"]["edges"]} != {"steady"}:
        raise RuntimeError(f"unexpected steady answer: {json.dumps(expected)[:500]}")
    return expected


async def first_success(
    client: httpx.AsyncClient, endpoint: str, query: str, pause: float
) -> tuple[float, int] | None:
    """Send ``query`` until it succeeds; the time of that answer and the polls, or None."""
    deadline = time.perf_counter() + PROPAGATION_TIMEOUT
    polls = 0
    while time.perf_counter() < deadline:
        polls += 1
        if await succeeds(client, endpoint, query):
            return time.perf_counter(), polls
        await asyncio.sleep(pause)
    return None


async def succeeds(client: httpx.AsyncClient, endpoint: str, query: str) -> bool:
    """One request: status 200 and no errors."""
    response = await client.post(endpoint, json={"query": query},
                                 headers=authorization(endpoint))
    return response.status_code == 200 and "errors" not in response.json()
