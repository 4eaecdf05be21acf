"""The ``defalto`` command as a user runs it: migrate, schema print, user create, and the usage
texts."""

from __future__ import annotations

import getpass
import io
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import graphql
import httpx
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from defalto_gql import __version__
from defalto_gql.access.management import create_role
from defalto_gql.app import create_app
from defalto_gql.bootstrap import prepare_database
from defalto_gql.cli import parser, read_password
from defalto_gql.db.engine import make_engine
from defalto_gql.db.migrate import shipped_dir
from defalto_gql.metadata.loader import load_snapshot
from tests.conftest import drop_database, scratch_database, settings_for_tests
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


@pytest.mark.parametrize(("setting", "value", "reason"), [
    ("DEFALTO_ADMIN_PASSWORD", "short", "at least 10 characters"),
    ("DEFALTO_ADMIN_EMAIL", "admin", "is not an email address"),
])
def test_a_bad_first_administrator_setting_is_named_without_a_traceback(
    scratch_url: str, tmp_path: Path, setting: str, value: str, reason: str
) -> None:
    env = environment(DEFALTO_DATABASE_URL=scratch_url, **{setting: value})

    done = defalto("migrate", env=env, cwd=tmp_path)

    assert done.returncode == 1
    assert f"defalto: {setting}: " in done.stderr and reason in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


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


# defalto user create

LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { " \
        "email name isAdmin role } } }"


def create_user(*options: str, password: str, url: str, cwd: Path
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DEFALTO, "user", "create", *options], input=f"{password}\n",
                          env=environment(DEFALTO_DATABASE_URL=url), cwd=cwd,
                          capture_output=True, text=True, timeout=180, check=False)


async def signed_in_user(url: str, email: str, password: str) -> dict[str, object]:
    """Who the API says signed in with these credentials (the app's lifespan prepares the rest)."""
    app = create_app(settings_for_tests(), database_url=url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body = (await client.post("/graphql", json={
                "query": LOGIN, "variables": {"e": email, "p": password}})).json()
    assert "errors" not in body, body
    user: dict[str, object] = body["data"]["login"]["user"]
    return user


async def test_user_create_makes_a_user_who_signs_in(scratch_url: str, tmp_path: Path) -> None:
    made = create_user("--email", "Ops@Example.org", "--name", "Olga Ops", "--admin",
                       "--password-stdin", password="a long passphrase", url=scratch_url,
                       cwd=tmp_path)

    assert made.returncode == 0, made.stderr
    assert "Created the administrator ops@example.org" in made.stderr
    assert "a long passphrase" not in made.stdout + made.stderr
    user = await signed_in_user(scratch_url, "ops@example.org", "a long passphrase")
    assert user == {"email": "ops@example.org", "name": "Olga Ops", "isAdmin": True, "role": None}


async def test_user_create_in_a_role_reads_a_piped_password(scratch_url: str,
                                                           tmp_path: Path) -> None:
    engine = make_engine(scratch_url, pool_size=1)
    try:
        await prepare_database(engine, settings_for_tests())
        async with engine.begin() as conn:
            await create_role(conn, "Support", None)
    finally:
        await engine.dispose()

    # No --password-stdin: standard input is not a terminal, so the password is read from it.
    made = create_user("--email", "sam@example.org", "--name", "Sam", "--role", "Support",
                       password="support-secret", url=scratch_url, cwd=tmp_path)

    assert made.returncode == 0, made.stderr
    user = await signed_in_user(scratch_url, "sam@example.org", "support-secret")
    assert user == {"email": "sam@example.org", "name": "Sam", "isAdmin": False,
                    "role": "Support"}


@pytest.mark.parametrize(("options", "password", "message"), [
    (("--email", "x@example.org", "--name", "X"), "short", "at least 10 characters"),
    (("--email", "x@example.org", "--name", "X", "--role", "Nobody"), "long enough pass",
     "there is no role 'Nobody'"),
    (("--email", "not an email", "--name", "X"), "long enough pass", "is not an email address"),
])
def test_user_create_refuses_bad_input(scratch_url: str, tmp_path: Path,
                                       options: tuple[str, ...], password: str,
                                       message: str) -> None:
    made = create_user(*options, password=password, url=scratch_url, cwd=tmp_path)

    assert made.returncode == 1
    assert "defalto user create: " in made.stderr and message in made.stderr, made.stderr


def test_user_create_refuses_an_email_taken(scratch_url: str, tmp_path: Path) -> None:
    first = create_user("--email", "x@example.org", "--name", "X", password="long enough pass",
                        url=scratch_url, cwd=tmp_path)
    again = create_user("--email", "X@example.org", "--name", "X", password="long enough pass",
                        url=scratch_url, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 1
    assert "exists already" in again.stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_user_create_asks_twice_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["first try", "second try", "same", "same"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    args = parser().parse_args(["user", "create", "--email", "a@b.org", "--name", "A"])

    with pytest.raises(SystemExit, match="the passwords differ"):
        read_password(args, Terminal())
    assert read_password(args, Terminal()) == "same"
    # Piped, or told so, the first line is the password, without its line end.
    assert read_password(args, io.StringIO("piped secret\r\nrest\n")) == "piped secret"
