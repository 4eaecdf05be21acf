"""The job queue (procrastinate on the same PostgreSQL) and the import and export tasks.

The API stores a job row and its file, then defers a queue job naming it; a
worker (inside ``defalto serve`` unless ``DEFALTO_RUN_JOBS=off``, or
``defalto worker``) runs it as the user who asked, with that user's rights at
the time it runs. Progress is written to the job row while it runs.

A queue job is not retried: an import that failed halfway has written some
rows, and running it again without a match rule would write them twice. For
the same reason a job left ``running`` by a worker that stopped (killed, or its
machine gone) is marked failed, by every worker when it starts and then every
``RECOVER_SECONDS`` (a worker restarted at once sees the dead one's heartbeat
still fresh); the user starts it again, with a match rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procrastinate import App, JobContext, PsycopgConnector
from sqlalchemy.engine import make_url

from defalto_gql.access.policy import AccessPolicy
from defalto_gql.errors import DefaltoError
from defalto_gql.transfer import jobs
from defalto_gql.transfer.csvfiles import CsvFileError
from defalto_gql.transfer.importing import Importer
from defalto_gql.transfer.job_options import import_options, user_import_options
from defalto_gql.transfer.mapping import MappingError
from defalto_gql.transfer.users import UserImporter, is_user_import

if TYPE_CHECKING:
    from defalto_gql.runtime import Runtime

logger = logging.getLogger(__name__)

QUEUE = "transfer"
PROGRESS_SECONDS = 0.5
RECOVER_SECONDS = 30.0


def conninfo(url: str) -> str:
    """A libpq connection string for the SQLAlchemy URL the server uses."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_queue(runtime: Runtime) -> App:
    """A procrastinate app on the runtime's database, with the transfer tasks."""
    connector = PsycopgConnector(conninfo=conninfo(str(runtime.engine.url.render_as_string(
        hide_password=False))), min_size=1, max_size=4)
    app = App(connector=connector)
    # Task objects belong to one app: each app (tests make several) registers its own.
    for name, body in (("import", import_task), ("export", export_task)):
        app.task(name=f"defalto:{name}", queue=QUEUE, pass_context=True)(body)
    return app


@contextlib.asynccontextmanager
async def running_queue(runtime: Runtime, *, work: bool) -> AsyncIterator[App]:
    """Open the queue for deferring; with ``work``, also run a worker until the block ends."""
    app = make_queue(runtime)
    async with app.open_async():
        if not work:
            yield app
            return
        await _recover(runtime)
        worker = asyncio.create_task(app.run_worker_async(
            queues=[QUEUE], concurrency=1, install_signal_handlers=False, name="defalto",
            additional_context={"runtime": runtime}, listen_notify=True,
            fetch_job_polling_interval=2.0, shutdown_graceful_timeout=10.0,
        ))
        watcher = asyncio.create_task(watch_interrupted(runtime))
        try:
            yield app
        finally:
            for task in (watcher, worker):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def run_worker(runtime: Runtime) -> None:
    """Run jobs until cancelled (``defalto worker``)."""
    app = make_queue(runtime)
    async with app.open_async():
        await _recover(runtime)
        watcher = asyncio.create_task(watch_interrupted(runtime))
        try:
            await app.run_worker_async(queues=[QUEUE], concurrency=1, name="defalto",
                                       additional_context={"runtime": runtime})
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def watch_interrupted(runtime: Runtime, every: float | None = None) -> None:
    """Fail the jobs of stopped workers every ``every`` seconds, until cancelled."""
    while True:
        await asyncio.sleep(RECOVER_SECONDS if every is None else every)
        try:
            await _recover(runtime)
        except Exception:
            # The database away for a moment: the next round tries again.
            logger.exception("could not look for interrupted transfer jobs")


async def _recover(runtime: Runtime) -> None:
    failed = await jobs.fail_interrupted(runtime.engine)
    if failed:
        logger.warning("%d transfer jobs were left running by a stopped worker; marked failed",
                       failed)


async def enqueue(app: App, kind: str, job_id: str) -> None:
    await app.tasks[f"defalto:{kind}"].defer_async(job_id=job_id)


async def import_task(context: JobContext, job_id: str) -> None:
    await _run(context.additional_context["runtime"], job_id, _import)


async def export_task(context: JobContext, job_id: str) -> None:
    await _run(context.additional_context["runtime"], job_id, _export)


