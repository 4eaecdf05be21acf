"""Settings read from the environment (``DEFALTO_*``), with safe defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

OFF = {"0", "off", "false", "no"}


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from its environment, read once."""

    database_url: str | None
    data_dir: Path
    max_page_size: int
    default_page_size: int
    log_level: str
    token_ttl_hours: float = 12.0
    admin_email: str = "admin@defalto.local"
    admin_password: str | None = None
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5000
    max_body_bytes: int = 1_048_576
    introspection: bool = True
    cors_origins: tuple[str, ...] = ()
    login_failures_per_account: int = 5
    login_failures_per_address: int = 20
    max_upload_bytes: int = 268_435_456
    run_jobs: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("DEFALTO_DATABASE_URL") or None,
            data_dir=Path(env.get("DEFALTO_DATA_DIR", "./defalto-data")).resolve(),
            max_page_size=int(env.get("DEFALTO_MAX_PAGE_SIZE", "500")),
            default_page_size=int(env.get("DEFALTO_DEFAULT_PAGE_SIZE", "50")),
            log_level=env.get("DEFALTO_LOG_LEVEL", "INFO").upper(),
            token_ttl_hours=float(env.get("DEFALTO_TOKEN_TTL_HOURS", "12")),
            admin_email=env.get("DEFALTO_ADMIN_EMAIL", "admin@defalto.local"),
            admin_password=env.get("DEFALTO_ADMIN_PASSWORD") or None,
            max_depth=int(env.get("DEFALTO_MAX_DEPTH", "15")),
            max_aliases=int(env.get("DEFALTO_MAX_ALIASES", "30")),
            max_tokens=int(env.get("DEFALTO_MAX_TOKENS", "5000")),
            max_body_bytes=int(env.get("DEFALTO_MAX_BODY_BYTES", "1048576")),
            introspection=env.get("DEFALTO_INTROSPECTION", "on").lower() not in OFF,
            cors_origins=tuple(o.strip() for o in env.get("DEFALTO_CORS_ORIGINS", "").split(",")
                               if o.strip()),
            login_failures_per_account=int(env.get("DEFALTO_LOGIN_FAILURES_PER_ACCOUNT", "5")),
            login_failures_per_address=int(env.get("DEFALTO_LOGIN_FAILURES_PER_ADDRESS", "20")),
            max_upload_bytes=int(env.get("DEFALTO_MAX_UPLOAD_BYTES", "268435456")),
            run_jobs=env.get("DEFALTO_RUN_JOBS", "on").lower() not in OFF,
        )
