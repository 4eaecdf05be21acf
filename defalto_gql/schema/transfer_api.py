"""CSV import and export through the API: jobs, their progress and files, saved mappings.

An import starts from a file upload (the GraphQL multipart request
specification, parsed in ``http.py``); an export from a filter. Either
becomes a job that a worker runs; the client follows it with ``transferJob``
and downloads the export, or the rejected rows, from the job's URLs with the
same Authorization header.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from defalto_gql.errors import BadUserInput, Forbidden
from defalto_gql.metadata.model import ModuleDef
from defalto_gql.schema.inputs import plain
from defalto_gql.schema.transfer_types import (
    ImportJobInput,
    ImportMapping,
    TransferJob,
    job_view,
    mapping_view,
)
from defalto_gql.transfer import jobs
from defalto_gql.transfer.mapping import normalise

# transfer.job_options and transfer.queue reach the runtime, which builds this schema:
# they are imported where they are used.


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
            return job_view(await jobs.visible_job(conn, str(id), user_id, is_admin))

    @strawberry.field(description="Your latest import and export jobs, newest first; "
                                  "administrators may ask for everyone's.")
    async def transferJobs(self, info: strawberry.Info, first: int = 20,
                           everyone: bool = False) -> list[TransferJob]:
        if not 1 <= first <= 200:
            raise BadUserInput("first must be between 1 and 200", field="first")
        user_id, is_admin = _user(info)
        async with info.context.runtime.engine.connect() as conn:
            rows = await jobs.recent_jobs(conn, user_id, is_admin, first, everyone)
        return [job_view(r) for r in rows]

    @strawberry.field(description="Saved import mappings, of one module or of every module "
                                  "you may import into.")
    async def importMappings(self, info: strawberry.Info,
                             module: str | None = None) -> list[ImportMapping]:
        from defalto_gql.transfer import saved_mappings

        rights = info.context.records.rights
        if module is not None:
            names = [_named(_target(info, module))]
        else:
            names = [m for m in info.context.records.snapshot.modules
                     if rights.allows(m, "import")] + ([USERS] if rights.is_admin else [])
        async with info.context.runtime.engine.connect() as conn:
            return [mapping_view(r) for r in await saved_mappings.list_mappings(conn, names)]


async def _start(info: strawberry.Info, kind: str, module: str, file_name: str,
                 options: dict[str, Any], upload: Any = None) -> TransferJob:
    from defalto_gql.transfer.queue import enqueue

    runtime = info.context.runtime
    user_id = info.context.records.user_id
    async with runtime.engine.begin() as conn:
        job_id = await jobs.create_job(conn, kind=kind, module=module, user_id=user_id,
                                       file_name=file_name, options=options)
        if upload is not None:
            with tempfile.TemporaryDirectory(prefix="defalto-upload-") as folder:
                copy = Path(folder) / "upload.csv"
                # One file may fill several variables, or one variable several fields
                # (the multipart spec allows both): each use reads it from the start.
                upload.file.seek(0)
                with copy.open("wb") as out:
                    size = await jobs.store_file(conn, job_id, "upload", upload.file,
                                                 runtime.settings.max_upload_bytes, out)
                # A file the job could not start on fails this request (and stores nothing).
                await _check_header(info, module, options, copy)
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
        return job_view(await jobs.job_row(conn, job_id))


@strawberry.type
class TransferMutation:
    @strawberry.mutation(description="Upload a CSV file (GraphQL multipart request) and start "
                                     "importing it into a module; follow it with transferJob.")
    async def startImport(self, info: strawberry.Info, module: str, file: Upload,
                          options: ImportJobInput | None = None) -> TransferJob:
        from defalto_gql.transfer import job_options, saved_mappings

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
                await saved_mappings.mapping_rules(conn, _named(target), given["mappingName"])
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
        from defalto_gql.transfer.exporting import check_filter, export_fields, typed_filter

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
        await check_filter(ctx, target, typed_filter(info.schema, target, filter))
        options = {"filter": filter, "fields": fields, "bom": bom}
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        return await _start(info, "export", target.name, f"{target.plural}-{stamp}.csv",
                            options)

    @strawberry.mutation(description="Save import mapping rules under a name (replacing any "
                                     "of the same name) for everyone who imports the module.")
    async def saveImportMapping(self, info: strawberry.Info, module: str, name: str,
                                rules: JSON) -> ImportMapping:
        from defalto_gql.transfer import saved_mappings

        target = _target(info, module)
        user_id, is_admin = _user(info)
        async with info.context.runtime.engine.begin() as conn:
            row = await saved_mappings.save_mapping(conn, target, name, rules, user_id, is_admin)
        return mapping_view(row)

    @strawberry.mutation(description="Delete an import or export job that has ended, with "
                                     "its files (yours, or any as an administrator).")
    async def deleteTransferJob(self, info: strawberry.Info, id: strawberry.ID) -> bool:
        user_id, is_admin = _user(info)
        async with info.context.runtime.engine.begin() as conn:
            await jobs.delete_job(conn, str(id), user_id, is_admin)
        return True

    @strawberry.mutation(description="Delete a saved import mapping (yours, or any as an "
                                     "administrator).")
    async def deleteImportMapping(self, info: strawberry.Info, module: str, name: str) -> bool:
        from defalto_gql.transfer import job_options, saved_mappings

        target = _target(info, module)
        user_id, is_admin = _user(info)
        job_options.no_nul(name, "name")
        async with info.context.runtime.engine.begin() as conn:
            await saved_mappings.delete_mapping(conn, _named(target), name, user_id, is_admin)
        return True


async def _check_header(info: strawberry.Info, module: str, given: dict[str, Any],
                        path: Path) -> None:
    """The header, options and rights as the import job (of records or users) will check them."""
    from defalto_gql.transfer.csvfiles import CsvFileError
    from defalto_gql.transfer.importing import Importer
    from defalto_gql.transfer.job_options import import_options, user_import_options
    from defalto_gql.transfer.mapping import MappingError
    from defalto_gql.transfer.users import UserImporter, is_user_import

    runtime, records = info.context.runtime, info.context.records
    importer: Importer | UserImporter
    if is_user_import(module):
        importer = UserImporter(runtime, await user_import_options(
            runtime.engine, given, rejects=path.with_name("r")), records.rights)
    else:
        importer = Importer(runtime, module, await import_options(
            runtime.engine, module, given, rejects=path.with_name("r"),
            duplicates=path.with_name("d")), records.rights)
    try:
        await importer.check_header(path)
    except CsvFileError as exc:
        raise BadUserInput(str(getattr(exc, "message", exc)), field="file") from None
    except MappingError as exc:
        raise BadUserInput(str(exc), field="options") from None
