"""The ``defalto import`` and ``defalto export`` commands.

Both act as a user: ``--as EMAIL``, or the first administrator. Exit codes of
import: 0 every row written or skipped, 1 some rows rejected, 2 nothing done
(the file, the mapping or the rights are wrong).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from defalto_gql.access.policy import AccessPolicy
from defalto_gql.config import Settings
from defalto_gql.errors import BadUserInput, DefaltoError
from defalto_gql.metadata.model import Snapshot
from defalto_gql.runtime import Runtime
from defalto_gql.transfer.csvfiles import CsvFileError
from defalto_gql.transfer.importing import ON_DUPLICATE, Importer, ImportOptions
from defalto_gql.transfer.mapping import Mapping, MappingError, normalise
from defalto_gql.transfer.reports import ImportReport
from defalto_gql.transfer.userrules import UserRules
from defalto_gql.transfer.users import MODULE as USERS
from defalto_gql.transfer.users import UserImporter, is_user_import, user_options

SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000001"
SHOWN_PROBLEMS = 20


def add_commands(commands: Any) -> None:
    """Register ``import`` and ``export`` on the CLI's subcommand parser."""
    run = commands.add_parser("import", help="import a CSV file into a module")
    run.add_argument("module", help="module name, e.g. Account or accounts; User for people")
    run.add_argument("file", type=Path)
    run.add_argument("--mapping", type=Path, help="a JSON mapping file (see docs/realdata.md)")
    run.add_argument("--mapping-name", help="a mapping saved through the API (saveImportMapping)")
    run.add_argument("--match", default="", help="fields that identify a duplicate: email,name")
    run.add_argument("--on-duplicate", choices=ON_DUPLICATE, default="skip",
                     help="merge fills the duplicate's empty fields and keeps the rest")
    run.add_argument("--detect", default="",
                     help="fields compared by similarity to find duplicates: firstName,lastName")
    run.add_argument("--detect-block", default="",
                     help="fields whose equal value makes a candidate (default: --detect)")
    run.add_argument("--detect-threshold", type=float,
                     help="the similarity a duplicate reaches, above 0 and at most 1 (0.8)")
    run.add_argument("--duplicates", type=Path, help="write every duplicate found here (CSV)")
    run.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    run.add_argument("--encoding", help="the file's encoding (default UTF-8, BOM or not)")
    run.add_argument("--delimiter", help="',' ';' or 'tab' (default: sniffed from the header)")
    run.add_argument("--day-first", action="store_true", help="read 01/02/2024 as 1 February")
    run.add_argument("--rejects", type=Path, help="write rejected rows with reasons here")
    run.add_argument("--report", type=Path, help="write the full report as JSON here")
    run.add_argument("--batch-size", type=int, default=500)
    run.add_argument("--as", dest="as_email", help="act as this user (default: first admin)")
    run.add_argument("--no-progress", action="store_true")
    run.set_defaults(handler=import_command)

    out = commands.add_parser("export", help="export a module's records as CSV")
    out.add_argument("module")
    out.add_argument("--filter", help="a filter as JSON, as in the GraphQL API")
    out.add_argument("--fields", help="field names, comma separated (default: all visible)")
    out.add_argument("--bom", action="store_true", help="start with a UTF-8 byte-order mark")
    out.add_argument("--output", "-o", type=Path, help="a file instead of standard output")
    out.add_argument("--as", dest="as_email", help="act as this user (default: first admin)")
    out.set_defaults(handler=export_command)


def module_named(snapshot: Snapshot, name: str) -> str:
    """A module by name or plural, ignoring case: ``deals`` -> ``Deal``."""
    wanted = normalise(name)
    for module in snapshot.modules.values():
        if wanted in (normalise(module.name), normalise(module.plural)):
            return module.name
    known = ", ".join(sorted(snapshot.modules))
    raise MappingError(f"there is no module {name!r}; modules: {known}")


async def acting_policy(runtime: Runtime, email: str | None, *, fresh: bool = False
                        ) -> AccessPolicy:
    """The rights of ``--as EMAIL``, or of the first administrator (``fresh``: as now)."""
    async with runtime.engine.connect() as conn:
        if email:
            found = (await conn.exec_driver_sql(
                "SELECT id::text FROM dg_users WHERE email = lower($1) AND active",
                (email,))).scalar()
            if found is None:
                raise MappingError(f"there is no active user {email}")
        else:
            found = (await conn.exec_driver_sql(
                "SELECT id::text FROM dg_users WHERE is_admin AND active AND id <> $1 "
                "ORDER BY created_at, email LIMIT 1", (SYSTEM_USER_ID,))).scalar()
    if found is None:
        return AccessPolicy.system(SYSTEM_USER_ID)
    return await runtime.policy(str(found), runtime.generation(), fresh=fresh)


