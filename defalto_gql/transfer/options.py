"""What an import is asked to do: the options of one run and the rows it carries.

``ImportOptions`` is built by the CLI and by the API's import jobs; it is checked
when the run starts (``check``), so a bad choice stops the import before any
row is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defalto_gql.transfer.mapping import Mapping, MappingError
from defalto_gql.transfer.reports import RowProblem

ON_DUPLICATE = ("skip", "update", "merge")
# Detection's default similarity threshold (see transfer/detection.py for the rule).
DEFAULT_THRESHOLD = 0.8


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file, how to recognise duplicates and what to do with them.

    ``match`` names fields whose exact values identify a duplicate; ``detect``
    names fields compared by similarity (``detect_threshold``, 0 to 1), with
    candidates found by an equal value of one of ``detect_block`` (default: the
    ``detect`` fields). Both fall back to the mapping file's ``detect`` section.
    ``duplicates`` is a CSV file listing every duplicate found and what was done.
    """

    mapping: Mapping = field(default_factory=Mapping)
    match: tuple[str, ...] = ()
    on_duplicate: str = "skip"
    dry_run: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    day_first: bool = False
    batch_size: int = 500
    rejects: Path | None = None
    detect: tuple[str, ...] = ()
    detect_block: tuple[str, ...] = ()
    detect_threshold: float | None = None
    duplicates: Path | None = None

    def detection(self) -> tuple[tuple[str, ...], tuple[str, ...], float]:
        """The detect fields, block fields and threshold in force (options, then mapping)."""
        fields = self.detect or self.mapping.detect
        block = self.detect_block or self.mapping.detect_block or fields
        threshold = self.detect_threshold
        if threshold is None:
            threshold = self.mapping.detect_threshold
        return fields, block, DEFAULT_THRESHOLD if threshold is None else threshold

    def check(self) -> None:
        """MappingError for a choice that cannot work, before anything is read."""
        if self.on_duplicate not in ON_DUPLICATE:
            raise MappingError(f"on duplicate: {self.on_duplicate!r} is not one of "
                               f"{', '.join(ON_DUPLICATE)}")
        fields, _, threshold = self.detection()
        if not 0 < threshold <= 1:
            raise MappingError(f"the detection threshold must be above 0 and at most 1, "
                               f"not {threshold}")
        if self.detect_block and not fields:
            raise MappingError("detection blocking fields need detection fields (--detect)")
        if self.on_duplicate != "skip" and not (self.match or fields):
            raise MappingError(f"on duplicate {self.on_duplicate}: say how duplicates are found, "
                               "with match fields (--match) or detection (--detect)")
        if self.batch_size < 1:
            raise MappingError(f"the batch size must be at least 1, not {self.batch_size}")


@dataclass
class Row:
    """One CSV record on its way in: API values by field name, and what went wrong."""

    line: int
    cells: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    # Cells read only to match on (the record number), never written.
    lookups: dict[str, str] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    key: tuple[Any, ...] | None = None
    # The record this row duplicates: its id, record number and similarity (None: exact).
    existing: str | None = None
    number: str | None = None
    score: float | None = None
    # The duplicate's current column values, read for a merge.
    current: dict[str, Any] | None = None
    # A detected duplicate of an earlier row of the same batch, not yet written.
    waits: bool = False
    # A merge: the values to write, the fields they fill, the fields kept as they were.
    fill: dict[str, Any] | None = None
    filled: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    # The column values validation made of the row: what a write would store.
    stored: dict[str, Any] = field(default_factory=dict)
    # An owner cell naming a deactivated user (the field, the user's id): allowed only
    # where the record the row updates has that owner already (so it stays).
    inactive_owner: tuple[str, str] | None = None

    @property
    def ident(self) -> str:
        """How a dry run names the record this row would create."""
        return f"line {self.line}"

    def fail(self, column: str | None, reason: str) -> None:
        self.problems.append(RowProblem(self.line, column, reason))
