"""Importing a CSV file into a module, in batches, through the API's validation.

The file streams through in batches (500 rows by default). For each batch:
picklist values the mapping lets grow are added, reference cells are resolved
to ids, duplicates are looked up on the match fields, then each row is
validated by ``records.validation.column_values`` (the API's own rules) and
the valid rows go to ``records.writing.create_many`` in one statement.

Every row is accounted for: created, updated, skipped as a duplicate, or
rejected with its line, column and reason. A dry run does all of this except
writing, so it also cannot see a unique-constraint clash with another row of
the same file; such a row is rejected by the real run.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defalto_gql.access.policy import AccessPolicy
from defalto_gql.errors import BadUserInput, DefaltoError, FieldProblem
from defalto_gql.metadata.fieldtypes.temporal import parse_date_text
from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records import writing
from defalto_gql.records.context import RecordContext
from defalto_gql.records.validation import column_values, input_name
from defalto_gql.runtime import Runtime
from defalto_gql.transfer import csvfiles, references
from defalto_gql.transfer.duplicates import find_existing, match_fields
from defalto_gql.transfer.mapping import Mapping, MappingError, plan_columns
from defalto_gql.transfer.picklists import add_picklist_values, unknown_choices
from defalto_gql.transfer.reports import ImportReport, RejectsWriter, RowProblem

logger = logging.getLogger(__name__)

ON_DUPLICATE = ("skip", "update")


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file and what to do with duplicates."""

    mapping: Mapping = field(default_factory=Mapping)
    match: tuple[str, ...] = ()
    on_duplicate: str = "skip"
    dry_run: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    day_first: bool = False
    batch_size: int = 500
    rejects: Path | None = None


@dataclass
class Row:
    """One CSV record on its way in: API values by field name, and what went wrong."""

    line: int
    cells: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    key: tuple[Any, ...] | None = None
    existing: str | None = None

    def fail(self, column: str | None, reason: str) -> None:
        self.problems.append(RowProblem(self.line, column, reason))


Progress = Callable[[int, int], None]