def _names(given: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in given.split(",") if name.strip())


def _delimiter(given: str | None) -> str | None:
    if given in ("tab", "\\t"):
        return "\t"
    if given is not None and len(given) != 1:
        raise MappingError(f"the delimiter must be one character or 'tab', not {given!r}")
    return given


async def _with_runtime(url: str, settings: Settings, work: Any) -> int:
    from defalto_gql.cli import _prepare
    from defalto_gql.db.engine import make_engine

    await _prepare(url, settings, demo=False)
    engine = make_engine(url, pool_size=2)
    try:
        runtime = Runtime(engine, settings)
        await runtime.refresh()
        code: int = await work(runtime)
        return code
    except (CsvFileError, MappingError, DefaltoError, OSError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()


def import_command(args: argparse.Namespace, settings: Settings) -> None:
    from defalto_gql.cli import database

    async def work(runtime: Runtime) -> int:
        with _writable(args.report):
            return await run(runtime)

    async def run(runtime: Runtime) -> int:
        policy = await acting_policy(runtime, args.as_email)
        if args.mapping and args.mapping_name:
            raise MappingError("give --mapping or --mapping-name, not both")
        if is_user_import(args.module):
            people = user_options(args)
            if args.mapping_name:
                rules = await _saved(runtime, USERS, args.mapping_name)
                people = dataclasses.replace(people, rules=UserRules.from_dict(rules))
            report = await _run_with_progress(UserImporter(runtime, people, policy),
                                              args.file, not args.no_progress)
            return _finish(args, report)
        module = module_named(runtime.generation().model.snapshot, args.module)
        if args.mapping_name:
            mapping = Mapping.from_dict(await _saved(runtime, module, args.mapping_name))
        else:
            mapping = Mapping.load(args.mapping) if args.mapping else Mapping()
        options = ImportOptions(
            mapping=mapping,
            match=_names(args.match),
            on_duplicate=args.on_duplicate, dry_run=args.dry_run, encoding=args.encoding,
            delimiter=_delimiter(args.delimiter), day_first=args.day_first,
            batch_size=args.batch_size, rejects=args.rejects,
            detect=_names(args.detect), detect_block=_names(args.detect_block),
            detect_threshold=args.detect_threshold, duplicates=args.duplicates,
        )
        importer = Importer(runtime, module, options, policy,
                            reload=lambda: acting_policy(runtime, args.as_email, fresh=True))
        report = await _run_with_progress(importer, args.file, not args.no_progress)
        return _finish(args, report)

    # Before a database is started or set up: a mistyped path must not leave a new data
    # folder behind, with an administrator whose password went by with the error.
    for path in (args.file, args.mapping):
        if path is not None and (problem := _unreadable(path)):
            print(f"error: {problem}", file=sys.stderr)
            raise SystemExit(2)
    with database(settings) as url:
        code = asyncio.run(_with_runtime(url, settings, work))
    raise SystemExit(code)


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read, or None."""
    try:
        with path.open("rb"):
            return None
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"


async def _saved(runtime: Runtime, module: str, name: str) -> dict[str, Any]:
    """The rules saved under ``name`` for ``module`` (saveImportMapping)."""
    from defalto_gql.transfer.saved_mappings import mapping_rules

    async with runtime.engine.connect() as conn:
        return await mapping_rules(conn, module, name)


@contextmanager
def _writable(path: Path | None) -> Iterator[None]:
    """Refuse ``path`` now, before a row is written, when it cannot be written later.

    A directory, a missing folder or a file one may not write fails here
    (OSError, exit 2), as the rejects and duplicates files do. A file made for
    the check is removed again when the work fails; one that was there is left
    as it was.
    """
    if path is None:
        yield
        return
    existed = path.exists()
    path.open("a", encoding="utf-8").close()
    try:
        yield
    except BaseException:
        if not existed:
            path.unlink(missing_ok=True)
        raise


@contextmanager
def _replacing(path: Path) -> Iterator[IO[str]]:
    """A file that takes ``path``'s place only when the work succeeds.

    It is written beside ``path`` (so the rename stays on one file system) and
    renamed over it at the end; a failed export removes it and leaves ``path``
    as it was.
    """
    if path.is_dir():
        raise OSError(f"cannot write {path}: it is a folder; name a file")
    folder = path.resolve().parent
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        # Named after the file asked for, not the temporary one beside it.
        raise OSError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
        os.chmod(name, _mode_for(path))
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The permissions the output gets: those of the file it replaces, else the umask's."""
    if path.exists():
        return stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _finish(args: argparse.Namespace, report: ImportReport) -> int:
    if args.report:
        args.report.write_text(json.dumps(report.as_dict(), indent=2, default=str))
    print_report(report)
    return 1 if report.rejected else 0


async def _run_with_progress(importer: Importer | UserImporter, path: Path, shown: bool
                             ) -> ImportReport:
    if not shown:
        return await importer.run(path)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
               TextColumn("{task.fields[rows]} rows"), TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(f"import {path.name}", total=path.stat().st_size, rows=0)
        return await importer.run(
            path, progress=lambda rows, done: bar.update(task, completed=done, rows=rows))


def print_report(report: ImportReport) -> None:
    """A short summary on standard error; the rejects file and --report hold the rest."""
    verb = "would be" if report.dry_run else "were"
    print(f"{report.module}: {report.rows} rows read; {report.created} {verb} created, "
          f"{report.updated} updated, {report.merged} merged, {report.skipped} skipped as "
          f"duplicates, {report.rejected} rejected, {report.blank} blank", file=sys.stderr)
    if report.unmatched:
        print(f"{report.unmatched} rows had no value to match on and {verb} created as new "
              "(each run creates them again)", file=sys.stderr)
    if report.unchanged:
        print(f"{report.unchanged} of the updated rows held the record's values already "
              "(nothing written)", file=sys.stderr)
    if report.detected:
        print(f"{report.detected} duplicates detected by similarity", file=sys.stderr)
    if report.conflicted:
        print(f"{report.conflicted} merged rows kept differing values (see --duplicates)",
              file=sys.stderr)
    if report.ignored_columns:
        print(f"columns ignored: {', '.join(report.ignored_columns)}", file=sys.stderr)
    if report.read_only_columns:
        print(f"columns not imported (their fields are read-only for you): "
              f"{', '.join(report.read_only_columns)}", file=sys.stderr)
    for name, values in report.extended.items():
        grown = "would be" if report.dry_run else "was"
        print(f"picklist {name} {grown} extended with: {', '.join(values)}", file=sys.stderr)
    for target, count in report.targets_created.items():
        print(f"{count} {target} records {verb} created for references", file=sys.stderr)
    for problem in report.problems[:SHOWN_PROBLEMS]:
        print(f"  {problem}", file=sys.stderr)
    if report.problem_count > SHOWN_PROBLEMS:
        print(f"  ... and {report.problem_count - SHOWN_PROBLEMS} more problems",
              file=sys.stderr)


def _filter(given: str | None) -> dict[str, Any] | None:
    """``--filter``: one JSON object, as the GraphQL API's filter argument."""
    if given is None:
        return None
    try:
        where = json.loads(given)
    except ValueError as exc:
        raise BadUserInput(f"--filter is not JSON: {exc}", field="filter") from None
    except RecursionError:
        raise BadUserInput("--filter nests too deeply", field="filter") from None
    if not isinstance(where, dict):
        raise BadUserInput("--filter must be one JSON object, such as "
                           '\'{"lastName": {"eq": "Lovelace"}}\'', field="filter")
    return where


def export_command(args: argparse.Namespace, settings: Settings) -> None:
    from defalto_gql.cli import database
    from defalto_gql.transfer.exporting import (
        check_filter,
        export_fields,
        export_text,
        typed_filter,
    )

    async def work(runtime: Runtime) -> int:
        policy = await acting_policy(runtime, args.as_email)
        generation = runtime.generation()
        module = module_named(generation.model.snapshot, args.module)
        ctx = runtime.context(generation, policy=policy).records
        fields = [f.strip() for f in args.fields.split(",")] if args.fields else None
        # Checked before the first line goes out, so a bad filter or field writes nothing.
        export_fields(ctx, ctx.snapshot.module(module), fields)
        where = typed_filter(generation.schema, ctx.snapshot.module(module),
                             _filter(args.filter))
        await check_filter(ctx, ctx.snapshot.module(module), where)
        if args.output:
            with _replacing(args.output) as out:
                count = await export_text(ctx, module, out, where=where, fields=fields,
                                          bom=args.bom)
        else:
            sys.stdout.reconfigure(encoding="utf-8", newline="")  # type: ignore[union-attr]
            count = await export_text(ctx, module, sys.stdout, where=where, fields=fields,
                                      bom=args.bom)
        print(f"{module}: {count} records exported", file=sys.stderr)
        return 0

    with database(settings) as url:
        code = asyncio.run(_with_runtime(url, settings, work))
    raise SystemExit(code)
