"""Settings read from the environment (``DEFALTO_*``), with safe defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from its environment, read once."""

    database_url: str | None
    data_dir: Path
    max_page_size: int
    default_page_size: int
    log_level: str

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("DEFALTO_DATABASE_URL") or None,
            data_dir=Path(env.get("DEFALTO_DATA_DIR", "./defalto-data")).resolve(),
            max_page_size=int(env.get("DEFALTO_MAX_PAGE_SIZE", "500")),
            default_page_size=int(env.get("DEFALTO_DEFAULT_PAGE_SIZE", "50")),
            log_level=env.get("DEFALTO_LOG_LEVEL", "INFO").upper(),
        )
