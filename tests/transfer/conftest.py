"""Helpers for the import and export tests: CSV files in tmp_path and runs as the admin."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from defalto_gql.access.policy import AccessPolicy
from defalto_gql.transfer.importing import Importer, ImportOptions
from defalto_gql.transfer.mapping import Mapping
from defalto_gql.transfer.reports import ImportReport
from tests.conftest import Api


def csv_file(folder: Path, text: str, *, encoding: str = "utf-8", name: str = "") -> Path:
    """``text`` saved as a file; line ends are kept as written (use \\r\\n for CRLF)."""
    path = folder / (name or f"{uuid.uuid4().hex[:8]}.csv")
    path.write_bytes(text.encode(encoding))
    return path


async def run_import(api: Api, module: str, path: Path, *, mapping: dict[str, Any] | None = None,
                     policy: AccessPolicy | None = None, **options: Any) -> ImportReport:
    """Import as the administrator (or ``policy``) with the given options."""
    found = ImportOptions(mapping=Mapping.from_dict(mapping or {}), **options)
    return await Importer(api.runtime, module, found, policy).run(path)


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:6]}"
