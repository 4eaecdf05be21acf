"""Import speed and memory: a generated N-row contacts CSV through the real importer.

Writes a contacts file (default 100,000 rows, with an account reference on
every tenth row and a few invalid rows), imports it into a scratch database
``defalto_bench_import`` in process (the code path of ``defalto import``), and
prints rows per second and the peak resident memory of this process, measured
before and after so the growth during the import is visible.

    python bench/bench_import.py [--rows 100000] [--batch-size 500]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from _support import scratch_database, setup_logging

from defalto_gql.bootstrap import prepare_database
from defalto_gql.config import Settings
from defalto_gql.db.engine import make_engine
from defalto_gql.runtime import Runtime
from defalto_gql.transfer.importing import Importer, ImportOptions

ACCOUNTS = 50


def peak_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_contacts(path: Path, rows: int) -> int:
    """The file; returns how many rows are invalid on purpose (a bad email)."""
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["First name", "Last name", "Email", "Phone", "Account", "Birthday",
                         "Mailing city"])
        for i in range(rows):
            email = f"person{i}@example.com" if i % 1000 else "not an email"
            bad += not i % 1000
            account = f"Account {i % ACCOUNTS}" if i % 10 == 0 else ""
            writer.writerow([f"First{i}", f"Last, {i}", email, f"+1-555-{i % 10000:04d}",
                             account, f"19{50 + i % 50}-0{1 + i % 9}-1{i % 9}", "Springfield"])
    return bad


async def main(rows: int, batch_size: int) -> dict[str, float]:
    settings = Settings.from_env()
    folder = Path(tempfile.mkdtemp(prefix="defalto-bench-import-"))
    path = folder / "contacts.csv"
    bad = write_contacts(path, rows)
    async with scratch_database("defalto_bench_import") as url:
        engine = make_engine(url, pool_size=4)
        try:
            await prepare_database(engine, settings)
            runtime = Runtime(engine, settings)
            await runtime.refresh()
            accounts = folder / "accounts.csv"
            accounts.write_text("Account name\n" + "".join(
                f"Account {i}\n" for i in range(ACCOUNTS)), encoding="utf-8")
            await Importer(runtime, "Account", ImportOptions()).run(accounts)
            before = peak_mib()
            started = time.perf_counter()
            report = await Importer(runtime, "Contact",
                                    ImportOptions(batch_size=batch_size)).run(path)
            seconds = time.perf_counter() - started
        finally:
            await engine.dispose()
    assert report.rows == rows and report.rejected == bad, report.as_dict()
    return {"rows": rows, "file_mib": round(path.stat().st_size / 2**20, 1),
            "seconds": round(seconds, 1), "rows_per_second": round(rows / seconds),
            "peak_rss_mib_before": round(before, 1), "peak_rss_mib_after": round(peak_mib(), 1),
            "created": report.created, "rejected": report.rejected}


if __name__ == "__main__":
    setup_logging()
    given = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    given.add_argument("--rows", type=int, default=100_000)
    given.add_argument("--batch-size", type=int, default=500)
    args = given.parse_args()
    json.dump(asyncio.run(main(args.rows, args.batch_size)), sys.stdout, indent=2)
    print()
