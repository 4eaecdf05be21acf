"""Reference targets an import creates where the mapping lets it (``references.FIELD.create``).

A cell naming no record gets a stand-in id while its row is checked. Only when
a row naming it is about to be written is the target made (one per name,
ignoring case), so a row rejected or skipped leaves no target behind. A dry run
makes nothing: it counts what it would make and keeps the stand-in ids, so
later batches see those targets as the real run's batches would.

A real run makes targets holding the target module's import lock (``locks``),
and looks the names up again under it: an import into that module, or another
import making the same targets, may have written them since this batch looked.
That lock is taken on the session of the run's own, so that two imports making
targets in each other's modules fail one wait (their rows are rejected, saying
why) instead of waiting for each other for ever.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from defalto_gql.errors import BadUserInput, DefaltoError, FieldProblem
from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records import writing
from defalto_gql.records.context import RecordContext
from defalto_gql.records.validation import column_values
from defalto_gql.transfer import references
from defalto_gql.transfer.locks import ImportLock, LockCycle
from defalto_gql.transfer.options import Row
from defalto_gql.transfer.reports import ImportReport

logger = logging.getLogger(__name__)


class TargetMaker:
    """The targets one import run would create, and those it has created."""

    def __init__(self, module: str, creatable: frozenset[str], dry_run: bool,
                 report: ImportReport) -> None:
        # The module imported into, whose import lock the run holds already.
        self.module = module
        self.creatable = creatable
        self.dry_run = dry_run
        self.report = report
        # Targets to create, by the stand-in id rows carry until they are made;
        # those made in this batch; and, in a dry run, those it would have made
        # (by module and name), as if they exist.
        self.unmade: dict[str, tuple[FieldDef, str]] = {}
        self.made: dict[str, str] = {}
        self.dry_made: dict[tuple[str, str], str] = {}
        # Why targets of this batch could not be made, by stand-in id.
        self.refused: dict[str, str] = {}
        # The run's import lock (a real run), on whose session target modules are locked;
        # and the run's context with the user's rights read again, for after such a wait.
        self.lock: ImportLock | None = None
        self.as_now: Callable[[], Awaitable[RecordContext]] | None = None

    def new_batch(self) -> None:
        self.unmade.clear()
        self.made.clear()
        self.refused.clear()

    def plan(self, ctx: RecordContext, f: FieldDef, found: dict[str, set[Any]],
             order: list[str]) -> None:
        """Give the missing targets of ``f`` that may be created a stand-in id in ``found``.

        ``order`` holds the cells as the file gives them: the first spelling names a target.
        """
        if f.name not in self.creatable or f.type_key != "reference":
            return
        target = ctx.snapshot.module(f.targets[0])
        # A cell in the form of a record number names a record; it never creates one.
        missing = [text for text in order if not found[text]
                   and not references.cites_record(target.record_prefix, text)]
        if not missing:
            return
        # Cells differing only in case name one new target, spelled as the first.
        names: dict[str, str] = {}
        for text in missing:
            names.setdefault(text.lower(), text)
        ids: dict[str, str] = {}
        for key, name in names.items():
            # A dry run's earlier batches would have made it already.
            made = self.dry_made.get((target.name, key))
            if made is None:
                made = str(uuid.uuid4())
                self.unmade[made] = (f, name)
            ids[key] = made
        for text in missing:
            found[text] = {ids[text.lower()]}

    async def make(self, ctx: RecordContext, rows: list[Row], columns: dict[str, str]) -> None:
        """Create the targets these rows, about to be written, name; put in their real ids.

        A target that cannot be created rejects the rows naming it, as a miss does.
        The rows naming targets the user may not create failed already
        (``refuse_uncreatable``), in a dry run as in a real one.
        """
        for target, stand_ins in self._needed(rows).items():
            if self.dry_run:
                self._pretend(ctx.snapshot.module(target), stand_ins)
            elif target == self.module:
                await self._create(ctx, ctx.snapshot.module(target), stand_ins)
            else:
                assert self.lock is not None, "a real run holds its module's lock"
                try:
                    async with self.lock.also(target):
                        if self.as_now is not None:
                            # Rights may have changed while the lock was awaited.
                            ctx = await self.as_now()
                            stand_ins = self._creatable(ctx, ctx.snapshot.module(target),
                                                        stand_ins)
                        if stand_ins:
                            await self._create(ctx, ctx.snapshot.module(target), stand_ins)
                except LockCycle as cycle:
                    logger.warning("reference targets not made: import lock cycle",
                                   extra={"module_name": target})
                    self.refused.update(dict.fromkeys(stand_ins, cycle.message))
        for row in rows:
            self._fill(ctx, row, columns)

    def refuse_uncreatable(self, ctx: RecordContext, rows: list[Row], columns: dict[str, str]
                           ) -> None:
        """Reject now the rows naming a target the user may not create or that is invalid.

        Before the rows' unique values are counted, so a row that cannot be written
        keeps no value from a later row; ``make`` creates the targets of the others.
        """
        for target, wanted in self._needed(rows).items():
            self._creatable(ctx, ctx.snapshot.module(target), wanted)
        for row in rows:
            for name, value in row.data.items():
                if isinstance(value, str) and value in self.refused:
                    row.fail(columns[name], self._miss(ctx, row, name, value))

    def _needed(self, rows: list[Row]) -> dict[str, list[str]]:
        """The stand-ins these rows name that are not made yet, by target module."""
        needed: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            for value in row.data.values():
                if isinstance(value, str) and value in self.unmade and value not in self.made:
                    f, _ = self.unmade[value]
                    if value not in needed[f.targets[0]]:
                        needed[f.targets[0]].append(value)
        return needed

    def _miss(self, ctx: RecordContext, row: Row, name: str, stand_in: str) -> str:
        """Why the row's cell names no record: none has the name, and none was made."""
        f, _ = self.unmade[stand_in]
        miss = references.describe_miss(ctx.snapshot, f, row.refs.get(name, ""),
                                        set()) or "no such record"
        if stand_in in self.refused:
            miss += f", and creating it was refused: {self.refused[stand_in]}"
        return miss

    def _creatable(self, ctx: RecordContext, target: ModuleDef, stand_ins: list[str]
                   ) -> list[str]:
        """The stand-ins whose targets the user may create and that pass validation.

        The others are refused, with the reason their rows will give.
        """
        try:
            ctx.rights.require(target.name, "create")
        except DefaltoError as exc:
            self.refused.update(dict.fromkeys(stand_ins, exc.message))
            return []
        fine = []
        for stand_in in stand_ins:
            problems: list[FieldProblem] = []
            item = {target.label_field: self.unmade[stand_in][1]}
            try:
                column_values(target, item, creating=True, row=None, problems=problems,
                              rights=ctx.rights)
            except DefaltoError as exc:
                self.refused[stand_in] = exc.message
                continue
            if problems:
                self.refused[stand_in] = BadUserInput.from_problems(problems).message
                continue
            fine.append(stand_in)
        return fine

    def _fill(self, ctx: RecordContext, row: Row, columns: dict[str, str]) -> None:
        for name, value in list(row.data.items()):
            if not isinstance(value, str) or value not in self.unmade:
                continue
            if value not in self.made:
                row.fail(columns[name], self._miss(ctx, row, name, value))
                continue
            row.data[name] = self.made[value]
            if row.fill is not None and name in row.fill:
                row.fill[name] = self.made[value]

    def _pretend(self, target: ModuleDef, stand_ins: list[str]) -> None:
        """A dry run: the stand-in ids serve as the targets it would make."""
        for stand_in in stand_ins:
            self.dry_made[(target.name, self.unmade[stand_in][1].lower())] = stand_in
        self.made.update(zip(stand_ins, stand_ins, strict=True))
        self._count(target, len(stand_ins))

    async def _create(self, ctx: RecordContext, target: ModuleDef, stand_ins: list[str]
                      ) -> None:
        """Make the targets not written since the batch looked (the caller holds the lock)."""
        f = self.unmade[stand_ins[0]][0]
        names = {stand_in: self.unmade[stand_in][1] for stand_in in stand_ins}
        async with ctx.engine.connect() as conn:
            found = await references.resolve(ctx, conn, f, set(names.values()))
        # A name that now names one record takes it; one naming several stays unmade
        # (its rows are rejected, as a cell naming several records is).
        for stand_in, name in names.items():
            if len(found[name]) == 1:
                self.made[stand_in] = next(iter(found[name]))
        new = [s for s in stand_ins if not found[names[s]]]
        if not new:
            return
        items = [{target.label_field: names[s]} for s in new]
        try:
            made = [r["id"] for r in await writing.create_many(ctx, target.name, items)]
        except DefaltoError as exc:
            logger.debug("could not create reference targets: %s", exc.message)
            self.refused.update(dict.fromkeys(new, exc.message))
            return
        self.made.update(zip(new, made, strict=True))
        self._count(target, len(made))

    def _count(self, target: ModuleDef, made: int) -> None:
        counts = self.report.targets_created
        counts[target.name] = counts.get(target.name, 0) + made
