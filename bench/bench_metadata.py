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
import logging
import sys
from pathlib import Path

from _metadata_build import measure_build
from _metadata_live import measure_live
from _metadata_report import print_report, write_json
from _metadata_results import Results
from _metadata_scenario import Options
from _support import setup_logging

logger = logging.getLogger("bench_metadata")


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
