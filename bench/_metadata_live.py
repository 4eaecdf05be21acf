"""Parts 2 and 3 of the live metadata benchmark: two instances, propagation, then churn."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _metadata_load import run_load
from _metadata_results import Change, LoadResult, PropagationResult, Results
from _metadata_scenario import (
    BENCH_DATABASE,
    CREATE_FIELD,
    DELETE_FIELD,
    REQUEST_TIMEOUT,
    Options,
    first_success,
    prepare_data,
    succeeds,
)
from _support import graphql, running_server, scratch_database

logger = logging.getLogger("bench_metadata")

CHURN_GRACE = 120.0

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
