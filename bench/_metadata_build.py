"""Part 1 of the live metadata benchmark: the schema build over a wide snapshot, no database."""

from __future__ import annotations

import logging
import time
from typing import Any

from _metadata_results import BuildResult
from _metadata_scenario import Options
from _wide_snapshot import wide_snapshot

logger = logging.getLogger("bench_metadata")


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
