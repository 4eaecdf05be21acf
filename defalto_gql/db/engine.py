"""Creating the SQLAlchemy async engine and counting statements for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accept ``postgresql://`` URLs as people write them; use the asyncpg driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        # Statement caching in asyncpg is per connection; module tables change
        # shape when fields are added, so prepared statements are not reused
        # across metadata versions. SQLAlchemy invalidates them on its own.
        connect_args={"server_settings": {"application_name": "defalto-gql"}},
    )


class StatementCounter:
    """Counts SQL statements sent through an engine while active."""

    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def _on_execute(self, *args: Any) -> None:
        self.count += 1
        self.statements.append(str(args[2]))


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    sa.event.listen(engine.sync_engine, "before_cursor_execute", counter._on_execute)
    try:
        yield counter
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", counter._on_execute)
