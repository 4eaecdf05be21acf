"""The embedded PostgreSQL used when no ``DEFALTO_DATABASE_URL`` is given.

pgserver ships PostgreSQL binaries in a wheel and runs a server in a data
folder over a Unix socket; the data survives restarts of the folder's owner.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A running embedded server; ``stop`` shuts it down (the data stays)."""

    def __init__(self, data_dir: Path) -> None:
        with warnings.catch_warnings():
            # pgserver asks platformdirs for a runtime folder when imported; without
            # XDG_RUNTIME_DIR that warns and falls back to /tmp, which is what we want.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            from pgserver.postgres_server import get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self._server: Any = get_server(data_dir, cleanup_mode="stop")
        logger.info("embedded PostgreSQL running", extra={"data_dir": str(data_dir)})

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy asyncpg URL for ``database`` on this server."""
        raw = urlsplit(self._server.get_uri())
        host = parse_qs(raw.query)["host"][0]
        return f"postgresql+asyncpg://postgres@/{database}?host={host}"

    def stop(self) -> None:
        self._server.cleanup()
        # pgserver stops the server only when its last user lets go: a command run
        # beside `defalto serve` leaves the server's PostgreSQL running.
        if (self.data_dir / "postmaster.pid").exists():
            logger.info("embedded PostgreSQL left running for its other users",
                        extra={"data_dir": str(self.data_dir)})
        else:
            logger.info("embedded PostgreSQL stopped")
