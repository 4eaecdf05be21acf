"""CSV import and export through the API: jobs, their progress and files, saved mappings.

An import starts from a file upload (the GraphQL multipart request
specification, parsed in ``http.py``); an export from a filter. Either
becomes a job that a worker runs; the client follows it with ``transferJob``
and downloads the export, or the rejected rows, from the job's URLs with the
same Authorization header.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from defalto_gql.errors import BadUserInput, Forbidden
from defalto_gql.metadata.model import ModuleDef
from defalto_gql.schema.inputs import plain
from defalto_gql.transfer import jobs
from defalto_gql.transfer.mapping import normalise

# transfer.job_options and transfer.queue reach the runtime, which builds this schema:
# they are imported where they are used.


@strawberry.type(description="One reason a row was not imported.")
class ImportProblem:
    line: int = strawberry.field(description="The row's first line in the file.")
    column: str | None = strawberry.field(description="The column at fault, if one is.")
    reason: str = strawberry.field(description="What is wrong.")


@strawberry.type(description="What an import did: every row is created, updated, skipped "
                             "or rejected.")
class ImportResult:
    rows: int = strawberry.field(description="Rows read.")
    created: int
    updated: int
    merged: int = strawberry.field(description="Duplicates whose empty fields were filled.")
    skipped: int = strawberry.field(description="Rows skipped as duplicates.")
    rejected: int
    detected: int = strawberry.field(description="Duplicates found by similarity (detect).")
    conflicted: int = strawberry.field(
        description="Merged rows with a value that differs from the record's (kept).")
    problemCount: int = strawberry.field(description="Problems found (a row can have several).")
    problems: list[ImportProblem] = strawberry.field(
        description="The first 1,000 problems; the rejects file holds every rejected row.")
    details: JSON = strawberry.field(
        description="The whole report: mapped and ignored columns, extended picklists, "
                    "reference targets created, duplicates found.")


@strawberry.type(description="An import or export, queued, running or done.")
class TransferJob:
    id: strawberry.ID
    kind: str = strawberry.field(description="import or export.")
    module: str
    status: str = strawberry.field(description="queued, running, finished or failed.")
    fileName: str
    rowsDone: int = strawberry.field(description="Rows read (import) or written (export).")
    bytesDone: int
    bytesTotal: int | None = strawberry.field(description="The file's size, when known.")
    error: str | None = strawberry.field(description="Why the job failed as a whole.")
    createdAt: dt.datetime
    startedAt: dt.datetime | None
    finishedAt: dt.datetime | None
    result: ImportResult | None = strawberry.field(description="An import's report, once done.")
    fileUrl: str | None = strawberry.field(
        description="A finished export's CSV: GET it with the Authorization header.")
    rejectsUrl: str | None = strawberry.field(
        description="The rejected rows as CSV, with line and reason columns, when there are "
                    "any: GET it with the Authorization header.")
    duplicatesUrl: str | None = strawberry.field(
        description="Every duplicate found (line, record, score, action, fields filled or "
                    "in conflict) as CSV, when there are any.")


@strawberry.type(description="Import mapping rules saved under a name, for one module.")
class ImportMapping:
    id: strawberry.ID
    module: str
    name: str
    rules: JSON = strawberry.field(description="columns, values, references, extendPicklists.")
    updatedAt: dt.datetime


@strawberry.input(description="How to read an uploaded file and what to do with duplicates.")
class ImportJobInput:
    mapping: JSON | None = strawberry.field(default=None, description="Mapping rules.")
    mappingName: str | None = strawberry.field(default=None,
                                               description="A saved mapping's name.")
    match: list[str] | None = strawberry.field(
        default=None, description="Fields that identify a duplicate (email, name ...).")
    onDuplicate: str = strawberry.field(
        default="skip", description="skip, update (the row's values win) or merge (empty "
                                    "fields of the record are filled; its values are kept).")
    detect: list[str] | None = strawberry.field(
        default=None, description="Fields compared by similarity to find duplicates with "
                                  "typos (names, street, birthday ...).")
    detectBlock: list[str] | None = strawberry.field(
        default=None, description="Fields whose equal value makes a record a candidate "
                                  "(default: the detect fields).")
    detectThreshold: float | None = strawberry.field(
        default=None, description="Similarity from which a candidate is a duplicate, above 0 "
                                  "and at most 1 (default 0.8).")
    dryRun: bool = strawberry.field(default=False, description="Report only; write nothing.")
    encoding: str | None = strawberry.field(
        default=None, description="utf-8 (default, with or without BOM) or e.g. cp1252.")
    delimiter: str | None = strawberry.field(
        default=None, description="',', ';' or 'tab'; found from the header when not given.")
    dayFirst: bool = strawberry.field(default=False,
                                      description="Read 01/02/2023 as 1 February.")


def _job(row: Any, generated_url: str = "/transfers") -> TransferJob:
    report = jobs.decode(row["report"]) if row["report"] is not None else None
    result = None
    if row["kind"] == "import" and report is not None:
        result = ImportResult(
            rows=report["rows"], created=report["created"], updated=report["updated"],
            merged=report.get("merged", 0), skipped=report["skipped"],
            rejected=report["rejected"], detected=report.get("detected", 0),
            conflicted=report.get("conflicted", 0),
            problemCount=report["problemCount"],
            problems=[ImportProblem(line=p["line"], column=p["column"], reason=p["reason"])
                      for p in report["problems"]],
            details=report)
    done = row["status"] == "finished"
    base = f"{generated_url}/{row['id']}"
    return TransferJob(
        id=strawberry.ID(row["id"]), kind=row["kind"], module=row["module"],
        status=row["status"], fileName=row["file_name"], rowsDone=row["rows_done"],
        bytesDone=row["bytes_done"], bytesTotal=row["bytes_total"], error=row["error"],
        createdAt=row["created_at"], startedAt=row["started_at"],
        finishedAt=row["finished_at"], result=result,
        fileUrl=f"{base}/export" if done and row["kind"] == "export" else None,
        rejectsUrl=f"{base}/rejects" if done and report and report.get("rejected") else None,
        duplicatesUrl=f"{base}/duplicates" if done and report and report.get("duplicates")
        else None,
    )


def _mapping(row: Any) -> ImportMapping:
    rules = row["rules"]
    return ImportMapping(id=strawberry.ID(row["id"]), module=row["module"], name=row["name"],
                         rules=json.loads(rules) if isinstance(rules, str) else rules,
                         updatedAt=row["updated_at"])


def _module(info: strawberry.Info, name: str) -> ModuleDef:
    """A module by name or plural, ignoring case."""
    snapshot = info.context.records.snapshot
    for module in snapshot.modules.values():
        if normalise(name) in (normalise(module.name), normalise(module.plural)):
            return module  # type: ignore[no-any-return]
    raise BadUserInput(f"there is no module {name[:64]!r}", field="module")


# Users are not a module, yet administrators import them from CSV (transfer.users).
USERS = "User"


def _target(info: strawberry.Info, name: str) -> ModuleDef | str:
    """The module an import goes to, or USERS for people (administrators only)."""
    from defalto_gql.transfer.users import is_user_import

    if is_user_import(name):
        if not info.context.records.rights.is_admin:
            raise Forbidden("only administrators import users", field="module")
        return USERS
    module = _module(info, name)
    info.context.records.rights.require(module.name, "import")
    return module


def _named(target: ModuleDef | str) -> str:
    return target if isinstance(target, str) else target.name


def _user(info: strawberry.Info) -> tuple[str, bool]:
    rights = info.context.records.rights
    return info.context.records.user_id, rights.is_admin


@strawberry.type
class TransferQuery:
    @strawberry.field(description="An import or export job of yours (administrators: any).")
    async def transferJob(self, info: strawberry.Info, id: strawberry.ID) -> TransferJob:
        user_id, is_admin = _user(info)
        async with info.context.runtime.engine.connect() as conn:
            return _job(await jobs.visible_job(conn, str(id), user_id, is_admin))

    @strawberry.field(description="Your latest import and export jobs, newest first; "
                                  "administrators may ask for everyone's.")
    async def transferJobs(self, info: strawberry.Info, first: int = 20,
                           everyone: bool = False) -> list[TransferJob]:
        if not 1 <= first <= 200:
            raise BadUserInput("first must be between 1 and 200", field="first")
        user_id, is_admin = _user(info)
        async with info.context.runtime.engine.connect() as conn:
            rows = await jobs.recent_jobs(conn, user_id, is_admin, first, everyone)
        return [_job(r) for r in rows]

    @strawberry.field(description="Saved import mappings, of one module or of every module "
                                  "you may import into.")
    async def importMappings(self, info: strawberry.Info,
                             module: str | None = None) -> list[ImportMapping]:
        from defalto_gql.transfer import job_options

        rights = info.context.records.rights
        if module:
            names = [_named(_target(info, module))]
        else:
            names = [m for m in info.context.records.snapshot.modules
                     if rights.allows(m, "import")] + ([USERS] if rights.is_admin else [])
        async with info.context.runtime.engine.connect() as conn:
            return [_mapping(r) for r in await job_options.list_mappings(conn, names)]


async def _start(info: strawberry.Info, kind: str, module: str, file_name: str,
                 options: dict[str, Any], upload: Any = None) -> TransferJob:
    from defalto_gql.transfer.queue import enqueue

    runtime = info.context.runtime
    user_id = info.context.records.user_id
    async with runtime.engine.begin() as conn:
        job_id = await jobs.create_job(conn, kind=kind, module=module, user_id=user_id,
                                       file_name=file_name, options=options)
        if upload is not None:
            size = await jobs.store_file(conn, job_id, "upload", upload.file,
                                         runtime.settings.max_upload_bytes)
            await conn.exec_driver_sql(
                "UPDATE dg_transfer_jobs SET bytes_total = $2 WHERE id::text = $1",
                (job_id, size))
    queue = info.context.request.app.state.queue if info.context.request else None
    if queue is None:
        await jobs.mark(runtime.engine, job_id, status="failed", finished_at=jobs.now(),
                        error="this server runs no job queue")
    else:
        await enqueue(queue, kind, job_id)
    async with runtime.engine.connect() as conn:
        return _job(await jobs.job_row(conn, job_id))


@strawberry.type
class TransferMutation:
    @strawberry.mutation(description="Upload a CSV file (GraphQL multipart request) and start "
                                     "importing it into a module; follow it with transferJob.")
    async def startImport(self, info: strawberry.Info, module: str, file: Upload,
                          options: ImportJobInput | None = None) -> TransferJob:
        from defalto_gql.transfer import job_options

        target = _target(info, module)
        given = plain(options) if options is not None else {}
        if isinstance(target, str):
            job_options.check_user_options(given)
        else:
            rights = info.context.records.rights
            rights.require(target.name, "create")
            if given.get("onDuplicate") in ("update", "merge"):
                rights.require(target.name, "edit")
            job_options.check_options(target, given)
        if given.get("mappingName") is not None:
            async with info.context.runtime.engine.connect() as conn:
                await job_options.mapping_rules(conn, _named(target), given["mappingName"])
        if not hasattr(file, "file"):
            raise BadUserInput("file must be an uploaded file (a multipart request)",
                               field="file")
        name = getattr(file, "filename", None) or "upload.csv"
        return await _start(info, "import", _named(target), name, given, upload=file)

    @strawberry.mutation(description="Start exporting a module's records as CSV: those the "
                                     "filter selects (the API's filter language), the fields "
                                     "named (default: every field you may see).")
    async def startExport(self, info: strawberry.Info, module: str,
                          filter: JSON | None = None, fields: list[str] | None = None,
                          bom: bool = False) -> TransferJob:
        from defalto_gql.transfer.exporting import export_fields

        target = _module(info, module)
        ctx = info.context.records
        ctx.rights.require(target.name, "export")
        if filter is not None and not isinstance(filter, dict):
            raise BadUserInput("filter must be an object, as in the list queries",
                               field="filter")
        if fields is not None and (not fields or len(set(fields)) != len(fields)):
            raise BadUserInput("fields names each field once (leave it out for all)",
                               field="fields")
        # Checked now, so a bad filter or field fails this request, not the job.
        export_fields(ctx, target, fields)
        await _probe_filter(info, target, filter)
        options = {"filter": filter, "fields": fields, "bom": bom}
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        return await _start(info, "export", target.name, f"{target.plural}-{stamp}.csv",
                            options)

    @strawberry.mutation(description="Save import mapping rules under a name (replacing any "
                                     "of the same name) for everyone who imports the module.")
    async def saveImportMapping(self, info: strawberry.Info, module: str, name: str,
                                rules: JSON) -> ImportMapping:
        from defalto_gql.transfer import job_options

        target = _target(info, module)
        user_id, is_admin = _user(info)
        async with info.context.runtime.engine.begin() as conn:
            row = await job_options.save_mapping(conn, target, name, rules, user_id, is_admin)
        return _mapping(row)

    @strawberry.mutation(description="Delete a saved import mapping (yours, or any as an "
                                     "administrator).")
    async def deleteImportMapping(self, info: strawberry.Info, module: str, name: str) -> bool:
        from defalto_gql.transfer import job_options

        target = _target(info, module)
        user_id, is_admin = _user(info)
        job_options.no_nul(name, "name")
        async with info.context.runtime.engine.begin() as conn:
            await job_options.delete_mapping(conn, _named(target), name, user_id, is_admin)
        return True


async def _probe_filter(info: strawberry.Info, module: ModuleDef, filter: Any) -> None:
    """Run the export's filter once (one row), so a filter that cannot run fails now."""
    from sqlalchemy.exc import DBAPIError

    from defalto_gql.errors import DefaltoError
    from defalto_gql.records.reading import ListArgs, list_records
    from defalto_gql.transfer import job_options

    job_options.no_nul(filter, "filter")
    try:
        await list_records(info.context.records, module.name, ListArgs(filter=filter, first=1))
    except DefaltoError:
        raise
    except (DBAPIError, AttributeError, TypeError, ValueError, KeyError, IndexError):
        raise BadUserInput("the filter does not fit the module's fields: write it as the "
                           f"{module.plural} list query's filter argument, in JSON",
                           field="filter") from None
