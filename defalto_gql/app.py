"""The Starlette application: /graphql, /health, job downloads, and the lifespan.

The lifespan loads the metadata, follows its changes, and opens the job queue
(running a worker in this process unless ``DEFALTO_RUN_JOBS=off``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from defalto_gql import __version__
from defalto_gql.bootstrap import prepare_database
from defalto_gql.config import Settings
from defalto_gql.db.engine import make_engine
from defalto_gql.http import graphql_endpoint
from defalto_gql.runtime import Runtime, watch_metadata
from defalto_gql.transfer.queue import running_queue
from defalto_gql.uploads import download

logger = logging.getLogger(__name__)


async def health(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except Exception:
        logger.warning("health check: database unreachable", exc_info=True)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    generation = runtime.current
    return JSONResponse({
        "status": "ok",
        "version": __version__,
        "metadataVersion": generation.version if generation else None,
        "schemaBuildSeconds": round(generation.build_seconds, 4) if generation else None,
    })


def create_app(settings: Settings | None = None, database_url: str | None = None) -> Starlette:
    """The ASGI app; it needs a database URL (the CLI starts an embedded server if none)."""
    settings = settings or Settings.from_env()
    url = database_url or settings.database_url
    if not url:
        raise RuntimeError("set DEFALTO_DATABASE_URL or start through `defalto serve`")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(url)
        await prepare_database(engine, settings)
        runtime = Runtime(engine, settings)
        await runtime.refresh()
        app.state.runtime = runtime
        watcher = asyncio.create_task(watch_metadata(runtime))
        generation = runtime.generation()
        logger.info("defalto-gql %s serving metadata version %s (schema built in %.3f s)",
                    __version__, generation.version, generation.build_seconds)
        try:
            async with running_queue(runtime, work=settings.run_jobs) as queue:
                app.state.queue = queue
                yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await engine.dispose()

    routes = [
        Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/transfers/{job_id}/{kind}", download, methods=["GET"]),
    ]
    # Browsers on other origins may call the API only from DEFALTO_CORS_ORIGINS. Tokens
    # travel in the Authorization header, not in cookies, so credentials stay off.
    middleware = [Middleware(
        CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"], max_age=600,
    )] if settings.cors_origins else []
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
