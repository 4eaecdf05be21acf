"""Import and export jobs as rows, and their files as chunks in the database.

A job row (``dg_transfer_jobs``) holds what was asked (module, options), who
asked, and how far it got; the queue (``transfer.queue``) runs it. Files (the
uploaded CSV, the rejected rows, an export) are stored in 1 MiB chunks in
``dg_transfer_files``, so any instance can run a job or serve its files, and
neither writing nor reading one holds more than a chunk in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from defalto_gql.errors import BadUserInput, Conflict, NotFound

CHUNK = 1 << 20
FILE_KINDS = ("upload", "rejects", "export")


async def create_job(conn: AsyncConnection, *, kind: str, module: str, user_id: str,
                     file_name: str, options: dict[str, Any]) -> str:
    job_id = (await conn.exec_driver_sql(
        "INSERT INTO dg_transfer_jobs (kind, module, user_id, file_name, options) "
        "VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id::text",
        (kind, module, user_id, file_name.replace("\x00", "")[:255] or "upload.csv",
         encode(options)))).scalar_one()
    return str(job_id)


async def store_file(conn: AsyncConnection, job_id: str, kind: str, source: IO[bytes],
                     limit: int | None = None, copy: IO[bytes] | None = None) -> int:
    """Copy a binary file object into the job's chunks (and to ``copy``); returns its size."""
    size, seq = 0, 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise BadUserInput(f"the file is larger than {limit} bytes", field="file")
        if copy is not None:
            copy.write(chunk)
        await conn.exec_driver_sql(
            "INSERT INTO dg_transfer_files (job_id, kind, seq, chunk) VALUES ($1, $2, $3, $4)",
            (job_id, kind, seq, chunk))
        seq += 1
    return size


async def file_chunks(engine: AsyncEngine, job_id: str, kind: str) -> AsyncIterator[bytes]:
    """A stored file chunk by chunk, each read on its own (memory stays at one chunk)."""
    seq = 0
    while True:
        async with engine.connect() as conn:
            chunk = (await conn.exec_driver_sql(
                "SELECT chunk FROM dg_transfer_files WHERE job_id = $1 AND kind = $2 "
                "AND seq = $3", (job_id.lower(), kind, seq))).scalar()
        if chunk is None:
            return
        yield bytes(chunk)
        seq += 1


async def has_file(conn: AsyncConnection, job_id: str, kind: str) -> bool:
    found = await conn.exec_driver_sql(
        "SELECT 1 FROM dg_transfer_files WHERE job_id = $1 AND kind = $2 AND seq = 0",
        (job_id.lower(), kind))
    return found.scalar() is not None


async def save_to(engine: AsyncEngine, job_id: str, kind: str, path: Path) -> None:
    with path.open("wb") as out:
        async for chunk in file_chunks(engine, job_id, kind):
            out.write(chunk)


async def store_path(engine: AsyncEngine, job_id: str, kind: str, path: Path) -> int:
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "DELETE FROM dg_transfer_files WHERE job_id = $1 AND kind = $2", (job_id, kind))
        with path.open("rb") as source:
            return await store_file(conn, job_id, kind, source)


JOB_COLUMNS = ("id::text AS id, kind, module, user_id::text AS user_id, status, file_name, "
               "options, rows_done, bytes_done, bytes_total, report, error, created_at, "
               "started_at, finished_at")


async def job_row(conn: AsyncConnection, job_id: str) -> Any:
    """The job's row; None for an id that is not a job's (or not a UUID at all)."""
    try:
        uuid.UUID(job_id)
    except ValueError:
        return None
    return (await conn.exec_driver_sql(
        f"SELECT {JOB_COLUMNS} FROM dg_transfer_jobs WHERE id::text = lower($1)",
        (job_id,))).mappings().first()


async def visible_job(conn: AsyncConnection, job_id: str, user_id: str, is_admin: bool) -> Any:
    """The job, if it is the user's own (administrators see every job); else NotFound."""
    row = await job_row(conn, job_id)
    if row is None or not (is_admin or row["user_id"] == user_id):
        raise NotFound(f"there is no import or export job {job_id[:64]!r}", field="id")
    return row


async def delete_job(conn: AsyncConnection, job_id: str, user_id: str, is_admin: bool) -> None:
    """Forget a job that has ended, with its files (the user's own, or any for an admin)."""
    row = await visible_job(conn, job_id, user_id, is_admin)
    if row["status"] in ("queued", "running"):
        raise Conflict(f"the job is {row['status']}; delete it once it has ended", field="id")
    await conn.exec_driver_sql("DELETE FROM dg_transfer_jobs WHERE id = $1", (row["id"],))


async def recent_jobs(conn: AsyncConnection, user_id: str, is_admin: bool, limit: int,
                      everyone: bool) -> list[Any]:
    where = "TRUE" if (is_admin and everyone) else "user_id::text = $1"
    rows = await conn.exec_driver_sql(
        f"SELECT {JOB_COLUMNS} FROM dg_transfer_jobs WHERE {where} "
        "ORDER BY created_at DESC, id LIMIT $2", (user_id, limit))
    return list(rows.mappings())


async def mark(engine: AsyncEngine, job_id: str, **changes: Any) -> None:
    """Set columns of a job row: status, counters, report, error, timestamps."""
    names = list(changes)
    values = [encode(v) if n in ("report", "options") else v for n, v in changes.items()]
    sets = ", ".join(
        f"{n} = ${i + 2}{'::jsonb' if n in ('report', 'options') else ''}"
        for i, n in enumerate(names))
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"UPDATE dg_transfer_jobs SET {sets} WHERE id::text = $1",
                                   (job_id, *values))


# A worker that has not beaten its heart for this long is gone (procrastinate's default
# stalled-worker timeout is 30 s, with a heartbeat every 10 s).
STALLED = "60 seconds"


async def fail_interrupted(engine: AsyncEngine) -> int:
    """Mark failed the jobs left ``running`` by a worker that stopped; returns how many.

    A job is running as long as a live worker (a recent heartbeat) holds its queue job.
    """
    async with engine.begin() as conn:
        failed = [ident for (ident,) in await conn.exec_driver_sql(
            "UPDATE dg_transfer_jobs AS t SET status = 'failed', finished_at = now(), "
            "error = 'interrupted: the worker running it stopped; rows already written stay; "
            "start it again with a match rule to skip them' "
            "WHERE t.status = 'running' AND NOT EXISTS ("
            " SELECT 1 FROM procrastinate_jobs AS p JOIN procrastinate_workers AS w"
            " ON w.id = p.worker_id WHERE p.status = 'doing'"
            " AND p.args ->> 'job_id' = t.id::text"
            f" AND w.last_heartbeat > now() - interval '{STALLED}') RETURNING t.id")]
        # Their uploads go, as a finished job's do; a new job needs the file again.
        await conn.exec_driver_sql(
            "DELETE FROM dg_transfer_files WHERE kind = 'upload' AND job_id = ANY($1)",
            (failed,))
        return len(failed)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _safe(value: Any) -> Any:
    """JSON data PostgreSQL's jsonb can hold: it refuses the NUL character in text."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_safe(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    return value


def encode(value: Any) -> str:
    return json.dumps(_safe(value), default=str)


def decode(value: Any) -> Any:
    """A jsonb value as read (a JSON text, or already decoded)."""
    return json.loads(value) if isinstance(value, str) else value
