"""The cost of duplicate detection: Febrl's dataset3 imported with and without it.

Imports ``dataset3.csv`` (5,000 people, 3,000 of them duplicates with typos)
into a fresh scratch database ``defalto_bench_detection`` twice, once without
detection and once with the documented Febrl mapping's detection, both in
process (the code path of ``defalto import``), and prints rows per second for
each, the rows detected and the peak resident memory.

    python bench/bench_detection.py [--file PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from _support import scratch_database, setup_logging

from defalto_gql.bootstrap import prepare_database
from defalto_gql.config import Settings
from defalto_gql.db.engine import make_engine
from defalto_gql.runtime import Runtime
from defalto_gql.transfer.importing import Importer, ImportOptions
from defalto_gql.transfer.mapping import Mapping

REPO = Path(__file__).resolve().parents[1]
MAPPING = REPO / "docs" / "realdata" / "febrl-people.json"


def default_file() -> Path:
    root = Path(os.environ.get("DEFALTO_REALDATA_DIR", REPO.parent / "shared" / "realdata"))
    return root / "febrl-synthetic-people" / "dataset3.csv"


def peak_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def one_run(path: Path, mapping: Mapping, detect: bool) -> dict[str, Any]:
    """One import into a fresh database; detection on or off."""
    settings = Settings.from_env()
    if not detect:
        mapping = dataclasses.replace(mapping, detect=(), detect_block=(),
                                      detect_threshold=None)
    async with scratch_database("defalto_bench_detection") as url:
        engine = make_engine(url, pool_size=4)
        try:
            await prepare_database(engine, settings)
            runtime = Runtime(engine, settings)
            await runtime.refresh()
            started = time.perf_counter()
            report = await Importer(runtime, "Contact", ImportOptions(mapping=mapping)).run(path)
            seconds = time.perf_counter() - started
        finally:
            await engine.dispose()
    return {"seconds": round(seconds, 2), "rows_per_second": round(report.rows / seconds),
            "created": report.created, "detected": report.detected,
            "rejected": report.rejected}


async def main(path: Path, repeat: int) -> dict[str, Any]:
    if not path.is_file():
        raise SystemExit(f"no {path}: set DEFALTO_REALDATA_DIR or give --file")
    mapping = Mapping.load(MAPPING)
    results: dict[str, Any] = {"file": str(path)}
    for label, detect in (("without_detection", False), ("with_detection", True)):
        runs = [await one_run(path, mapping, detect) for _ in range(repeat)]
        # The best of the runs: the least disturbed by whatever else the machine does.
        results[label] = max(runs, key=lambda r: r["rows_per_second"])
    results["peak_rss_mib"] = round(peak_mib(), 1)
    return results


if __name__ == "__main__":
    setup_logging()
    given = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    given.add_argument("--file", type=Path, default=default_file())
    given.add_argument("--repeat", type=int, default=3)
    args = given.parse_args()
    json.dump(asyncio.run(main(args.file, max(1, args.repeat))), sys.stdout, indent=2)
    print()
