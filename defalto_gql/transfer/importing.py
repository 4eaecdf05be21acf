"""Importing a CSV file into a module, in batches, through the API's validation.

The file is read once to its end first (``CsvTable.check``): undecodable bytes
or a broken CSV structure stop the import before anything is written. Then it
streams through in batches (500 rows by default). For each batch:
reference cells are resolved to ids (a target the mapping lets the import
create gets a stand-in id, ``targets``), duplicates are looked up on the match fields (exact
values) and by similarity on the detect fields (``detection``), then each row
is validated by ``records.validation.column_values`` (the API's own rules, with
the picklist values the mapping lets grow). Only then, for the rows about to be
written, are missing targets created and new picklist values added, so a row
rejected or skipped leaves nothing behind. The valid rows go to
``records.writing.create_many`` in one statement; duplicates are skipped,
updated or merged (``merging``). A real run holds its module's import lock
(``locks``) throughout, so imports into one module take turns and each sees
the records of the one before; a dry run takes no lock.

Every row is accounted for: created, updated, merged, skipped as a duplicate, or
rejected with its line, column and reason. A dry run does all of this except
writing; it remembers the values it would have given unique fields, so a row
repeating one is rejected as the real run would (``uniques``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from defalto_gql.access.policy import AccessPolicy
from defalto_gql.metadata.fieldtypes.base import unstorable
from defalto_gql.metadata.fieldtypes.choice import spelled
from defalto_gql.metadata.fieldtypes.temporal import parse_date_text, parse_datetime_text
from defalto_gql.metadata.model import FieldDef
from defalto_gql.records.context import RecordContext
from defalto_gql.records.validation import input_name
from defalto_gql.runtime import Runtime
from defalto_gql.transfer import csvfiles, references
from defalto_gql.transfer.detection import Detector
from defalto_gql.transfer.duplicates import find_existing, match_fields, match_key
from defalto_gql.transfer.locks import module_lock
from defalto_gql.transfer.mapping import (
    MappingError,
    check_kinds,
    plan_columns,
    plan_joins,
    read_as,
)
from defalto_gql.transfer.merging import DryRecords, read_current
from defalto_gql.transfer.options import ON_DUPLICATE, ImportOptions, Row
from defalto_gql.transfer.picklists import (
    add_picklist_values,
    unknown_choices,
    unusable_choice,
)
from defalto_gql.transfer.reports import DuplicatesWriter, ImportReport, RejectsWriter
from defalto_gql.transfer.targets import TargetMaker
from defalto_gql.transfer.uniques import UniqueValues
from defalto_gql.transfer.writes import BatchWrites

# ImportOptions, Row and ON_DUPLICATE live in options.py; they are imported from here too.
__all__ = ["ON_DUPLICATE", "ImportOptions", "Importer", "Row"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class Importer(BatchWrites):
    """One import run of one file into one module, as one user."""

    def __init__(self, runtime: Runtime, module: str, options: ImportOptions,
                 policy: AccessPolicy | None = None,
                 reload: Callable[[], Awaitable[AccessPolicy]] | None = None) -> None:
        self.runtime = runtime
        self.options = options
        self.policy = policy
        # The user's rights as they are now: read again once the lock is held, since
        # an administrator may have changed them while the import waited for it.
        self.reload = reload
        self.ctx = self._context()
        self.module = self.ctx.snapshot.module(module)
        self.report = ImportReport(self.module.name, options.dry_run)
        # Values a dry run would add to picklists, so later rows validate as they would;
        # and the values of this batch that may be added, so its rows validate.
        self.planned: dict[str, set[str]] = {}
        self.wanted: dict[str, set[str]] = {}
        self.targets = TargetMaker(self.module.name, options.mapping.create_references,
                                   options.dry_run, self.report)
        self.uniques = UniqueValues(options.dry_run)
        self.pending_keys: set[tuple[Any, ...]] = set()
        # A dry run's memory of what it would have written (see DryRecords).
        self.dry_keys: dict[tuple[Any, ...], str] = {}
        self.dry = DryRecords()
        self.detector: Detector | None = None
        self.notes: DuplicatesWriter | None = None

    def _context(self) -> RecordContext:
        return self.runtime.context(self.runtime.generation(), policy=self.policy).records

    async def _as_now(self) -> RecordContext:
        """The context with the user's rights read again (after waiting for a lock)."""
        if self.reload is not None:
            self.policy = await self.reload()
            self.ctx = self._context()
        return self.ctx

    async def check_header(self, path: Path) -> None:
        """What ``run`` checks before reading rows: options, rights, and the header's plan."""
        with csvfiles.open_table(path, self.options.encoding, self.options.delimiter) as table:
            self._prepare(table)

    def _prepare(self, table: csvfiles.CsvTable) -> None:
        self.options.check()
        rights = self.ctx.rights
        rights.require(self.module.name, "import")
        rights.require(self.module.name, "create")
        if self.options.on_duplicate in ("update", "merge"):
            rights.require(self.module.name, "edit")
        self.plan = plan_columns(self.module, table.header, self.options.mapping,
                                 self.options.match)
        self.header = table.header
        self._check_plan()

    async def run(self, path: Path, progress: Progress | None = None) -> ImportReport:
        """Import ``path``; raises for problems with the whole file, reports problems per row."""
        with csvfiles.open_table(path, self.options.encoding, self.options.delimiter) as table:
            self._prepare(table)
            # The whole file is read once before anything is written (see CsvTable.check).
            await asyncio.to_thread(table.check)
            if self.options.dry_run:
                await self._import_rows(table, progress)
            else:
                async with module_lock(self.ctx.engine, self.module.name) as lock:
                    if self.reload is not None:
                        await self._as_now()
                        self.module = self.ctx.snapshot.module(self.module.name)
                        self._prepare(table)
                    self.targets.lock, self.targets.as_now = lock, self._as_now
                    await self._import_rows(table, progress)
        r = self.report
        logger.info("import finished", extra={
            "module_name": r.module, "dry_run": r.dry_run, "rows_read": r.rows,
            "rows_created": r.created, "rows_updated": r.updated, "rows_merged": r.merged,
            "rows_skipped": r.skipped, "rows_rejected": r.rejected, "rows_blank": r.blank,
            "duplicates_detected": r.detected})
        return self.report

    async def _import_rows(self, table: csvfiles.CsvTable, progress: Progress | None
                           ) -> None:
        """Stream the rows in batches, with the rejects and duplicates files when asked for."""
        rejects = RejectsWriter(self.options.rejects, table.header) \
            if self.options.rejects else None
        if self.options.duplicates:
            self.notes = DuplicatesWriter(self.options.duplicates)
        try:
            await self._stream(table, rejects, progress)
        finally:
            if rejects:
                rejects.close()
            if self.notes:
                self.notes.close()

    def _check_plan(self) -> None:
        check_kinds(self.module, self.options.mapping)
        self.columns: dict[str, str] = {}
        # Made afresh when the plan is checked again under the lock.
        self.report.ignored_columns, self.report.read_only_columns = [], []
        self.report.mapped_columns = {}
        rights = self.ctx.rights.rights(self.module.name)
        for index, (column, f) in enumerate(zip(self.header, self.plan, strict=True)):
            if f is None:
                self.report.ignored_columns.append(column)
                continue
            if f.name in rights.read_only and column not in self.options.mapping.columns:
                # A column found by its name (the user's own export has it) is left
                # alone; one the mapping sends to the field is refused below.
                self.report.read_only_columns.append(column)
                self.plan[index] = None
                continue
            self.ctx.rights.check_writable(self.module.name, f.name, input_name(f))
            if references.points_anywhere(f) and f.name in self.options.mapping.create_references:
                raise MappingError(f"column {column!r}: {f.name} points at several modules, so "
                                   "the import cannot tell which kind of record to create")
            self.report.mapped_columns[column] = f.name
            self.columns[f.name] = self.columns[input_name(f)] = column
        self.joins = plan_joins(self.module, self.header, self.options.mapping)
        for f, indexes, _ in self.joins:
            self.ctx.rights.check_writable(self.module.name, f.name, input_name(f))
            joined = [self.header[i] for i in indexes]
            self.report.mapped_columns.update(dict.fromkeys(joined, f.name))
            self.report.ignored_columns = [c for c in self.report.ignored_columns
                                           if c not in joined]
            self.columns[f.name] = " + ".join(joined)
        filled = [*self.plan, *(f for f, _, _ in self.joins)]
        self.mapped_required = frozenset(f.name for f in filled
                                         if f is not None and f.required and f.writable)
        left_out = frozenset(rights.read_only)
        self.match = match_fields(self.module, self.options.match, filled, read_only=left_out)
        detect, block, threshold = self.options.detection()
        if detect:
            self.detector = Detector(
                self.module, match_fields(self.module, detect, filled, "compare", left_out),
                match_fields(self.module, block, filled, "block on", left_out), threshold,
                self.options.dry_run)

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
        self.report.blank = table.blank_rows
        self.report.rows += table.blank_rows
        if progress:
            progress(self.report.rows, table.bytes_read)

    def _parse(self, line: int, cells: list[str]) -> Row:
        row = Row(line, cells)
        malformed = csvfiles.fault(cells, self.header)
        if malformed is not None:
            # Its cells are not what the file says: the row is rejected, whatever else.
            row.fail(*malformed)
        if len(cells) > len(self.header) and any(c.strip() for c in cells[len(self.header):]):
            row.fail(None, f"has {len(cells)} cells but the header names {len(self.header)} "
                           "columns (an unquoted delimiter in a value?)")
        for index, f in enumerate(self.plan):
            if f is None or index >= len(cells):
                continue
            # Spaces around a cell are layout, not data (Febrl writes ", waller").
            text = csvfiles.cell_value(cells[index])
            if not text:
                continue
            # Text PostgreSQL cannot hold fails its row, whatever reads the cell
            # (a match, a reference lookup, a picklist that may grow).
            reason = unstorable(text)
            if reason:
                row.fail(self.header[index], reason)
                continue
            rules = self.options.mapping.values.get(f.name, {})
            translated = _translated(rules, text)
            if translated is not None:
                if not translated.strip():
                    # A rule may say a value means nothing ("n/a": ""): the cell is empty.
                    continue
                text = translated
            try:
                self._set(row, f, text)
                if rules and translated is None and f.type_key == "multipicklist":
                    row.data[f.name] = _each_translated(f, row.data[f.name], rules)
            except ValueError as exc:
                row.fail(self.header[index], str(exc))
        for f, indexes, separator in self.joins:
            texts = (csvfiles.cell_value(cells[i]) for i in indexes if i < len(cells))
            parts = [text for text in texts if text]
            try:
                if parts:
                    self._set(row, f, separator.join(parts))
            except ValueError as exc:
                row.fail(self.columns[f.name], str(exc))
        if self.match:
            self._key(row)
        return row

    def _key(self, row: Row) -> None:
        """The row's match key; None when a match value is one no record can hold."""
        for f in self.match:
            if f.name in row.data:
                try:
                    # Checked before the lookup: 2147483648 is no integer to compare with.
                    f.type.write(f, row.data[f.name])
                except ValueError as exc:
                    row.fail(self.columns[f.name], str(exc))
        if row.problems:
            return
        # Reference cells name their target ignoring case, so their keys do too.
        refs = {name: text.casefold() for name, text in row.refs.items()}
        row.key = match_key(self.match, {**row.lookups, **refs, **row.data})

    def _set(self, row: Row, f: FieldDef, text: str) -> None:
        if not f.writable:
            # The record number: read to match on, never written (see plan_columns).
            row.lookups[f.name] = text.strip()
        elif f.type_key in ("reference", "owner"):
            # As read: a label " Spacey Co " comes protected, its spaces meant.
            row.refs[f.name] = text
        elif f.type_key == "date":
            row.data[f.name] = parse_date_text(text, self.options.day_first)
        elif f.type_key == "datetime":
            row.data[f.name] = parse_datetime_text(text, self.options.day_first)
        else:
            row.data[f.name] = f.type.parse_text(f, text)

    async def _flush(self, batch: list[Row], rejects: RejectsWriter | None) -> None:
        self.pending_keys.clear()
        if not batch:
            return
        self._check_choices(batch)
        self.targets.new_batch()
        async with self.ctx.engine.connect() as conn:
            await self._resolve(conn, batch)
            if self.match:
                await find_existing(self.ctx, conn, self.module, self.match, batch,
                                    self.columns)
                self._match_dry(batch)
        pending = batch
        # Rows resembling an earlier row of the batch wait until that row is written;
        # the first row never waits, so each round writes at least one row.
        while pending:
            async with self.ctx.engine.connect() as conn:
                if self.detector:
                    await self.detector.find(self.ctx, conn, pending)
                if self.options.on_duplicate in ("merge", "update"):
                    # A merge fills from, and an update compares with, the record as
                    # the rows before left it (a dry run's as it would have).
                    await read_current(self.ctx, conn, self.module, self.dry.in_database(pending))
                    self.dry.apply(pending)
                    self._one_merge_each(pending)
            ready = [row for row in pending if not row.waits]
            # Rows after a waiting row do not take its unique values meanwhile.
            self.uniques.defer(self.module, ready, [row for row in pending if row.waits])
            ready = [row for row in ready if not row.waits]
            creates, updates = self._sort(ready)
            # Rows that cannot be written fail before anything is made for them (targets,
            # picklist values) and before their unique values count as taken: updates of
            # records the user may not change, then targets the user may not create.
            await self._refuse_unchangeable(updates)
            self.targets.refuse_uncreatable(self.ctx, _unfailed([*creates, *updates]),
                                            self.columns)
            creates, updates = _unfailed(creates), _unfailed(updates)
            # A value a unique field has already fails its row, not the batch; the
            # earlier row of the file keeps it.
            await self.uniques.refuse(self.ctx, self.module, sorted(
                [*creates, *updates], key=lambda row: row.line), self.columns)
            creates, updates = _unfailed(creates), _unfailed(updates)
            await self.targets.make(self.ctx, [*creates, *updates], self.columns)
            creates, updates = _unfailed(creates), _unfailed(updates)
            await self._extend_picklists([*creates, *updates])
            await self._write(creates, updates)
            if self.options.dry_run:
                self._remember(creates, updates)
            pending = [row for row in pending if row.waits]
            for row in pending:
                row.waits = False
        # Rejected rows are reported in the file's order, also those that waited a round.
        self._account(batch, rejects)

    def _match_dry(self, batch: list[Row]) -> None:
        """A dry run: rows with the key of a row it would have created duplicate that row."""
        if not self.options.dry_run:
            return
        for row in batch:
            if row.existing is None and row.key is not None and row.key in self.dry_keys:
                row.existing = self.dry_keys[row.key]

    @staticmethod
    def _one_merge_each(rows: list[Row]) -> None:
        """Rows merging into (or updating) a record another row of this round does wait.

        Each then reads the record as the row before left it, instead of filling (or
        comparing with) the same first reading.
        """
        taken: set[str] = set()
        for row in rows:
            if row.waits or row.existing is None or row.problems:
                continue
            if row.existing in taken:
                row.waits = True
            taken.add(row.existing)

    def _remember(self, creates: list[Row], updates: list[Row]) -> None:
        """A dry run keeps what it would have written, for the rows after these."""
        if self.detector:
            self.detector.remember(creates)
        self.uniques.remember(self.module, [*creates, *updates])
        for row in creates:
            if row.key is not None:
                self.dry_keys[row.key] = row.ident
        if self.options.on_duplicate in ("merge", "update"):
            self.dry.created(creates)
            self.dry.merged(updates)

    def _account(self, rows: list[Row], rejects: RejectsWriter | None) -> None:
        for row in rows:
            if row.problems:
                self.report.reject(row.line, row.cells, row.problems, rejects)

    def _check_choices(self, batch: list[Row]) -> None:
        """The values the batch would add to picklists: refused now, or let through validation.

        A value that cannot be added (not an administrator, too long) rejects its
        row; the others are valid until ``_extend_picklists`` adds those of the
        rows that are written.
        """
        wanted = unknown_choices(self.module, batch, self.options.mapping, self.planned)
        admin = self.ctx.rights.is_admin
        for row in batch:
            for name, values in wanted.items():
                new = [v for v in _choices(row.data.get(name)) if v in values]
                reasons = [unusable_choice(v) if admin else "extending a picklist needs an "
                           "administrator" for v in new]
                for reason in dict.fromkeys(r for r in reasons if r):
                    row.fail(self.columns[name], reason)
        # A non-administrator's rows are also told the value is not one of the picklist's.
        self.wanted = wanted if admin else {}

    async def _extend_picklists(self, rows: list[Row]) -> None:
        """Add the new values of these rows (about to be written) to their picklists."""
        wanted = unknown_choices(self.module, rows, self.options.mapping, self.planned)
        if not wanted:
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
        self.plan = [None if f is None else read_as(self.module.field(f.name),
                                                     self.options.mapping) for f in self.plan]
        self.match = [self.module.field(f.name) for f in self.match]

    async def _resolve(self, conn: Any, batch: list[Row]) -> None:
        for f in {self.module.field(name) for row in batch for name in row.refs}:
            order = list(dict.fromkeys(row.refs[f.name] for row in batch if f.name in row.refs))
            texts = set(order)
            found = await references.resolve(self.ctx, conn, f, texts)
            self.targets.plan(self.ctx, f, found, order)
            inactive = await references.inactive_users(
                conn, {t for t in texts if not found[t]}) if f.type_key == "owner" else {}
            for row in batch:
                text = row.refs.get(f.name)
                if text is None:
                    continue
                if text in inactive:
                    # Kept only by an update of a record this user owns (see _sort).
                    row.data[f.name] = inactive[text]
                    row.inactive_owner = (f.name, inactive[text])
                    continue
                miss = references.describe_miss(self.ctx.snapshot, f, text, found[text])
                if miss:
                    row.fail(self.columns[f.name], miss)
                    continue
                target = next(iter(found[text]))
                # A field pointing at several modules takes the module with the id.
                row.data[f.name] = {"module": target[0], "id": target[1]} \
                    if isinstance(target, tuple) else target
            if self.match and f in self.match:
                for row in batch:
                    if row.key is not None:
                        row.key = match_key(self.match, {**row.lookups, **row.data})


def _translated(rules: dict[str, str], text: str) -> str | None:
    """The ``values`` rule for a whole cell (exact, else ignoring case), or None."""
    key = text.strip()
    if key in rules:
        return rules[key]
    folded = key.casefold()
    return next((value for cell, value in rules.items() if cell.strip().casefold() == folded),
                None)


def _each_translated(f: FieldDef, values: list[str], rules: dict[str, str]) -> list[str]:
    """A multi-picklist cell's values, each through the ``values`` rules (case aside)."""
    folded = {key.strip().casefold(): value for key, value in rules.items()}
    found = (rules.get(v, folded.get(v.casefold(), v)) for v in values)
    return list(dict.fromkeys(spelled(f, v) for v in found if v.strip()))


def _unfailed(rows: list[Row]) -> list[Row]:
    return [row for row in rows if not row.problems]


def _choices(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
