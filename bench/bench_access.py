"""What the row filter costs: the nested benchmark query as a sales manager and as an administrator.

The data is bench_nested's (N accounts with M contacts each). Accounts and
contacts are made private and their ownership is spread over ten sales reps
below one sales manager, so the manager sees exactly what the administrator
sees, but through the access layer: a role-tree predicate on every table the
query reads. Both users then drive the same queries over real HTTP, one after
the other, and the table shows the difference.

    python bench/bench_access.py [--accounts 100] [--contacts 10] [--duration 10]
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import httpx
from _support import authorization, graphql, running_server, scratch_database, setup_logging
from bench_nested import (
    BENCH_DATABASE,
    NESTED_QUERY,
    REQUEST_TIMEOUT,
    SHAPES,
    Options,
    Result,
    fill,
    measure,
    parse_args,
    print_table,
)

logger = logging.getLogger("bench.access")

REPS = 10
PASSWORD = "bench-sales-password"
SETUP = """
mutation {
  createRole(name: "Bench Manager")
  rep: createRole(name: "Bench Rep", parent: "Bench Manager")
  createProfile(name: "Bench Sales")
  a: setModuleRights(profile: "Bench Sales", module: "Account", actions: ["view"])
  c: setModuleRights(profile: "Bench Sales", module: "Contact", actions: ["view"])
  m: setRoleProfiles(role: "Bench Manager", profiles: ["Bench Sales"])
  r: setRoleProfiles(role: "Bench Rep", profiles: ["Bench Sales"])
  da: setModuleDefault(module: "Account", access: "private")
  dc: setModuleDefault(module: "Contact", access: "private")
}"""
CREATE_USER = """mutation($e: String!, $r: String!, $p: String!) {
  createUser(data: {email: $e, name: $e, password: $p, role: $r}) { id } }"""
REASSIGN = """mutation($ids: [ID!]!, $owner: ID!) {
  updateAccounts(filter: {id: {in: $ids}}, data: {ownerId: $owner}) { id }
  updateContacts(filter: {accountId: {in: $ids}}, data: {ownerId: $owner}) { id } }"""
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"


async def share_out(client: httpx.AsyncClient, endpoint: str) -> dict[str, str]:
    """Make the modules private, give the records to ten reps; the manager's header."""
    await graphql(client, endpoint, SETUP)
    reps = []
    for n in range(REPS):
        made = await graphql(client, endpoint, CREATE_USER, {
            "e": f"rep{n}@bench.defalto.local", "r": "Bench Rep", "p": PASSWORD})
        reps.append(made["createUser"]["id"])
    await graphql(client, endpoint, CREATE_USER, {
        "e": "manager@bench.defalto.local", "r": "Bench Manager", "p": PASSWORD})
    accounts = await graphql(client, endpoint, "{ accounts(first: 500) { edges { node { id } } } }")
    ids = [e["node"]["id"] for e in accounts["accounts"]["edges"]]
    for n, owner in enumerate(reps):
        await graphql(client, endpoint, REASSIGN, {"ids": ids[n::REPS], "owner": owner})
    signed = await graphql(client, endpoint, LOGIN, {"e": "manager@bench.defalto.local",
                                                     "p": PASSWORD})
    return {"Authorization": f"Bearer {signed['login']['token']}"}


async def run(options: Options) -> list[Result]:
    async with (
        scratch_database(BENCH_DATABASE, options.embedded) as database_url,
        running_server(database_url) as endpoint,
    ):
        limits = httpx.Limits(max_connections=options.concurrency,
                              max_keepalive_connections=options.concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as admin:
            await fill(admin, endpoint, options.accounts, options.contacts)
            manager_header = await share_out(admin, endpoint)
            async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT,
                                         headers=manager_header) as manager:
                return await _compare(admin, manager, endpoint, options)


async def _compare(admin: httpx.AsyncClient, manager: httpx.AsyncClient, endpoint: str,
                   options: Options) -> list[Result]:

    admin.headers.update(authorization(endpoint))
    results = []
    for label, accounts, contacts in SHAPES:
        variables = {"accounts": accounts, "contacts": contacts}
        payload: dict[str, Any] = {"query": NESTED_QUERY, "variables": variables}
        for who, client in (("admin", admin), ("sales manager", manager)):
            await _check(client, endpoint, variables, options)
            results.append(await measure(client, endpoint, f"{label} / {who}", payload, options))
    return results


async def _check(client: httpx.AsyncClient, endpoint: str, variables: dict[str, int],
                 options: Options) -> None:
    """Both users must get the full result, or the comparison means nothing."""
    response = await client.post(endpoint, json={"query": NESTED_QUERY, "variables": variables})
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"the benchmark query failed: {body['errors']}")
    edges = body["data"]["accounts"]["edges"]
    if len(edges) != min(variables["accounts"], options.accounts):
        raise RuntimeError(f"the user sees {len(edges)} accounts, not all of them")


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    options = parse_args(argv)
    try:
        results = asyncio.run(run(options))
    except RuntimeError as error:
        logger.error("benchmark aborted: %s", error)
        return 2
    print_table(results, options)
    for admin_result, manager_result in zip(results[::2], results[1::2], strict=True):
        cost = manager_result.percentile(0.5) / admin_result.percentile(0.5) - 1
        print(f"row filter cost at p50, {admin_result.query.split(' / ')[0]}: {cost:+.1%}")
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
