"""The one error hierarchy of Defalto GQL.

::

    DefaltoError                    code: INTERNAL_SERVER_ERROR
    ├── BadUserInput                code: BAD_USER_INPUT   (per-field details)
    ├── NotFound                    code: NOT_FOUND
    ├── Conflict                    code: CONFLICT
    ├── Unauthenticated             code: UNAUTHENTICATED  (no, expired or revoked token)
    ├── Forbidden                   code: FORBIDDEN        (names the module or field)
    ├── TooManyRequests             code: TOO_MANY_REQUESTS (carries retryAfter seconds)
    └── ConfigurationError          code: CONFIGURATION_ERROR (startup, never a client)

Domain code raises these; the GraphQL layer turns them into errors whose
``extensions`` carry ``code`` and, where one field is at fault, ``field``.
Database and driver errors are translated once, in ``records.sql_errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input value: which field, which row, and why."""

    field: str
    message: str
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.row is not None:
            found["row"] = self.row
        return found


class DefaltoError(Exception):
    """Base of every error the project raises on purpose."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def extensions(self) -> dict[str, Any]:
        found: dict[str, Any] = {"code": self.code}
        if self.field is not None:
            found["field"] = self.field
        return found


class BadUserInput(DefaltoError):
    """Input that fails validation; carries every problem found, not just the first."""

    code = "BAD_USER_INPUT"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        problems: list[FieldProblem] | None = None,
    ) -> None:
        self.problems = problems or []
        if field is None and len(self.problems) >= 1:
            field = self.problems[0].field
        super().__init__(message, field=field)

    @classmethod
    def from_problems(cls, problems: list[FieldProblem]) -> BadUserInput:
        first = problems[0]
        where = f"row {first.row}, " if first.row is not None else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return cls(f"{where}{first.field}: {first.message}{more}", problems=problems)

    def extensions(self) -> dict[str, Any]:
        found = super().extensions()
        if self.problems:
            found["problems"] = [problem.as_dict() for problem in self.problems]
            if self.problems[0].row is not None:
                found["row"] = self.problems[0].row
        return found


class NotFound(DefaltoError):
    code = "NOT_FOUND"


class Conflict(DefaltoError):
    """A value another record holds already; ``problems`` names the input row when known."""

    code = "CONFLICT"

    def __init__(self, message: str, *, field: str | None = None,
                 problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message, field=field)
        self.problems = problems or []


class Unauthenticated(DefaltoError):
    code = "UNAUTHENTICATED"


class Forbidden(DefaltoError):
    code = "FORBIDDEN"


class TooManyRequests(DefaltoError):
    code = "TOO_MANY_REQUESTS"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def extensions(self) -> dict[str, Any]:
        return {**super().extensions(), "retryAfter": self.retry_after}


class ConfigurationError(DefaltoError):
    """A mistake in settings or metadata found at start; says how to fix it."""

    code = "CONFIGURATION_ERROR"
