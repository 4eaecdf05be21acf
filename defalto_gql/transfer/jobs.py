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
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from defalto_gql.errors import BadUserInput, NotFound

CHUNK = 1 << 20
FILE_KINDS = ("upload", "rejects", "export")


async def create_job(conn: AsyncConnection, *, kind: str, module: str, user_id: str,
                     file_name: str, options: dict[str, Any]) -> str:
    job_id = (await conn.exec_driver_sql(
        "INSERT INTO dg_transfer_jobs (kind, module, user_id, file_name, options) "
        "VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id::text",
        (kind, module, user_id, file_name[:255], encode(options)))).scalar_one()
    return str(job_id)


async def store_file(conn: AsyncConnection, job_id: str, kind: str, source: IO[bytes],
                     limit: int | None = None) -> int:
    """Copy a binary file object into the job's chunks; returns its size in bytes."""
    size, seq = 0, 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise BadUserInput(f"the file is larger than {limit} bytes", field="file")
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
                "AND seq = $3", (job_id, kind, seq))).scalar()
        if chunk is None:
            return
        yield bytes(chunk)
        seq += 1


async def has_file(conn: AsyncConnection, job_id: str, kind: str) -> bool:
    found = await conn.exec_driver_sql(
        "SELECT 1 FROM dg_transfer_files WHERE job_id = $1 AND kind = $2 AND seq = 0",
        (job_id, kind))
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
    return (await conn.exec_driver_sql(
        f"SELECT {JOB_COLUMNS} FROM dg_transfer_jobs WHERE id::text = $1",
        (job_id,))).mappings().first()


async def visible_job(conn: AsyncConnection, job_id: str, user_id: str, is_admin: bool) -> Any:
    """The job, if it is the user's own (administrators see every job); else NotFound."""
    row = await job_row(conn, job_id)
    if row is None or not (is_admin or row["user_id"] == user_id):
        raise NotFound(f"there is no import or export job {job_id}", field="id")
    return row


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


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Options hold filter values (dates, amounts) that JSON has no type for; they are
# tagged on the way in and restored on the way out, so a job filters as its request did.
_TAGS: dict[str, Any] = {
    "$date": dt.date.fromisoformat, "$datetime": dt.datetime.fromisoformat,
    "$time": dt.time.fromisoformat, "$decimal": Decimal,
}


def _tagged(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$time": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"cannot store a {type(value).__name__} in a job's options")


def encode(value: Any) -> str:
    return json.dumps(value, default=_tagged)


def decode(value: Any) -> Any:
    """Options as stored (a JSON text or already decoded), with tagged values restored."""
    data = json.loads(value) if isinstance(value, str) else value
    return _restore(data)


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key in _TAGS and isinstance(inner, str):
                return _TAGS[key](inner)
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value
