"""What an import did, row by row: counts, problems and the rejected rows file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from defalto_gql.transfer import csvfiles

# Problems kept in memory for the report; the rejects file holds every one.
MAX_KEPT_PROBLEMS = 1000


@dataclass(frozen=True)
class RowProblem:
    """One reason a row was rejected: its first physical line, the column, why."""

    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.column}: " if self.column else ""
        return f"line {self.line}: {where}{self.reason}"


@dataclass
class ImportReport:
    """Every row accounted for: rows == created + updated + skipped + rejected."""

    module: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    problem_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    mapped_columns: dict[str, str] = field(default_factory=dict)
    extended: dict[str, list[str]] = field(default_factory=dict)
    targets_created: dict[str, int] = field(default_factory=dict)

    def add_problems(self, problems: list[RowProblem]) -> None:
        self.problem_count += len(problems)
        room = MAX_KEPT_PROBLEMS - len(self.problems)
        if room > 0:
            self.problems.extend(problems[:room])

    def as_dict(self) -> dict[str, Any]:
        return {
            "module": self.module, "dryRun": self.dry_run, "rows": self.rows,
            "created": self.created, "updated": self.updated, "skipped": self.skipped,
            "rejected": self.rejected, "problemCount": self.problem_count,
            "problems": [{"line": p.line, "column": p.column, "reason": p.reason}
                         for p in self.problems],
            "ignoredColumns": self.ignored_columns, "mappedColumns": self.mapped_columns,
            "extendedPicklists": self.extended, "targetsCreated": self.targets_created,
        }


class RejectsWriter:
    """Rejected rows as CSV: the original cells, then the line and the reasons."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.out: IO[str] = path.open("w", encoding="utf-8", newline="")
        line, reason = ("line", "reason") if "reason" not in header else ("_line", "_reason")
        self.width = len(header)
        self.csv = csvfiles.writer(self.out, [*header, line, reason])

    def write(self, line: int, cells: list[str], problems: list[RowProblem]) -> None:
        padded = (cells + [""] * self.width)[: self.width]
        reasons = "; ".join(f"{p.column}: {p.reason}" if p.column else p.reason
                            for p in problems)
        self.csv.writerow([*padded, line, reasons])

    def close(self) -> None:
        self.out.close()
