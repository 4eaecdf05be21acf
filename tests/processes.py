"""Running the ``defalto`` command in tests: its path, a clean environment, leftover servers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psutil

DEFALTO = str(Path(sys.executable).with_name("defalto"))


def environment(**settings: str | None) -> dict[str, str]:
    """This environment without DEFALTO_* settings (but the log level), plus ``settings``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DEFALTO_") or k == "DEFALTO_LOG_LEVEL"}
    env.update({k: v for k, v in settings.items() if v is not None})
    return env


def alive(process: psutil.Process) -> bool:
    """Running and not a zombie (an orphan that nobody has reaped yet is not running)."""
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """PostgreSQL processes serving ``data_dir``, found by their command line."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and any(str(data_dir) in a for a in cmdline) \
                and alive(process):
            found.append(process)
    return found
