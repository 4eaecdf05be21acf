"""Benchmark nested reads: accounts with their contacts, over real HTTP.

Fills a scratch database with N accounts of M contacts each, starts
``defalto serve`` on loopback as a subprocess, and for two queries measures
requests per second and p50/p99 latency with 16 concurrent clients: a warm-up
of 2 s, then 10 s of measurement. The queries read about five fields per
record: 100 accounts with 10 contacts each, and 10 accounts with 10 contacts
each. Failed requests (a status other than 200, errors in the body, timeouts)
are counted and reported apart.

The database is a scratch one, ``defalto_bench``, created and dropped on the
PostgreSQL server that ``DEFALTO_DATABASE_URL`` names (which must answer), else
on the local one at 127.0.0.1:5432, else (or with ``--embedded``) on an embedded
pgserver in a temporary folder. The server and the load generator share the
machine, so the figures are a lower bound.

    python bench/bench_nested.py --accounts 100 --contacts 10 [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _support import (
    authorization,
    graphql,
    nearest_rank,
    running_server,
    scratch_database,
    setup_logging,
)

logger = logging.getLogger("bench_nested")

BENCH_DATABASE = "defalto_bench"
ACCOUNT_BATCH, CONTACT_BATCH = 100, 500
REQUEST_TIMEOUT = 30.0

NESTED_QUERY = """
query BenchNested($accounts: Int!, $contacts: Int!) {
  accounts(first: $accounts) {
    edges {
      node {
        id name industry website phone
        contacts(first: $contacts) {
          edges { node { id firstName lastName email title } }
        }
      }
    }
  }
}
"""
# (label, accounts, contacts per account)
SHAPES = (("100 accounts x 10 contacts", 100, 10), ("10 accounts x 10 contacts", 10, 10))
INDUSTRIES = ("Software", "Energy", "Retail", "Insurance", "Logistics / Procurement")


@dataclass(frozen=True)
class Options:
    """The command line, parsed."""

    accounts: int
    contacts: int
    concurrency: int
    warmup: float
    duration: float
    json_path: Path | None
    embedded: bool


@dataclass
class Result:
    """What one query did during the measured window."""

    query: str
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """The nearest-rank percentile of successful latencies, in milliseconds."""
        return nearest_rank(self.latencies, share) * 1000

    def summary(self) -> dict[str, Any]:
        found = {k: v for k, v in asdict(self).items() if k != "latencies"}
        found.update(
            per_second=round(self.per_second, 1),
            p50_ms=round(self.percentile(0.50), 2),
            p99_ms=round(self.percentile(0.99), 2),
        )
        return found


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100, help="accounts to create (N)")
    parser.add_argument("--contacts", type=int, default=10, help="contacts per account (M)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--json", type=Path, dest="json_path", help="also write results here")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="use an embedded PostgreSQL even if one is reachable",
    )
    args = parser.parse_args(argv)
    return Options(**vars(args))


async def run(options: Options) -> list[Result]:
    """Set everything up, measure both queries, tear everything down."""
    async with (
        scratch_database(BENCH_DATABASE, options.embedded) as database_url,
        running_server(database_url) as endpoint,
    ):
        limits = httpx.Limits(
            max_connections=options.concurrency, max_keepalive_connections=options.concurrency
        )
        async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT,
                                     headers=authorization(endpoint)) as client:
            await fill(client, endpoint, options.accounts, options.contacts)
            results = []
            for label, accounts, contacts in SHAPES:
                variables = {"accounts": accounts, "contacts": contacts}
                await check_shape(client, endpoint, variables, options)
                payload = {"query": NESTED_QUERY, "variables": variables}
                results.append(await measure(client, endpoint, label, payload, options))
    return results


# The data ----------------------------------------------------------------------------------


async def fill(client: httpx.AsyncClient, endpoint: str, accounts: int, contacts: int) -> None:
    """Create the accounts, then their contacts, in batches."""
    started = time.perf_counter()
    mutation = "mutation($data: [AccountCreateInput!]!) { createAccounts(data: $data) { id } }"
    ids: list[str] = []
    for start in range(0, accounts, ACCOUNT_BATCH):
        rows = [_account_row(i) for i in range(start, min(accounts, start + ACCOUNT_BATCH))]
        data = await graphql(client, endpoint, mutation, {"data": rows})
        ids += [item["id"] for item in data["createAccounts"]]

    mutation = "mutation($data: [ContactCreateInput!]!) { createContacts(data: $data) { id } }"
    rows = [_contact_row(account, n) for account in ids for n in range(contacts)]
    for start in range(0, len(rows), CONTACT_BATCH):
        await graphql(client, endpoint, mutation, {"data": rows[start : start + CONTACT_BATCH]})
    elapsed = time.perf_counter() - started
    logger.info("created %s accounts and %s contacts in %.1f s", accounts, len(rows), elapsed)


def _account_row(i: int) -> dict[str, Any]:
    return {
        "name": f"Bench Account {i:06d}",
        "industry": INDUSTRIES[i % len(INDUSTRIES)],
        "website": f"https://account{i}.example",
        "phone": f"+1 555 {i % 10_000:04d}",
    }


def _contact_row(account_id: str, n: int) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "email": f"contact{n}.{account_id[:8]}@example.com",
        "title": "Buyer" if n % 2 else "Engineer",
    }


async def check_shape(
    client: httpx.AsyncClient, endpoint: str, variables: dict[str, int], options: Options
) -> None:
    """Run the query once and check it returns as many records as the data allows."""
    data = await graphql(client, endpoint, NESTED_QUERY, variables)
    edges = data["accounts"]["edges"]
    want_contacts = min(variables["contacts"], options.contacts)
    counts = {len(edge["node"]["contacts"]["edges"]) for edge in edges}
    if len(edges) != min(variables["accounts"], options.accounts) or counts - {want_contacts}:
        raise RuntimeError(f"unexpected result shape: {len(edges)} accounts, {counts} contacts")


# The load ----------------------------------------------------------------------------------


async def measure(
    client: httpx.AsyncClient, endpoint: str, label: str, payload: dict[str, Any], options: Options
) -> Result:
    """Drive the query from ``concurrency`` workers; count what completes in the window."""
    result = Result(label)
    begin = time.perf_counter() + options.warmup
    end = begin + options.duration
    body = json.dumps(payload).encode()
    # Bounded: every request has its own timeout, and the whole run has one too.
    async with (
        asyncio.timeout(options.warmup + options.duration + 60),
        asyncio.TaskGroup() as group,
    ):
        for _ in range(options.concurrency):
            group.create_task(_worker(client, endpoint, body, result, begin, end))
    result.seconds = options.duration
    logger.info("measured %s: %s ok, %s failed", label, result.ok, result.failed)
    return result


async def _worker(
    client: httpx.AsyncClient, endpoint: str, body: bytes, result: Result, begin: float, end: float
) -> None:
    headers = {"content-type": "application/json"}
    while (started := time.perf_counter()) < end:
        ok = await _request_ok(client, endpoint, body, headers)
        finished = time.perf_counter()
        if not begin <= finished <= end:
            continue
        if ok:
            result.ok += 1
            result.latencies.append(finished - started)
        else:
            result.failed += 1


async def _request_ok(
    client: httpx.AsyncClient, endpoint: str, body: bytes, headers: dict[str, str]
) -> bool:
    try:
        response = await client.post(endpoint, content=body, headers=headers)
    except httpx.HTTPError:
        return False
    # The benchmark data never contains the text below, so a byte search stands in
    # for parsing each large body, which would cost the shared CPU more than it tells.
    return response.status_code == 200 and b'"errors":' not in response.content


# The report --------------------------------------------------------------------------------


def print_table(results: list[Result], options: Options) -> None:
    print(
        f"\n{options.accounts} accounts x {options.contacts} contacts, "
        f"concurrency {options.concurrency}, {options.warmup:g} s warm-up, "
        f"{options.duration:g} s measured, {os.cpu_count()} CPUs shared by server and client\n"
    )
    print(f"{'query':<28} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'ok':>8} {'failed':>7}")
    for r in results:
        print(
            f"{r.query:<28} {r.per_second:>9.1f} {r.percentile(0.5):>9.1f} "
            f"{r.percentile(0.99):>9.1f} {r.ok:>8} {r.failed:>7}"
        )


def write_json(results: list[Result], options: Options) -> None:
    assert options.json_path is not None
    settings = {k: v for k, v in asdict(options).items() if k != "json_path"}
    document = {"settings": settings, "results": [r.summary() for r in results]}
    options.json_path.parent.mkdir(parents=True, exist_ok=True)
    options.json_path.write_text(json.dumps(document, indent=2) + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    options = parse_args(argv)
    try:
        results = asyncio.run(run(options))
    except RuntimeError as error:  # GraphQLFailure included
        logger.error("benchmark aborted: %s", error)
        return 2
    except KeyboardInterrupt:
        logger.warning("interrupted; the server was stopped and the scratch database dropped")
        return 130
    print_table(results, options)
    if options.json_path is not None:
        write_json(results, options)
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