async def _run(runtime: Runtime, job_id: str, body: Any) -> None:
    async with runtime.engine.connect() as conn:
        row = await jobs.job_row(conn, job_id)
    if row is None:
        logger.warning("queued transfer job %s no longer exists", job_id)
        return
    if row["status"] != "queued":
        await jobs.mark(runtime.engine, job_id, status="failed", finished_at=jobs.now(),
                        error=f"interrupted while {row['status']}; rows already written "
                              "stay; start it again with a match rule to skip them")
        return
    await jobs.mark(runtime.engine, job_id, status="running", started_at=jobs.now())
    # What a job that fails halfway did so far (an import's report), stored with the reason.
    partial: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="defalto-job-") as folder:
            report = await body(runtime, row, Path(folder), partial)
        await _forget_upload(runtime, job_id)
        # (error cleared: a worker that lost its heartbeat may have been taken for dead)
        await jobs.mark(runtime.engine, job_id, status="finished", finished_at=jobs.now(),
                        report=report, error=None)
        return
    except (DefaltoError, MappingError, CsvFileError, UnicodeError, OSError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        logger.info("transfer job failed", extra={"job_id": job_id, "reason": message})
    except Exception:
        logger.exception("transfer job %s failed unexpectedly", job_id)
        message = "internal error; the server log has the details"
    await _forget_upload(runtime, job_id)
    report = partial.get("report")
    try:
        await jobs.mark(runtime.engine, job_id, status="failed", finished_at=jobs.now(),
                        error=message, report=report)
    except Exception:
        logger.exception("transfer job %s: could not store its report", job_id)
        await jobs.mark(runtime.engine, job_id, status="failed", finished_at=jobs.now(),
                        error=message)


async def _forget_upload(runtime: Runtime, job_id: str) -> None:
    """An uploaded file is not kept once its job has run (the report and rejects are)."""
    async with runtime.engine.begin() as conn:
        await conn.exec_driver_sql(
            "DELETE FROM dg_transfer_files WHERE job_id = $1 AND kind = 'upload'", (job_id,))


async def _policy(runtime: Runtime, row: Any, *, fresh: bool = False) -> AccessPolicy:
    async with runtime.engine.connect() as conn:
        active = (await conn.exec_driver_sql(
            "SELECT active FROM dg_users WHERE id::text = $1", (row["user_id"],))).scalar()
    if not active:
        raise MappingError("the user who started the job is no longer active")
    return await runtime.policy(row["user_id"], runtime.generation(), fresh=fresh)


class _Progress:
    """Importer progress, written to the job row at most every PROGRESS_SECONDS."""

    def __init__(self, runtime: Runtime, job_id: str) -> None:
        self.runtime, self.job_id = runtime, job_id
        self.seen = self.written = (0, 0)

    def __call__(self, rows: int, done: int) -> None:
        self.seen = (rows, done)

    async def follow(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            await self.flush()

    async def flush(self) -> None:
        if self.seen != self.written:
            self.written = self.seen
            await jobs.mark(self.runtime.engine, self.job_id, rows_done=self.seen[0],
                            bytes_done=self.seen[1])


async def _import(runtime: Runtime, row: Any, folder: Path, partial: dict[str, Any]
                  ) -> dict[str, Any]:
    job_id = row["id"]
    source, rejects = folder / "upload.csv", folder / "rejects.csv"
    duplicates = folder / "duplicates.csv"
    await jobs.save_to(runtime.engine, job_id, "upload", source)
    policy = await _policy(runtime, row)
    given = jobs.decode(row["options"])
    importer: Importer | UserImporter
    if is_user_import(row["module"]):
        importer = UserImporter(runtime, await user_import_options(
            runtime.engine, given, rejects=rejects), policy)
    else:
        importer = Importer(runtime, row["module"], await import_options(
            runtime.engine, row["module"], given, rejects=rejects, duplicates=duplicates),
            policy, reload=lambda: _policy(runtime, row, fresh=True))
    progress = _Progress(runtime, job_id)
    follower = asyncio.create_task(progress.follow())
    try:
        report = await importer.run(source, progress)
    except BaseException:
        partial["report"] = importer.report.as_dict()
        raise
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    await progress.flush()
    if report.rejected:
        await jobs.store_path(runtime.engine, job_id, "rejects", rejects)
    if report.duplicates and duplicates.exists():
        await jobs.store_path(runtime.engine, job_id, "duplicates", duplicates)
    return report.as_dict()


async def _export(runtime: Runtime, row: Any, folder: Path, partial: dict[str, Any]
                  ) -> dict[str, Any]:
    from defalto_gql.transfer.exporting import export_text, typed_filter

    job_id = row["id"]
    options = jobs.decode(row["options"])
    policy = await _policy(runtime, row)
    generation = runtime.generation()
    ctx = runtime.context(generation, policy=policy).records
    # Stored as given (JSON); read as the list query reads it, with today's fields.
    where = typed_filter(generation.schema, ctx.snapshot.module(row["module"]),
                         options.get("filter"))
    target = folder / "export.csv"
    with target.open("w", encoding="utf-8", newline="") as out:
        count = await export_text(ctx, row["module"], out, where=where,
                                  fields=options.get("fields"), bom=bool(options.get("bom")))
    size = await jobs.store_path(runtime.engine, job_id, "export", target)
    await jobs.mark(runtime.engine, job_id, rows_done=count, bytes_done=size,
                    bytes_total=size)
    return {"module": row["module"], "rows": count, "bytes": size}
