"""The ``defalto`` command as a user runs it: migrate, schema print, and the usage texts."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import graphql
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from defalto_gql import __version__
from defalto_gql.db.engine import make_engine
from defalto_gql.db.migrate import shipped_dir
from defalto_gql.metadata.loader import load_snapshot
from tests.conftest import drop_database, scratch_database
from tests.processes import DEFALTO, environment, postgres_processes

SHIPPED_MODULES = {"Account", "Comment", "Contact", "Deal", "Lead", "Product", "Ticket"}


def defalto(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DEFALTO, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=180, check=False)


@pytest.fixture
async def scratch_url(server_url: str) -> AsyncIterator[str]:
    url = await scratch_database(server_url)
    yield url
    await drop_database(server_url, url)


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("migrations")))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


async def test_migrate_creates_the_system_tables_and_shipped_modules(
    scratch_url: str, tmp_path: Path
) -> None:
    env = environment(DEFALTO_DATABASE_URL=scratch_url)

    first = defalto("migrate", env=env, cwd=tmp_path)
    again = defalto("migrate", env=env, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert "up to date" in first.stderr
    engine = make_engine(scratch_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            revision = (await conn.execute(sa.text("SELECT version_num FROM alembic_version")))
            snapshot = await load_snapshot(conn)
    finally:
        await engine.dispose()
    assert revision.scalar_one() == head_revision()
    assert set(snapshot.modules) >= SHIPPED_MODULES


def test_migrate_on_the_embedded_database_stops_it_afterwards(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    done = defalto("migrate", env=environment(DEFALTO_DATA_DIR=str(data_dir)), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert (data_dir / "PG_VERSION").exists()
    assert not postgres_processes(data_dir)


def test_the_data_folder_defaults_to_defalto_data_in_the_working_folder(tmp_path: Path) -> None:
    done = defalto("migrate", env=environment(), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "defalto-data" / "PG_VERSION").exists()
    assert not postgres_processes(tmp_path / "defalto-data")


def test_schema_print_writes_the_sdl_alone_on_standard_output(
    scratch_url: str, tmp_path: Path
) -> None:
    printed = defalto("schema", "print", env=environment(DEFALTO_DATABASE_URL=scratch_url),
                      cwd=tmp_path)

    assert printed.returncode == 0, printed.stderr
    schema = graphql.build_schema(printed.stdout)  # raises unless the whole output is SDL
    assert "type Account implements Node {" in printed.stdout
    assert set(schema.type_map) >= SHIPPED_MODULES
    query = schema.query_type
    assert query is not None and {"accounts", "account", "deals"} <= set(query.fields)


def test_version_and_usage(tmp_path: Path) -> None:
    env = environment()

    version = defalto("--version", env=env, cwd=tmp_path)
    usage = defalto("serve", "--help", env=env, cwd=tmp_path)
    nothing = defalto(env=env, cwd=tmp_path)

    assert version.stdout.strip() == f"defalto-gql {__version__}"
    for option in ("--host", "--port", "--workers", "--demo"):
        assert option in usage.stdout
    assert nothing.returncode == 2
    assert "serve" in nothing.stderr and "migrate" in nothing.stderr
