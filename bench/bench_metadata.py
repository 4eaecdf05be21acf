"""Benchmark live metadata: schema build time, propagation between instances, churn under load.

Three measurements:

1. Schema build: an in-memory snapshot of 50 modules of 100 custom fields each
   (a mix of every field type, references with reverse lists, plus the built-in
   fields) goes through ``build_datamodel`` and ``build_generation`` five times;
   median and max, and the size of the SDL. No database.
2. Propagation: two ``defalto serve`` instances on one scratch database. A text
   field is created on Account through instance A, then instance B is polled
   every 10 ms with a query naming it; the time from A's answer to B's first
   success, 20 times (p50, p95, max).
3. Churn: 16 workers query accounts on both instances while 30 changes create
   and delete fields through alternating instances, paced over 15 s (the load
   goes on until the last change has answered, if that is later). Every request
   must succeed with the expected data; the exit status is 1 if one did not.
   The same load first runs 5 s without changes, for comparison.

The scratch database is ``defalto_bench_metadata``, on the server that
``DEFALTO_DATABASE_URL`` names, else on the local one, else on an embedded
pgserver (see ``_support.scratch_database``).

    python bench/bench_metadata.py [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
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
from _wide_snapshot import wide_snapshot

logger = logging.getLogger("bench_metadata")

BENCH_DATABASE = "defalto_bench_metadata"
REQUEST_TIMEOUT = 30.0
PROPAGATION_TIMEOUT = 30.0
ACCOUNTS = 20
FAILURE_SAMPLES = 20
CHURN_GRACE = 120.0

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
# Field types the churn cycles through, with the settings each needs.
CHURN_TYPES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("text", {}),
    ("integer", {"min": 0}),
    ("picklist", {"values": ["Low", "Medium", "High"]}),
    ("currency", {}),
    ("boolean", {"default": False}),
    ("date", {}),
    ("decimal", {"precision": 12, "scale": 2}),
    ("reference", {"targets": ["Contact"]}),
)


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


@dataclass
class BuildResult:
    """Schema build over a synthetic snapshot."""

    modules: int
    fields_per_module: int
    builtin_per_module: str
    seconds: list[float] = field(default_factory=list)
    schema_seconds: list[float] = field(default_factory=list)
    sdl_bytes: int = 0
    sdl_lines: int = 0
    types: int = 0


@dataclass
class PropagationResult:
    """Field creation on A to first success on B."""

    seconds: list[float] = field(default_factory=list)
    polls: list[int] = field(default_factory=list)
    timeouts: int = 0
    not_on_a: int = 0


@dataclass
class LoadResult:
    """Steady queries over a window, with or without metadata changes."""

    label: str
    seconds: float = 0.0
    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.ok + self.failed


@dataclass
class Change:
    """One createField or deleteField during the churn."""

    operation: str
    field: str
    instance: str
    at: float
    seconds: float
    error: str | None = None


@dataclass
class Results:
    """Everything measured, for the table and the JSON file."""

    build: BuildResult
    propagation: PropagationResult | None = None
    baseline: LoadResult | None = None
    churn: LoadResult | None = None
    changes: list[Change] = field(default_factory=list)
    log_dir: str | None = None

    @property
    def failures(self) -> int:
        found = sum(1 for c in self.changes if c.error)
        for load in (self.baseline, self.churn):
            found += load.failed if load else 0
        if self.propagation:
            found += self.propagation.timeouts + self.propagation.not_on_a
        return found


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=50, help="modules in the build snapshot")
    parser.add_argument("--fields", type=int, default=100, help="custom fields per module")
    parser.add_argument("--builds", type=int, default=5, help="schema builds timed")
    parser.add_argument("--propagations", type=int, default=20, help="fields timed A -> B")
    parser.add_argument("--poll-ms", type=float, default=10.0, help="pause between B's polls")
    parser.add_argument("--concurrency", type=int, default=16, help="query workers, both sides")
    parser.add_argument("--baseline", type=float, default=5.0, help="seconds of load, no churn")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of churn")
    parser.add_argument("--changes", type=int, default=30, help="createField + deleteField")
    parser.add_argument("--json", type=Path, dest="json_path", help="also write results here")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="use an embedded PostgreSQL even if one is reachable",
    )
    options = Options(**vars(parser.parse_args(argv)))
    if options.builds < 1 or options.modules < 1 or options.fields < 1:
        parser.error("--builds, --modules and --fields must be at least 1")
    return options


# 1. Schema build ---------------------------------------------------------------------------


def measure_build(options: Options) -> BuildResult:
    """Time data model + schema over a wide synthetic snapshot; no database."""
    from defalto_gql.records.datamodel import build_datamodel
    from defalto_gql.runtime import build_generation

    snapshot = wide_snapshot(options.modules, options.fields)
    first = next(iter(snapshot.modules.values()))
    builtin = sorted({sum(f.builtin for f in m.fields) for m in snapshot.modules.values()})
    result = BuildResult(options.modules, options.fields, " or ".join(map(str, builtin)))

    for run in range(options.builds):
        started = time.perf_counter()
        generation = build_generation(build_datamodel(snapshot))
        result.seconds.append(time.perf_counter() - started)
        result.schema_seconds.append(generation.build_seconds)
        logger.info("schema build %s of %s: %.2f s", run + 1, options.builds, result.seconds[-1])

    check_wide_schema(generation.schema, first.name, options.fields)
    sdl = generation.schema.as_str()
    result.sdl_bytes = len(sdl.encode())
    result.sdl_lines = sdl.count("\n") + 1
    types = generation.schema.execute_sync("{ __schema { types { name } } }")
    result.types = len(types.data["__schema"]["types"])
    return result


def check_wide_schema(schema: Any, type_name: str, fields: int) -> None:
    """The built schema must expose every field, or a fast build proves nothing."""
    found = schema.execute_sync(f'{{ __type(name: "{type_name}") {{ fields {{ name }} }} }}')
    if found.errors:
        raise RuntimeError(f"introspection of {type_name} failed: {found.errors[0]}")
    names = {f["name"] for f in found.data["__type"]["fields"]}
    if len(names) < fields:
        raise RuntimeError(f"{type_name} has {len(names)} fields in the schema, want {fields}+")


# 2 and 3. Two live instances ---------------------------------------------------------------


async def measure_live(options: Options, results: Results) -> None:
    """Two instances on one scratch database: propagation, then load with and without churn."""
    log_dir = Path(tempfile.mkdtemp(prefix="defalto-bench-metadata-"))
    results.log_dir = str(log_dir)
    # The servers start one after the other: each start migrates and installs the
    # shipped modules.
    async with (
        scratch_database(BENCH_DATABASE, options.embedded) as database_url,
        running_server(database_url, log_dir / "a.log") as a,
        running_server(database_url, log_dir / "b.log") as b,
        httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as control,
    ):
        expected = await prepare_data(control, a, b)
        results.propagation = await measure_propagation(control, a, b, options)
        endpoints = {"A": a, "B": b}
        if options.baseline > 0:
            results.baseline = await run_load(endpoints, expected, options, "no changes")
        results.churn = await measure_churn(control, endpoints, expected, options, results)
    if not results.failures:
        shutil.rmtree(log_dir, ignore_errors=True)
        results.log_dir = None


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


async def measure_propagation(
    control: httpx.AsyncClient, a: str, b: str, options: Options
) -> PropagationResult:
    """Create a text field through A; poll B with a query naming it until it answers."""
    result = PropagationResult()
    for n in range(options.propagations):
        data = {"label": f"Bench propagation {n:02d}", "type": "text"}
        created = await graphql(control, a, CREATE_FIELD, {"module": "Account", "data": data})
        answered = time.perf_counter()
        name = created["createField"]["name"]
        query = f"{{ accounts(first: 1) {{ edges {{ node {{ id {name} }} }} }} }}"
        found = await first_success(control, b, query, options.poll_ms / 1000)
        if found is None:
            result.timeouts += 1
            logger.error("B never served %s", name)
            continue
        result.seconds.append(found[0] - answered)
        result.polls.append(found[1])
        if not await succeeds(control, a, query):
            result.not_on_a += 1
    logger.info("propagation: %s fields, %s timeouts", options.propagations, result.timeouts)
    return result


# The load ----------------------------------------------------------------------------------


async def run_load(
    endpoints: dict[str, str],
    expected: dict[str, Any],
    options: Options,
    label: str,
    duration: float | None = None,
    until: asyncio.Event | None = None,
    began: float | None = None,
) -> LoadResult:
    """Workers split over the instances send the steady query until the window closes.

    The window opens at ``began`` (now by default) and closes ``duration`` seconds
    later, or when ``until`` is set if that comes later. Every request counts.
    """
    result = LoadResult(label)
    began = began or time.perf_counter()
    end = began + (duration if duration is not None else options.baseline)
    per_instance = max(1, options.concurrency // len(endpoints))
    limits = httpx.Limits(max_connections=per_instance, max_keepalive_connections=per_instance)
    clients = {n: httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT,
                                    headers=authorization(endpoint))
               for n, endpoint in endpoints.items()}
    try:
        async with asyncio.TaskGroup() as group:
            for n in range(options.concurrency):
                name = list(endpoints)[n % len(endpoints)]
                group.create_task(
                    _worker(
                        clients[name], name, endpoints[name], expected, result, began, end, until
                    )
                )
    finally:
        for client in clients.values():
            await client.aclose()
    result.seconds = time.perf_counter() - began
    logger.info("load %s: %s requests, %s failed", label, result.total, result.failed)
    return result


async def _worker(
    client: httpx.AsyncClient,
    name: str,
    endpoint: str,
    expected: dict[str, Any],
    result: LoadResult,
    began: float,
    end: float,
    until: asyncio.Event | None,
) -> None:
    body = json.dumps({"query": STEADY_QUERY}).encode()
    headers = {"content-type": "application/json"}
    while time.perf_counter() < end or (until is not None and not until.is_set()):
        started = time.perf_counter()
        problem = await _request_problem(client, endpoint, body, headers, expected)
        finished = time.perf_counter()
        if problem is None:
            result.ok += 1
            result.latencies.append(finished - started)
            continue
        result.failed += 1
        if len(result.samples) < FAILURE_SAMPLES:
            result.samples.append(
                {
                    "window": result.label,
                    "instance": name,
                    "at": round(started - began, 3),
                    "seconds": round(finished - started, 3),
                    "problem": problem,
                }
            )


async def _request_problem(
    client: httpx.AsyncClient,
    endpoint: str,
    body: bytes,
    headers: dict[str, str],
    expected: dict[str, Any],
) -> str | None:
    """What went wrong with one steady request, or None when it answered as expected."""
    try:
        response = await client.post(endpoint, content=body, headers=headers)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    found = response.json()
    if "errors" in found:
        return f"errors: {json.dumps(found['errors'])[:500]}"
    if found.get("data") != expected:
        return f"wrong data: {json.dumps(found.get('data'))[:500]}"
    return None


# 3. Churn ----------------------------------------------------------------------------------


async def measure_churn(
    control: httpx.AsyncClient,
    endpoints: dict[str, str],
    expected: dict[str, Any],
    options: Options,
    results: Results,
) -> LoadResult:
    """Steady load on both instances while fields come and go through alternating ones."""
    done = asyncio.Event()
    began = time.perf_counter()
    load = asyncio.create_task(
        run_load(endpoints, expected, options, "field churn", options.duration, done, began)
    )
    try:
        # Bounded: a change that hangs ends the benchmark instead of the load running on.
        async with asyncio.timeout(options.duration + CHURN_GRACE):
            results.changes = await churn(control, endpoints, options, began)
    finally:
        done.set()
    return await load


async def churn(
    control: httpx.AsyncClient, endpoints: dict[str, str], options: Options, began: float
) -> list[Change]:
    """Create a field through one instance, delete it through the other; spread over the window."""
    names = list(endpoints)
    interval = options.duration / max(1, options.changes)
    changes: list[Change] = []
    for n in range(options.changes):
        await asyncio.sleep(max(0.0, began + (n + 0.5) * interval - time.perf_counter()))
        pair, creating = divmod(n, 2)
        instance = names[(pair + (0 if creating == 0 else 1)) % len(names)]
        type_key, settings = CHURN_TYPES[pair % len(CHURN_TYPES)]
        name = f"churn{pair:02d}{type_key.capitalize()}"
        if creating == 0:
            data: dict[str, Any] = {
                "name": name,
                "label": f"Churn {pair:02d}",
                "type": type_key,
                **settings,
            }
            if type_key == "reference":
                data["reverseName"] = f"churnAccounts{pair:02d}"
            query, variables = CREATE_FIELD, {"module": "Account", "data": data}
        else:
            query, variables = DELETE_FIELD, {"module": "Account", "name": name}
        changes.append(
            await _change(control, endpoints[instance], instance, query, variables, name, began)
        )
    return changes


async def _change(
    control: httpx.AsyncClient,
    endpoint: str,
    instance: str,
    query: str,
    variables: dict[str, Any],
    name: str,
    began: float,
) -> Change:
    operation = "createField" if "createField" in query else "deleteField"
    started = time.perf_counter()
    error = None
    try:
        await graphql(control, endpoint, query, variables)
    except Exception as problem:  # reported with the change, the churn goes on
        error = f"{type(problem).__name__}: {str(problem)[:500]}"
        logger.error("%s %s through %s failed: %s", operation, name, instance, error)
    seconds = time.perf_counter() - started
    return Change(operation, name, instance, round(started - began, 3), seconds, error)


# The report --------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def print_report(results: Results, options: Options) -> None:
    print(f"\n{os.cpu_count()} CPUs shared by the servers, the database and the load\n")
    print_build(results.build)
    if results.propagation is not None:
        print_propagation(results.propagation, options)
    loads = [x for x in (results.baseline, results.churn) if x is not None]
    if loads:
        print_loads(loads, results.changes, options)
    print_failures(results)


def print_build(build: BuildResult) -> None:
    print(
        f"Schema build: {build.modules} modules x {build.fields_per_module} custom fields "
        f"(+ {build.builtin_per_module} built-in each), {len(build.seconds)} runs"
    )
    print(f"  {'':<28} {'median s':>9} {'max s':>9}")
    for label, values in (
        ("data model + schema", build.seconds),
        ("schema alone", build.schema_seconds),
    ):
        print(f"  {label:<28} {statistics.median(values):>9.2f} {max(values):>9.2f}")
    print(f"  SDL: {build.sdl_bytes:,} bytes, {build.sdl_lines:,} lines, {build.types:,} types\n")


def print_propagation(found: PropagationResult, options: Options) -> None:
    times = found.seconds
    print(
        f"Propagation: text field created on Account through A, first success on B "
        f"(polled every {options.poll_ms:g} ms), {options.propagations} fields"
    )
    print(f"  {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'polls max':>10} {'timeouts':>9}")
    if times:
        print(
            f"  {ms(nearest_rank(times, 0.5)):>8} {ms(nearest_rank(times, 0.95)):>8} "
            f"{ms(max(times)):>8} {max(found.polls):>10} {found.timeouts:>9}"
        )
    if found.not_on_a:
        print(f"  A did not serve its own new field {found.not_on_a} times")
    print()


def print_loads(loads: list[LoadResult], changes: list[Change], options: Options) -> None:
    created = sum(1 for c in changes if c.operation == "createField")
    print(
        f"Steady queries: {options.concurrency} workers over A and B; churn: {len(changes)} "
        f"changes ({created} createField, {len(changes) - created} deleteField) through "
        f"alternating instances, paced over {options.duration:g} s, the load lasting until "
        "the last one answered"
    )
    print(
        f"  {'window':<14} {'s':>6} {'requests':>9} {'failed':>7} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8}"
    )
    for r in loads:
        lat = r.latencies
        print(
            f"  {r.label:<14} {r.seconds:>6.1f} {r.total:>9} {r.failed:>7} "
            f"{ms(nearest_rank(lat, 0.5)):>8} {ms(nearest_rank(lat, 0.99)):>8} "
            f"{ms(max(lat, default=float('nan'))):>8}"
        )
    for operation in ("createField", "deleteField"):
        times = [c.seconds for c in changes if c.operation == operation and not c.error]
        failed = sum(1 for c in changes if c.operation == operation and c.error)
        if times or failed:
            print(
                f"  {operation}: {len(times)} ok, {failed} failed, p50 "
                f"{ms(nearest_rank(times, 0.5))} ms, max {ms(max(times, default=0))} ms"
            )
    print()


def print_failures(results: Results) -> None:
    for load in (results.baseline, results.churn):
        for sample in [] if load is None else load.samples:
            print(f"  failed request {json.dumps(sample)}")
    for change in results.changes:
        if change.error:
            print(f"  failed change {json.dumps(asdict(change))}")
    if results.log_dir:
        print(f"  server logs kept in {results.log_dir}")
    print(f"Failed: {results.failures}")


def write_json(results: Results, options: Options) -> None:
    assert options.json_path is not None
    settings = {k: v for k, v in asdict(options).items() if k != "json_path"}
    document = {"settings": settings, "cpus": os.cpu_count(), "results": summary(results)}
    options.json_path.parent.mkdir(parents=True, exist_ok=True)
    options.json_path.write_text(json.dumps(document, indent=2) + "\n", "utf-8")


def summary(results: Results) -> dict[str, Any]:
    """The figures, with latency lists reduced to percentiles."""
    build = results.build
    found: dict[str, Any] = {
        "build": {
            **asdict(build),
            "median_seconds": statistics.median(build.seconds),
            "max_seconds": max(build.seconds),
        },
        "changes": [asdict(c) for c in results.changes],
        "failures": results.failures,
    }
    if results.propagation is not None:
        times = results.propagation.seconds
        found["propagation"] = {
            **asdict(results.propagation),
            "p50_ms": nearest_rank(times, 0.5) * 1000,
            "p95_ms": nearest_rank(times, 0.95) * 1000,
            "max_ms": max(times, default=float("nan")) * 1000,
        }
    for key, load in (("baseline", results.baseline), ("churn", results.churn)):
        if load is not None:
            found[key] = {
                **{k: v for k, v in asdict(load).items() if k != "latencies"},
                "total": load.total,
                "p50_ms": nearest_rank(load.latencies, 0.5) * 1000,
                "p99_ms": nearest_rank(load.latencies, 0.99) * 1000,
                "max_ms": max(load.latencies, default=float("nan")) * 1000,
            }
    return found


def main(argv: list[str] | None = None) -> int:
    setup_logging()
    # The schema builder logs each build at INFO; the table reports them.
    logging.getLogger("defalto_gql").setLevel(logging.WARNING)
    options = parse_args(argv)
    try:
        results = Results(measure_build(options))
        asyncio.run(measure_live(options, results))
    except (RuntimeError, TimeoutError) as error:  # GraphQLFailure included
        logger.error("benchmark aborted: %s", error)
        return 2
    except KeyboardInterrupt:
        logger.warning("interrupted; the servers were stopped and the scratch database dropped")
        return 130
    print_report(results, options)
    if options.json_path is not None:
        write_json(results, options)
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
