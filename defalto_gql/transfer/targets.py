"""Reference targets an import creates where the mapping lets it (``references.FIELD.create``).

A cell naming no record gets a stand-in id while its row is checked. Only when
a row naming it is about to be written is the target made (one per name,
ignoring case), so a row rejected or skipped leaves no target behind. A dry run
makes nothing: it counts what it would make and keeps the stand-in ids, so
later batches see those targets as the real run's batches would.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from typing import Any

from defalto_gql.errors import DefaltoError
from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records import writing
from defalto_gql.records.context import RecordContext
from defalto_gql.transfer import references
from defalto_gql.transfer.options import Row
from defalto_gql.transfer.reports import ImportReport

logger = logging.getLogger(__name__)


class TargetMaker:
    """The targets one import run would create, and those it has created."""

    def __init__(self, creatable: frozenset[str], dry_run: bool, report: ImportReport) -> None:
        self.creatable = creatable
        self.dry_run = dry_run
        self.report = report
        # Targets to create, by the stand-in id rows carry until they are made;
        # those made in this batch; and, in a dry run, those it would have made
        # (by module and name), as if they exist.
        self.unmade: dict[str, tuple[FieldDef, str]] = {}
        self.made: dict[str, str] = {}
        self.dry_made: dict[tuple[str, str], str] = {}

    def new_batch(self) -> None:
        self.unmade.clear()
        self.made.clear()

    def plan(self, ctx: RecordContext, f: FieldDef, found: dict[str, set[Any]]) -> None:
        """Give the missing targets of ``f`` that may be created a stand-in id in ``found``."""
        if f.name not in self.creatable or f.type_key != "reference":
            return
        target = ctx.snapshot.module(f.targets[0])
        # A cell in the form of a record number names a record; it never creates one.
        missing = sorted(text for text, ids in found.items() if not ids
                         and not references.cites_record(target.record_prefix, text))
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
        """
        needed: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            for value in row.data.values():
                if isinstance(value, str) and value in self.unmade and value not in self.made:
                    f, _ = self.unmade[value]
                    if value not in needed[f.targets[0]]:
                        needed[f.targets[0]].append(value)
        for target, stand_ins in needed.items():
            await self._create(ctx, ctx.snapshot.module(target), stand_ins)
        for row in rows:
            self._fill(ctx, row, columns)

    def _fill(self, ctx: RecordContext, row: Row, columns: dict[str, str]) -> None:
        for name, value in list(row.data.items()):
            if not isinstance(value, str) or value not in self.unmade:
                continue
            if value not in self.made:
                f, _ = self.unmade[value]
                row.fail(columns[name], references.describe_miss(
                    ctx.snapshot, f, row.refs.get(name, ""), set()) or "no such record")
                continue
            row.data[name] = self.made[value]
            if row.fill is not None and name in row.fill:
                row.fill[name] = self.made[value]

    async def _create(self, ctx: RecordContext, target: ModuleDef, stand_ins: list[str]
                      ) -> None:
        names = [self.unmade[s][1] for s in stand_ins]
        if self.dry_run:
            made = stand_ins
            for stand_in, name in zip(stand_ins, names, strict=True):
                self.dry_made[(target.name, name.lower())] = stand_in
        else:
            items = [{target.label_field: name} for name in names]
            try:
                made = [r["id"] for r in await writing.create_many(ctx, target.name, items)]
            except DefaltoError as exc:
                logger.debug("could not create reference targets: %s", exc.message)
                return
        self.made.update(zip(stand_ins, made, strict=True))
        counts = self.report.targets_created
        counts[target.name] = counts.get(target.name, 0) + len(made)
