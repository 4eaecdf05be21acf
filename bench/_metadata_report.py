"""The live metadata benchmark's report: one table per part, the failures, the JSON file."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict
from typing import Any

from _metadata_results import BuildResult, Change, LoadResult, PropagationResult, Results
from _metadata_scenario import Options
from _support import nearest_rank


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
