"""The running server's state: engine, current data model and schema, and how they change.

A metadata change produces a new ``Generation`` (data model + schema) that is
swapped in with one assignment; a request holds on to the generation it
started with, so it finishes on the schema it was validated against.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from defalto_gql.access.loading import load_policy
from defalto_gql.access.policy import AccessPolicy
from defalto_gql.config import Settings
from defalto_gql.errors import DefaltoError
from defalto_gql.metadata.loader import current_version, load_snapshot
from defalto_gql.records.context import SYSTEM_USER_ID, RecordContext
from defalto_gql.records.datamodel import DataModel, build_datamodel
from defalto_gql.schema.builder import SchemaBuilder
from defalto_gql.schema.context import RequestContext
from defalto_gql.schema.error_codes import error_code, is_unexpected

logger = logging.getLogger(__name__)

# application_name of the LISTEN connection, so operators (and tests) can find it.
LISTENER_NAME = "defalto-metadata-listener"


class DefaltoSchema(strawberry.Schema):
    """Logs expected client errors at DEBUG and only the unexpected at ERROR."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            # Errors before execution (no path: syntax, validation, bad variable values),
            # the project's own errors and arguments graphql-core refuses while executing
            # are the client's; the rest are bugs. Only what went wrong where, never the
            # message: messages quote the request's values (a password sent unquoted, an
            # email that is not one).
            code = error_code(error)
            if is_unexpected(error):
                logger.error("unexpected error in %s", error.path, exc_info=error.original_error)
            elif error.path is None and not isinstance(error.original_error, DefaltoError):
                where = [(loc.line, loc.column) for loc in error.locations or ()]
                logger.debug("request refused before execution, at %s", where)
            else:
                logger.debug("client error %s at %s (field %s)", code["code"], error.path,
                             code.get("field"))


@dataclass(frozen=True)
class Generation:
    """One metadata version's data model and schema."""

    model: DataModel
    schema: strawberry.Schema
    build_seconds: float

    @property
    def version(self) -> int:
        return self.model.snapshot.version


def limits(settings: Settings) -> list[Any]:
    """The security limits every request passes, before it runs."""
    found: list[Any] = [
        lambda: QueryDepthLimiter(max_depth=settings.max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
    ]
    if not settings.introspection:
        found.append(DisableIntrospection)
    return found


def build_generation(model: DataModel, settings: Settings | None = None) -> Generation:
    started = time.perf_counter()
    builder = SchemaBuilder(model)
    schema = builder.build(
        schema_class=DefaltoSchema,
        extensions=[*limits(settings or Settings.from_env()), lambda: ParserCache(maxsize=256),
                    lambda: ValidationCache(maxsize=256)],
    )
    return Generation(model, schema, time.perf_counter() - started)


class Runtime:
    """Holds the engine and the current generation; rebuilds when metadata changes."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.current: Generation | None = None
        self._lock = asyncio.Lock()
        # Computed rights per user, for the current metadata and access versions.
        self.policies: dict[str, AccessPolicy] = {}
        self.access_version = -1

    async def refresh(self) -> Generation:
        """Load metadata and swap in a new generation if its version moved."""
        async with self._lock:
            async with self.engine.connect() as conn:
                version = await current_version(conn)
                access = (await conn.exec_driver_sql(
                    "SELECT version FROM dg_access_version WHERE id = 1")).scalar_one()
                if access != self.access_version:
                    self.access_version = access
                    self.policies.clear()
                if self.current is not None and self.current.version >= version:
                    return self.current
                snapshot = await load_snapshot(conn)
            # Built in a worker thread, so requests keep being answered meanwhile.
            generation = await asyncio.to_thread(
                build_generation, build_datamodel(snapshot), self.settings)
            self.current = generation
            self.policies.clear()
            logger.info("schema in service", extra={
                "version": generation.version, "build_seconds": round(generation.build_seconds, 3)
            })
            return generation

    async def install(self, generation: Generation) -> None:
        """Serve a generation built elsewhere (by a metadata change), unless one is newer."""
        async with self._lock:
            if self.current is None or generation.version > self.current.version:
                self.current = generation
                logger.info("schema in service", extra={"version": generation.version})

    def generation(self) -> Generation:
        if self.current is None:
            raise RuntimeError("the runtime has not loaded its metadata yet; call refresh()")
        return self.current

    def context(
        self, generation: Generation, request: Any = None, policy: AccessPolicy | None = None
    ) -> RequestContext:
        """A request's context; without a policy it acts as the system (CLI, demo data)."""
        records = RecordContext(
            engine=self.engine,
            model=generation.model,
            user_id=policy.user_id if policy else SYSTEM_USER_ID,
            max_page_size=self.settings.max_page_size,
            default_page_size=self.settings.default_page_size,
            policy=policy,
        )
        return RequestContext(records=records, request=request, runtime=self)

    async def policy(self, user_id: str, generation: Generation, *, fresh: bool = False
                     ) -> AccessPolicy:
        """A user's rights, computed once per metadata and access version.

        ``fresh`` reads them from the database whatever is cached: a process that
        hears no access changes (the CLI) or a long import that waited uses it.
        """
        found = None if fresh else self.policies.get(user_id)
        if found is None:
            async with self.engine.connect() as conn:
                found = await load_policy(conn, user_id, generation.model.snapshot)
            self.policies[user_id] = found
        return found

    def access_changed(self) -> None:
        self.policies.clear()

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Run one operation in process (demo data, CLI); raises on any error."""
        generation = self.generation()
        result = await generation.schema.execute(
            query, variable_values=variables, context_value=self.context(generation)
        )
        if result.errors:
            raise result.errors[0]
        return result.data


def raw_dsn(engine: AsyncEngine) -> str:
    """The engine's URL for a plain asyncpg connection."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def watch_metadata(runtime: Runtime, poll_seconds: float = 5.0) -> None:
    """Follow metadata changes: LISTEN for NOTIFY, and poll as a catch-up.

    A dropped listener connection is reopened; after each (re)connect the
    version is checked, so a change missed while disconnected is still served.
    """
    import asyncpg

    while True:
        conn = None
        try:
            conn = await asyncpg.connect(
                raw_dsn(runtime.engine), server_settings={"application_name": LISTENER_NAME}
            )
            wake = asyncio.Event()
            await conn.add_listener("defalto_metadata", lambda *_, event=wake: event.set())
            await conn.add_listener("defalto_access", lambda *_: runtime.access_changed())
            await runtime.refresh()
            # Rights may have changed while no one listened.
            runtime.access_changed()
            while not conn.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), poll_seconds)
                wake.clear()
                await runtime.refresh()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("metadata listener lost its connection; reconnecting", exc_info=True)
            await asyncio.sleep(1.0)
        finally:
            if conn is not None and not conn.is_closed():
                await conn.close()
