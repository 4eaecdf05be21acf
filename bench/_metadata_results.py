"""What the live metadata benchmark measures: one record per part, and all of them together."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class BuildResult:
    """Schema build over a synthetic snapshot."""

    modules: int
    fields_per_module: int
    builtin_per_module: str
    seconds: list[float] = field(default_factory=list)
    schema_seconds: list[float] = field(default_factory=list)
    sdl_bytes: int = 0
    sdl_lines: int = 0
    types: int = 0


@dataclass
class PropagationResult:
    """Field creation on A to first success on B."""

    seconds: list[float] = field(default_factory=list)
    polls: list[int] = field(default_factory=list)
    timeouts: int = 0
    not_on_a: int = 0


@dataclass
class LoadResult:
    """Steady queries over a window, with or without metadata changes."""

    label: str
    seconds: float = 0.0
    ok: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.ok + self.failed


@dataclass
class Change:
    """One createField or deleteField during the churn."""

    operation: str
    field: str
    instance: str
    at: float
    seconds: float
    error: str | None = None


@dataclass
class Results:
    """Everything measured, for the table and the JSON file."""

    build: BuildResult
    propagation: PropagationResult | None = None
    baseline: LoadResult | None = None
    churn: LoadResult | None = None
    changes: list[Change] = field(default_factory=list)
    log_dir: str | None = None

    @property
    def failures(self) -> int:
        found = sum(1 for c in self.changes if c.error)
        for load in (self.baseline, self.churn):
            found += load.failed if load else 0
        if self.propagation:
            found += self.propagation.timeouts + self.propagation.not_on_a
        return found
