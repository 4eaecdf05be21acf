"""Import through the API: a generated N-row contacts CSV uploaded over real HTTP, run as a job.

Starts ``defalto serve`` on a scratch database ``defalto_bench_upload``, uploads
the same kind of file as ``bench_import.py`` (default 100,000 rows) with a
GraphQL multipart request, follows the job with ``transferJob`` until it ends,
and prints the upload time, the job's time, rows per second from upload to
result, and the server process's resident memory: its peak over the run
(sampled every 0.2 s) against its size before the upload.

    python bench/bench_upload.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from _support import authorization, graphql, running_server, scratch_database, setup_logging
from bench_import import ACCOUNTS, write_contacts

START = ("mutation($f: Upload!) { startImport(module: \"Contact\", file: $f) { id } }")
FOLLOW = ("query($id: ID!) { transferJob(id: $id) { status rowsDone error "
          "result { created rejected } } }")


def server_process(endpoint: str) -> psutil.Process:
    """The uvicorn process serving ``endpoint`` (found by its --port argument)."""
    port = endpoint.split(":")[2].split("/")[0]
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "serve" in command and port in command:
            return process
    raise RuntimeError(f"no server process for {endpoint}")


async def sample_rss(process: psutil.Process, peak: list[float]) -> None:
    while True:
        peak[0] = max(peak[0], process.memory_info().rss / 2**20)
        await asyncio.sleep(0.2)


async def main(rows: int) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="defalto-bench-upload-"))
    path = folder / "contacts.csv"
    bad = write_contacts(path, rows)
    async with (scratch_database("defalto_bench_upload") as url,
                running_server(url) as endpoint,
                httpx.AsyncClient(timeout=600) as client):
        for start in range(0, ACCOUNTS, 25):
            await graphql(client, endpoint, "mutation { " + " ".join(
                f'a{i}: createAccount(data: {{name: "Account {i}"}}) {{ id }}'
                for i in range(start, min(start + 25, ACCOUNTS))) + " }")
        process = server_process(endpoint)
        before = process.memory_info().rss / 2**20
        peak = [before]
        sampler = asyncio.create_task(sample_rss(process, peak))
        started = time.perf_counter()
        with path.open("rb") as source:
            response = await client.post(
                endpoint, headers=authorization(endpoint),
                data={"operations": json.dumps({"query": START, "variables": {"f": None}}),
                      "map": '{"0": ["variables.f"]}'},
                files={"0": ("contacts.csv", source, "text/csv")})
        uploaded = time.perf_counter() - started
        job_id = response.json()["data"]["startImport"]["id"]
        while True:
            job = (await graphql(client, endpoint, FOLLOW, {"id": job_id}))["transferJob"]
            if job["status"] in ("finished", "failed"):
                break
            await asyncio.sleep(0.5)
        seconds = time.perf_counter() - started
        sampler.cancel()
    assert job["status"] == "finished", job
    assert job["result"]["rejected"] == bad, job
    return {"rows": rows, "file_mib": round(path.stat().st_size / 2**20, 1),
            "upload_seconds": round(uploaded, 1), "total_seconds": round(seconds, 1),
            "rows_per_second": round(rows / seconds),
            "server_rss_mib_before": round(before, 1), "server_rss_mib_peak": round(peak[0], 1),
            "created": job["result"]["created"], "rejected": job["result"]["rejected"]}


if __name__ == "__main__":
    setup_logging()
    given = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    given.add_argument("--rows", type=int, default=100_000)
    args = given.parse_args()
    json.dump(asyncio.run(main(args.rows)), sys.stdout, indent=2)
    print()
