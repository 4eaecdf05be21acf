"""The steady load of the live metadata benchmark: workers on both instances check every answer."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
from _metadata_results import LoadResult
from _metadata_scenario import REQUEST_TIMEOUT, STEADY_QUERY, Options
from _support import authorization

logger = logging.getLogger("bench_metadata")

FAILURE_SAMPLES = 20


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
