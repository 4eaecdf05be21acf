"""Duplicate detection: rows that resemble an existing record or an earlier row.

The rule, per row and candidate record:

- each compared field gives a similarity from 0 to 1 between the two values,
  both as text without case or surrounding spaces: values made only of digits
  and punctuation (dates, postcodes, phone numbers, amounts) use the normalised
  Levenshtein similarity, so one wrong digit in four costs a quarter; other
  text uses Jaro-Winkler, which forgives a typo late in a name more than one at
  its start (both from rapidfuzz);
- the score is the mean over the fields both sides have a value for; with fewer
  than half the compared fields (rounded up) on both sides there is no score;
- the best candidate with a score at or above the threshold is the duplicate.

Candidates are not the whole table: they come from the database, one query per
batch, as the live records the user can see that share an exact value (text
ignoring case and surrounding spaces) of at least one blocking field with a row
of the batch. Rows of the same batch are compared with the rows before them;
a row resembling one that is not written yet waits until it is (see
``Importer``). A dry run writes nothing, so it remembers the compared values
of the rows it would create: its memory grows with the file, a real run's
does not.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rapidfuzz.distance import JaroWinkler, Levenshtein
from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records.context import RecordContext
from defalto_gql.records.filters import live
from defalto_gql.transfer.options import Row

logger = logging.getLogger(__name__)

# Candidates read per batch at most; past it some duplicates may go unnoticed (logged).
MAX_CANDIDATES = 50_000
_NUMERIC = re.compile(r"^[\d\W_]+$")


def similarity(a: str, b: str) -> float:
    """How alike two non-empty texts are, from 0 to 1 (the rule in the module doc)."""
    if _NUMERIC.match(a) and _NUMERIC.match(b):
        return float(Levenshtein.normalized_similarity(a, b))
    return float(JaroWinkler.normalized_similarity(a, b))


def as_text(value: Any) -> str | None:
    """A column value as compared: text without case or surrounding spaces, None if empty."""
    if value is None:
        return None
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    text = text.strip().casefold()
    return text or None


@dataclass
class Candidate:
    """A record (or, in a dry run, a row) a row may duplicate: its compared texts."""

    ident: str
    number: str | None
    texts: dict[str, str | None]


class Detector:
    """Finds, for each row of a batch, the record it most resembles above the threshold."""

    def __init__(self, module: ModuleDef, fields: list[FieldDef], block: list[FieldDef],
                 threshold: float, dry_run: bool) -> None:
        self.module = module
        self.fields = fields
        self.block = block
        self.threshold = threshold
        self.dry_run = dry_run
        self.needed = max(1, math.ceil(len(fields) / 2))
        self.memory: dict[tuple[str, str], list[Candidate]] = defaultdict(list)

    def _columns(self, row: Row) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for f in {*self.fields, *self.block}:
            if row.data.get(f.name) is None:
                continue
            try:
                values[f.name] = f.type.write(f, row.data[f.name])[f.column]
            except (ValueError, KeyError):
                continue
        return values

    def _candidate(self, ident: str, number: str | None, values: dict[str, Any]) -> Candidate:
        names = {f.name for f in (*self.fields, *self.block)}
        return Candidate(ident, number, {n: as_text(values.get(n)) for n in names})

    def score(self, row: Candidate, other: Candidate) -> float:
        found = [similarity(a, b) for f in self.fields
                 if (a := row.texts[f.name]) is not None and (b := other.texts[f.name])]
        return sum(found) / len(found) if len(found) >= self.needed else 0.0

    def _keys(self, texts: dict[str, str | None]) -> list[tuple[str, str]]:
        return [(f.name, t) for f in self.block if (t := texts[f.name]) is not None]

    async def find(self, ctx: RecordContext, conn: AsyncConnection, batch: list[Row]) -> None:
        """Mark rows as duplicates (``existing``, ``score``) or as waiting for an earlier row."""
        rows = [r for r in batch if not r.problems and r.existing is None]
        values = {id(r): self._columns(r) for r in rows}
        found = await self._read(ctx, conn, list(values.values()))
        # Comparing a batch with many candidates takes long: in a thread, so the event
        # loop (the server's requests, the job worker's heartbeat) goes on meanwhile.
        await asyncio.to_thread(self._compare, rows, values, found)

    def _compare(self, rows: list[Row], values: dict[int, dict[str, Any]],
                 found: list[Candidate]) -> None:
        index: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
        for candidate in found:
            for key in self._keys(candidate.texts):
                index[key].append(candidate)
        earlier: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
        for row in rows:
            me = self._candidate(row.ident, None, values[id(row)])
            keys = self._keys(me.texts)
            best, score = self._best(me, [c for k in keys for c in (
                *index.get(k, ()), *self.memory.get(k, ()))])
            if best is not None:
                row.existing, row.number, row.score = best.ident, best.number, round(score, 3)
                continue
            first, _ = self._best(me, [c for k in keys for c in earlier.get(k, ())])
            if first is not None:
                row.waits = True
                continue
            for key in keys:
                earlier[key].append(me)

    def _best(self, me: Candidate, candidates: list[Candidate]) -> tuple[Candidate | None, float]:
        best, top = None, 0.0
        for candidate in candidates:
            score = self.score(me, candidate)
            if score >= self.threshold and score > top:
                best, top = candidate, score
        return best, top

    def remember(self, rows: list[Row]) -> None:
        """A dry run's rows that would be created, as candidates for the rows after them."""
        for row in rows:
            me = self._candidate(row.ident, None, self._columns(row))
            for key in self._keys(me.texts):
                self.memory[key].append(me)

    async def _read(self, ctx: RecordContext, conn: AsyncConnection,
                    values: list[dict[str, Any]]) -> list[Candidate]:
        table = ctx.tables.of(self.module.name)
        wanted = []
        for f in self.block:
            given = [v[f.name] for v in values if f.name in v]
            texts = sorted({t for v in given if isinstance(v, str) and (t := as_text(v))})
            others = [v for v in given if not isinstance(v, str)]
            column = table.c[f.column]
            if texts:
                wanted.append(sa.func.lower(sa.func.btrim(column)).in_(texts))
            if others:
                wanted.append(column.in_(sorted(set(others))))
        if not wanted:
            return []
        number = table.c.get("record_number")
        names = {f.name: f.column for f in (*self.fields, *self.block)}
        visible = ctx.rights.read_filter(self.module.name, table)
        query = sa.select(table.c.id, number if number is not None else sa.null(),
                          *(table.c[c] for c in names.values())).where(
            sa.or_(*wanted), live(table), sa.true() if visible is None else visible
        ).order_by(table.c.created_at, table.c.id).limit(MAX_CANDIDATES)
        found = [self._candidate(r[0], r[1], dict(zip(names, r[2:], strict=True)))
                 for r in await conn.execute(query)]
        if len(found) >= MAX_CANDIDATES:
            logger.warning("duplicate detection read its most candidates for one batch; "
                           "choose more selective blocking fields",
                           extra={"module_name": self.module.name})
        return found
