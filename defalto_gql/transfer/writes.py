"""The writing half of an import: validate a batch's rows, then create, update or merge.

``BatchWrites`` is a part of ``Importer`` kept in its own module; it reads the
importer's context, options and report.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from defalto_gql.errors import BadUserInput, Conflict, DefaltoError, FieldProblem
from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records import writing
from defalto_gql.records.context import RecordContext
from defalto_gql.records.validation import column_values
from defalto_gql.transfer.merging import DryRecords, merge
from defalto_gql.transfer.options import ImportOptions, Row
from defalto_gql.transfer.reports import DuplicateNote, DuplicatesWriter, ImportReport
from defalto_gql.transfer.uniques import UniqueValues

# What a duplicate row became, by the on-duplicate choice.
ACTIONS = {"skip": "skipped", "update": "updated", "merge": "merged"}


class BatchWrites:
    """Validating and writing the rows of one batch (mixed into ``Importer``)."""

    ctx: RecordContext
    module: ModuleDef
    options: ImportOptions
    report: ImportReport
    columns: dict[str, str]
    planned: dict[str, set[str]]
    wanted: dict[str, set[str]]
    notes: DuplicatesWriter | None
    match: list[FieldDef]
    uniques: UniqueValues
    dry: DryRecords
    # Required fields a column of the file fills: an empty cell there is a missing
    # value, never the field's default.
    mapped_required: frozenset[str]

    def _sort(self, batch: list[Row]) -> tuple[list[Row], list[Row]]:
        """Validate each row; returns the rows to create and the duplicates to change."""
        module = self._validating_module()
        mode = self.options.on_duplicate
        creates: list[Row] = []
        updates: list[Row] = []
        for row in batch:
            duplicate = row.existing is not None
            if not row.problems and duplicate and mode == "skip":
                self.report.skipped += 1
                self._note(row)
                continue
            self._keep_inactive_owner(row)
            data = row.data
            if duplicate and mode == "merge" and not row.problems:
                data, filled, conflicts = merge(module, row)
                row.fill, row.filled, row.conflicts = data, tuple(filled), tuple(conflicts)
            problems: list[FieldProblem] = []
            given = dict(data)
            if not duplicate:
                given.update((name, None) for name in self.mapped_required if name not in given)
            row.stored = column_values(module, given, creating=not duplicate, row=None,
                                       problems=problems, rights=self.ctx.rights)
            # A cell already refused (unreadable, or naming no record) is not also "required".
            refused = {problem.column for problem in row.problems}
            for problem in problems:
                column = self.columns.get(problem.field, problem.field)
                if column not in refused:
                    row.fail(column, problem.message)
            if row.problems:
                continue
            (updates if duplicate else creates).append(row)
        return creates, updates

    def _keep_inactive_owner(self, row: Row) -> None:
        """An owner cell naming a deactivated user: the record's owner already, or refused.

        Export writes such an owner as the user's email; an update from that file leaves
        the owner as it is. Nothing new is given to a deactivated user.
        """
        if row.inactive_owner is None or row.problems:
            return
        name, ident = row.inactive_owner
        f = self.module.field(name)
        if row.current is not None and row.current.get(f.column) == ident:
            del row.data[name]
            return
        row.fail(self.columns.get(name), f"{row.refs[name]!r} is a deactivated user, who "
                                         "cannot be given records")

    def _validating_module(self) -> ModuleDef:
        """The module as validation should see it: with the picklist values a run may add.

        Those are a dry run's planned values and the values of this batch that
        may be added; ``_extend_picklists`` adds those of the rows written.
        """
        grown = {name: self.planned.get(name, set()) | self.wanted.get(name, set())
                 for name in {*self.planned, *self.wanted}}
        if not grown:
            return self.module
        fields = tuple(
            dataclasses.replace(f, picklist=f.picklist + tuple(sorted(
                grown[f.name] - set(f.picklist))))
            if f.name in grown else f
            for f in self.module.fields)
        return dataclasses.replace(self.module, fields=fields)

    def _note(self, row: Row, action: str | None = None) -> None:
        """Report a duplicate row that was skipped, updated or merged."""
        note = DuplicateNote(row.line, row.existing or "an earlier row of the file",
                             row.number, row.score,
                             action or ACTIONS[self.options.on_duplicate],
                             row.filled, row.conflicts)
        self.report.add_duplicate(note)
        if self.notes:
            self.notes.write(note)

    async def _write(self, creates: list[Row], updates: list[Row]) -> None:
        merging = self.options.on_duplicate == "merge"
        if not self.options.dry_run:
            await self._create(creates)
        else:
            self._created(creates)
        for row in updates:
            data = row.fill if merging and row.fill is not None else row.data
            if not merging and _holds_already(row):
                self.report.updated += 1
                self.report.unchanged += 1
                self._note(row, "unchanged")
                continue
            if data and not self.options.dry_run:
                assert row.existing is not None
                try:
                    await writing.update_one(self.ctx, self.module.name, row.existing, data)
                except BadUserInput as exc:
                    self._blame([row], exc)
                    continue
                except DefaltoError as exc:
                    # A field the file fills names its column; the record's id names none.
                    row.fail(self.columns.get(exc.field or ""), exc.message)
                    continue
            if merging:
                self.report.merged += 1
            else:
                self.report.updated += 1
            self._note(row)

    def _changes(self, row: Row) -> bool:
        """Whether updating (or merging) this row writes to its record."""
        if self.options.on_duplicate == "merge":
            return bool(row.fill if row.fill is not None else row.data)
        return bool(row.data) and not _holds_already(row)

    async def _refuse_unchangeable(self, updates: list[Row]) -> None:
        """Reject the rows that would change a record the user may read but not change.

        Checked before anything is made for them (targets, picklist values) and before
        writing, so that a dry run reports what the real run does. A record a dry run
        would have created is judged by the owner its row would have given it.
        """
        rows = [row for row in updates if self._changes(row)]
        table = self.ctx.tables.of(self.module.name)
        writable = self.ctx.rights.write_filter(self.module.name, table)
        if writable is None or not rows:
            return
        rights, made = self.ctx.rights, self.dry.made
        refused = {row.existing for row in rows if row.existing in made
                   and not rights.may_change_owned_by(
                       self.module.name, made[row.existing].get("owner_id") or rights.user_id)}
        ids = {row.existing for row in rows if row.existing is not None
               and row.existing not in made}
        if ids:
            async with self.ctx.engine.connect() as conn:
                found = await conn.execute(sa.select(sa.cast(table.c.id, sa.Text), writable)
                                           .where(table.c.id.in_(ids)))
                refused.update(ident for ident, allowed in found if not allowed)
        for row in rows:
            if row.existing in refused:
                which = f" ({row.number})" if row.number else ""
                row.fail(None, f"the {self.module.label} this row matches{which} is one "
                               "you may read but not change")

    async def _create(self, rows: list[Row]) -> None:
        # A database-level clash (a unique value another writer took since the
        # check) fails the whole statement: the rows it names are rejected and
        # the rest tried again, once.
        for attempt in range(2):
            if not rows:
                return
            try:
                await writing.create_many(self.ctx, self.module.name, [r.data for r in rows])
                self._created(rows)
                return
            except (BadUserInput, Conflict) as exc:
                blamed = self._blame(rows, exc)
                if attempt or not blamed:
                    for row in rows:
                        if not row.problems:
                            row.fail(None, f"not written: {exc.message}")
                    return
                rows = [r for r in rows if not r.problems]

    def _created(self, rows: list[Row]) -> None:
        self.report.created += len(rows)
        # Rows with an empty match field can match nothing: each run creates them again.
        if self.match:
            self.report.unmatched += sum(row.key is None for row in rows)

    def _blame(self, rows: list[Row], exc: BadUserInput | Conflict) -> bool:
        """Attach an error's per-row problems to the rows; False when it names none."""
        blamed = False
        for problem in exc.problems:
            index = problem.row if problem.row is not None else (0 if len(rows) == 1 else None)
            if index is None or index >= len(rows):
                continue
            rows[index].fail(self.columns.get(problem.field, problem.field), problem.message)
            blamed = True
        return blamed


def _holds_already(row: Row) -> bool:
    """Whether the record this row updates has every value the row would write."""
    current = row.current
    return current is not None and all(
        column in current and current[column] == value for column, value in row.stored.items())
