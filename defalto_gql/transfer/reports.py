"""What an import did, row by row: counts, problems and the rejected rows file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from defalto_gql.transfer import csvfiles

# Problems and duplicates kept in memory for the report; the rejects and
# duplicates files hold every one.
MAX_KEPT_PROBLEMS = 1000
MAX_KEPT_DUPLICATES = 1000
# The longest reason kept (a reason may quote the cell it is about).
MAX_REASON = 300


@dataclass(frozen=True)
class RowProblem:
    """One reason a row was rejected: its first physical line, the column, why."""

    line: int
    column: str | None
    reason: str

    def __post_init__(self) -> None:
        # A reason quoting a huge cell would repeat it in every report: cut it short.
        if len(self.reason) > MAX_REASON:
            object.__setattr__(self, "reason", self.reason[:MAX_REASON - 3] + "...")

    def __str__(self) -> str:
        where = f"{self.column}: " if self.column else ""
        return f"line {self.line}: {where}{self.reason}"


@dataclass(frozen=True)
class DuplicateNote:
    """A row found to duplicate a record, and what became of it.

    ``score`` is the similarity of a detected duplicate (None for an exact match);
    a merge lists the fields it filled and those whose values differ (kept as
    they were).
    """

    line: int
    existing: str
    number: str | None
    score: float | None
    action: str
    filled: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "existing": self.existing, "recordNumber": self.number,
                "score": self.score, "action": self.action, "filled": list(self.filled),
                "conflicts": list(self.conflicts)}


@dataclass
class ImportReport:
    """Every row accounted for: rows == created + updated + merged + skipped + rejected + blank.

    ``blank`` counts the rows whose cells are all empty (read, nothing to import);
    ``unmatched`` the created rows that had no value in a match field, so matched
    nothing (another run creates them again).

    ``unchanged`` counts the updated rows whose values the record had already:
    nothing was written (no new version), as with a file imported twice.

    ``detected`` counts the duplicates found by similarity (any action);
    ``conflicted`` the merged rows with at least one value kept that differs.
    """

    module: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    merged: int = 0
    blank: int = 0
    unmatched: int = 0
    unchanged: int = 0
    detected: int = 0
    conflicted: int = 0
    duplicates: list[DuplicateNote] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    problem_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    # Columns named like a field the user may read but not change (as their own
    # export writes them): not imported, rather than refusing the file.
    read_only_columns: list[str] = field(default_factory=list)
    mapped_columns: dict[str, str] = field(default_factory=dict)
    extended: dict[str, list[str]] = field(default_factory=dict)
    targets_created: dict[str, int] = field(default_factory=dict)

    def reject(self, line: int, cells: list[str], problems: list[RowProblem],
               rejects: RejectsWriter | None) -> None:
        """Count a rejected row, keep its problems, and write it to the rejects file."""
        self.rejected += 1
        self.add_problems(problems)
        if rejects:
            rejects.write(line, cells, problems)

    def add_problems(self, problems: list[RowProblem]) -> None:
        self.problem_count += len(problems)
        room = MAX_KEPT_PROBLEMS - len(self.problems)
        if room > 0:
            self.problems.extend(problems[:room])

    def add_duplicate(self, note: DuplicateNote) -> None:
        self.detected += note.score is not None
        self.conflicted += bool(note.conflicts)
        if len(self.duplicates) < MAX_KEPT_DUPLICATES:
            self.duplicates.append(note)

    def as_dict(self) -> dict[str, Any]:
        return {
            "module": self.module, "dryRun": self.dry_run, "rows": self.rows,
            "created": self.created, "updated": self.updated, "merged": self.merged,
            "skipped": self.skipped, "rejected": self.rejected, "blank": self.blank,
            "unmatched": self.unmatched, "unchanged": self.unchanged,
            "detected": self.detected,
            "conflicted": self.conflicted,
            "duplicates": [note.as_dict() for note in self.duplicates],
            "problemCount": self.problem_count,
            "problems": [{"line": p.line, "column": p.column, "reason": p.reason}
                         for p in self.problems],
            "ignoredColumns": self.ignored_columns, "mappedColumns": self.mapped_columns,
            "readOnlyColumns": self.read_only_columns,
            "extendedPicklists": self.extended, "targetsCreated": self.targets_created,
        }


class RejectsWriter:
    """Rejected rows as CSV: the cells as the import read them, then the line and the reasons.

    Every cell, the header's too, is written as an export writes a value
    (``csvfiles.protect``): nothing in the file runs as a spreadsheet formula,
    and importing the file again (once fixed) reads the values the first import
    read. A cell is written as the value the import saw: spaces around it are
    dropped and an apostrophe the import removed is put back by ``protect``.
    """

    def __init__(self, path: Path, header: list[str]) -> None:
        self.out: IO[str] = path.open("w", encoding="utf-8", newline="")
        line, reason = ("line", "reason") if "reason" not in header else ("_line", "_reason")
        self.width = len(header)
        self.csv = csvfiles.writer(self.out, [csvfiles.protect(c)
                                              for c in [*header, line, reason]])

    def write(self, line: int, cells: list[str], problems: list[RowProblem]) -> None:
        padded = (cells + [""] * self.width)[: self.width]
        values = [csvfiles.protect(csvfiles.cell_value(c)) for c in padded]
        reasons = "; ".join(f"{p.column}: {p.reason}" if p.column else p.reason
                            for p in problems)
        self.csv.writerow([*values, csvfiles.protect(str(line)), csvfiles.protect(reasons)])

    def close(self) -> None:
        self.out.close()


class DuplicatesWriter:
    """Every duplicate found, as CSV: line, record, score, action, fields filled or kept.

    It holds no text from the file: ids, record numbers (capitals and digits),
    fixed words and field names, none of which a spreadsheet would run.
    """

    HEADER = ("line", "existing_id", "record_number", "score", "action", "filled", "conflicts")

    def __init__(self, path: Path) -> None:
        self.out: IO[str] = path.open("w", encoding="utf-8", newline="")
        self.csv = csvfiles.writer(self.out, list(self.HEADER))

    def write(self, note: DuplicateNote) -> None:
        score = "" if note.score is None else f"{note.score:.3f}"
        self.csv.writerow([note.line, note.existing, note.number or "", score, note.action,
                           ";".join(note.filled), ";".join(note.conflicts)])

    def close(self) -> None:
        self.out.close()
