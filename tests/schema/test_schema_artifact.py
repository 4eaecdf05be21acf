"""The committed schema.graphql is the schema a fresh install serves, to the character.

It is the API's contract as reviewers and client generators see it, so a change
to the generated schema must come with the regenerated file in the same commit.
"""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import drop_database, scratch_database
from tests.processes import DEFALTO, environment

COMMITTED = Path(__file__).resolve().parents[2] / "schema.graphql"

REGENERATE = """\
schema.graphql differs from the schema a fresh database with the shipped modules serves.
If the change is intended, regenerate the copy against a fresh database and commit it:

    DEFALTO_DATA_DIR=$(mktemp -d) defalto schema print > schema.graphql

(or point DEFALTO_DATABASE_URL at a new, empty database). The difference, committed
copy first:
"""


@pytest.fixture
async def fresh_url(server_url: str) -> AsyncIterator[str]:
    url = await scratch_database(server_url)
    yield url
    await drop_database(server_url, url)


def test_committed_schema_matches_the_generated_one(fresh_url: str, tmp_path: Path) -> None:
    printed = subprocess.run(
        [DEFALTO, "schema", "print"], env=environment(DEFALTO_DATABASE_URL=fresh_url),
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
    )
    assert printed.returncode == 0, printed.stderr
    committed = COMMITTED.read_text() if COMMITTED.exists() else ""

    if printed.stdout != committed:
        diff = difflib.unified_diff(committed.splitlines(), printed.stdout.splitlines(),
                                    "schema.graphql", "defalto schema print", lineterm="")
        shown = list(diff)
        more = f"\n... and {len(shown) - 60} more lines" if len(shown) > 60 else ""
        pytest.fail(REGENERATE + "\n".join(shown[:60]) + more, pytrace=False)