class Importer:
    """One import run of one file into one module, as one user."""

    def __init__(self, runtime: Runtime, module: str, options: ImportOptions,
                 policy: AccessPolicy | None = None) -> None:
        self.runtime = runtime
        self.options = options
        self.policy = policy
        self.ctx = self._context()
        self.module = self.ctx.snapshot.module(module)
        self.report = ImportReport(self.module.name, options.dry_run)
        # Values a dry run would add to picklists, so later rows validate as they would.
        self.planned: dict[str, set[str]] = {}
        self.pending_keys: set[tuple[Any, ...]] = set()
        self.dry_keys: set[tuple[Any, ...]] = set()

    def _context(self) -> RecordContext:
        return self.runtime.context(self.runtime.generation(), policy=self.policy).records

    async def run(self, path: Path, progress: Progress | None = None) -> ImportReport:
        """Import ``path``; raises for problems with the whole file, reports problems per row."""
        rights = self.ctx.rights
        rights.require(self.module.name, "import")
        rights.require(self.module.name, "create")
        if self.options.on_duplicate == "update":
            rights.require(self.module.name, "edit")
        with csvfiles.open_table(path, self.options.encoding, self.options.delimiter) as table:
            self.plan = plan_columns(self.module, table.header, self.options.mapping)
            self.header = table.header
            self._check_plan()
            rejects = RejectsWriter(self.options.rejects, table.header) \
                if self.options.rejects else None
            try:
                await self._stream(table, rejects, progress)
            finally:
                if rejects:
                    rejects.close()
        r = self.report
        logger.info("import finished", extra={
            "module_name": r.module, "dry_run": r.dry_run, "rows_read": r.rows,
            "rows_created": r.created, "rows_updated": r.updated, "rows_skipped": r.skipped,
            "rows_rejected": r.rejected})
        return self.report

    def _check_plan(self) -> None:
        self.columns: dict[str, str] = {}
        for column, f in zip(self.header, self.plan, strict=True):
            if f is None:
                self.report.ignored_columns.append(column)
                continue
            self.ctx.rights.check_writable(self.module.name, f.name, input_name(f))
            if f.type_key == "reference" and (len(f.targets) != 1 or "*" in f.targets):
                raise MappingError(f"column {column!r}: {f.name} points at several modules, "
                                   "which an import cannot resolve")
            self.report.mapped_columns[column] = f.name
            self.columns[f.name] = self.columns[input_name(f)] = column
        self.match = match_fields(self.module, self.options.match, self.plan)

    async def _stream(self, table: csvfiles.CsvTable, rejects: RejectsWriter | None,
                      progress: Progress | None) -> None:
        batch: list[Row] = []
        for line, cells in table.rows():
            row = self._parse(line, cells)
            self.report.rows += 1
            if row.key is not None and row.key in self.pending_keys:
                # The same key twice in one batch: write the first before matching the second.
                await self._flush(batch, rejects)
                batch = []
            if row.key is not None:
                self.pending_keys.add(row.key)
            batch.append(row)
            if len(batch) >= self.options.batch_size:
                await self._flush(batch, rejects)
                batch = []
                if progress:
                    progress(self.report.rows, table.bytes_read)
        await self._flush(batch, rejects)
        if progress:
            progress(self.report.rows, table.bytes_read)

    def _parse(self, line: int, cells: list[str]) -> Row:
        row = Row(line, cells)
        if len(cells) > len(self.header) and any(c.strip() for c in cells[len(self.header):]):
            row.fail(None, f"has {len(cells)} cells but the header names {len(self.header)} "
                           "columns (an unquoted delimiter in a value?)")
        for index, f in enumerate(self.plan):
            if f is None or index >= len(cells):
                continue
            text = csvfiles.unprotect(cells[index])
            if not text.strip():
                continue
            text = self.options.mapping.values.get(f.name, {}).get(text.strip(), text)
            try:
                self._set(row, f, text)
            except ValueError as exc:
                row.fail(self.header[index], str(exc))
        if self.match:
            row.key = tuple(row.data.get(f.name, row.refs.get(f.name)) for f in self.match)
            if any(v is None for v in row.key):
                row.key = None
        return row

    def _set(self, row: Row, f: FieldDef, text: str) -> None:
        if f.type_key in ("reference", "owner"):
            row.refs[f.name] = text.strip()
        elif f.type_key == "date":
            row.data[f.name] = parse_date_text(text, self.options.day_first)
        else:
            row.data[f.name] = f.type.parse_text(f, text)

    async def _flush(self, batch: list[Row], rejects: RejectsWriter | None) -> None:
        self.pending_keys.clear()
        if not batch:
            return
        await self._extend_picklists(batch)
        async with self.ctx.engine.connect() as conn:
            await self._resolve(conn, batch)
            if self.match:
                await find_existing(self.ctx, conn, self.module, self.match, batch)
        creates, updates = self._sort(batch)
        await self._write(creates, updates)
        for row in batch:
            if row.problems:
                self.report.rejected += 1
                self.report.add_problems(row.problems)
                if rejects:
                    rejects.write(row.line, row.cells, row.problems)

    async def _extend_picklists(self, batch: list[Row]) -> None:
        wanted = unknown_choices(self.module, batch, self.options.mapping, self.planned)
        if not wanted:
            return
        if not self.ctx.rights.is_admin:
            for row in batch:
                for name in wanted:
                    if any(v in wanted[name] for v in _choices(row.data.get(name))):
                        row.fail(self.columns[name], "extending a picklist needs an "
                                 "administrator")
            return
        for name, values in wanted.items():
            self.report.extended.setdefault(name, []).extend(sorted(values))
            self.planned.setdefault(name, set()).update(values)
        if self.options.dry_run:
            return
        await add_picklist_values(self.ctx.engine, self.module.name, wanted)
        await self.runtime.refresh()
        self.ctx = self._context()
        self.module = self.ctx.snapshot.module(self.module.name)
        self.plan = [None if f is None else self.module.field(f.name) for f in self.plan]
        self.match = [self.module.field(f.name) for f in self.match]

    async def _resolve(self, conn: Any, batch: list[Row]) -> None:
        for f in {self.module.field(name) for row in batch for name in row.refs}:
            texts = {row.refs[f.name] for row in batch if f.name in row.refs}
            found = await references.resolve(self.ctx, conn, f, texts)
            await self._create_targets(f, found)
            for row in batch:
                text = row.refs.get(f.name)
                if text is None:
                    continue
                miss = references.describe_miss(f, text, found[text])
                if miss:
                    row.fail(self.columns[f.name], miss)
                else:
                    row.data[f.name] = next(iter(found[text]))
            if self.match and f in self.match:
                for row in batch:
                    if row.key is not None:
                        row.key = tuple(row.data.get(m.name) for m in self.match)

    async def _create_targets(self, f: FieldDef, found: dict[str, set[str]]) -> None:
        if f.name not in self.options.mapping.create_references or f.type_key != "reference":
            return
        missing = sorted(text for text, ids in found.items() if not ids)
        if not missing:
            return
        target = self.ctx.snapshot.module(f.targets[0])
        items = [{target.label_field: text} for text in missing]
        counts = self.report.targets_created
        counts[target.name] = counts.get(target.name, 0) + len(missing)
        made: list[Any]
        if self.options.dry_run:
            # Ids no record has: a dry run checks the rows as if the targets existed.
            made = [{"id": str(uuid.uuid4())} for _ in missing]
        else:
            try:
                made = await writing.create_many(self.ctx, target.name, items)
            except DefaltoError as exc:
                counts[target.name] -= len(missing)
                logger.debug("could not create reference targets: %s", exc.message)
                return
        for text, record in zip(missing, made, strict=True):
            found[text] = {record["id"]}

    def _sort(self, batch: list[Row]) -> tuple[list[Row], list[Row]]:
        """Validate each row; returns the rows to create and the rows to update."""
        module = self._validating_module()
        creates: list[Row] = []
        updates: list[Row] = []
        for row in batch:
            duplicate = row.existing is not None or (
                self.options.dry_run and row.key is not None and row.key in self.dry_keys)
            if not row.problems and duplicate and self.options.on_duplicate == "skip":
                self.report.skipped += 1
                continue
            problems: list[FieldProblem] = []
            data = {k: v for k, v in row.data.items()}
            column_values(module, data, creating=not duplicate, row=None, problems=problems,
                          rights=self.ctx.rights)
            for problem in problems:
                row.fail(self.columns.get(problem.field, problem.field), problem.message)
            if row.problems:
                continue
            (updates if duplicate else creates).append(row)
            if self.options.dry_run and row.key is not None:
                self.dry_keys.add(row.key)
        return creates, updates

    def _validating_module(self) -> ModuleDef:
        """The module as validation should see it: with a dry run's planned picklist values."""
        if not self.planned:
            return self.module
        fields = tuple(
            dataclasses.replace(f, picklist=f.picklist + tuple(sorted(
                self.planned[f.name] - set(f.picklist))))
            if f.name in self.planned else f
            for f in self.module.fields)
        return dataclasses.replace(self.module, fields=fields)

    async def _write(self, creates: list[Row], updates: list[Row]) -> None:
        if self.options.dry_run:
            self.report.created += len(creates)
            self.report.updated += len(updates)
            return
        await self._create(creates)
        for row in updates:
            assert row.existing is not None
            try:
                await writing.update_one(self.ctx, self.module.name, row.existing, row.data)
                self.report.updated += 1
            except BadUserInput as exc:
                self._blame([row], exc)
            except DefaltoError as exc:
                row.fail(exc.field, exc.message)

    async def _create(self, rows: list[Row]) -> None:
        # A database-level clash (a unique value) fails the whole statement:
        # the rows it names are rejected and the rest tried again, once.
        for attempt in range(2):
            if not rows:
                return
            try:
                await writing.create_many(self.ctx, self.module.name, [r.data for r in rows])
                self.report.created += len(rows)
                return
            except BadUserInput as exc:
                blamed = self._blame(rows, exc)
                if attempt or not blamed:
                    for row in rows:
                        if not row.problems:
                            row.fail(None, f"not written: {exc.message}")
                    return
                rows = [r for r in rows if not r.problems]

    def _blame(self, rows: list[Row], exc: BadUserInput) -> bool:
        """Attach an error's per-row problems to the rows; False when it names none."""
        blamed = False
        for problem in exc.problems:
            index = problem.row if problem.row is not None else (0 if len(rows) == 1 else None)
            if index is None or index >= len(rows):
                continue
            rows[index].fail(self.columns.get(problem.field, problem.field), problem.message)
            blamed = True
        return blamed


def _choices(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
