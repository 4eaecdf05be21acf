"""The ``defalto`` command: serve, migrate, schema print, user create."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import TextIO

from defalto_gql import __version__
from defalto_gql.config import Settings
from defalto_gql.errors import ConfigurationError, DefaltoError

logger = logging.getLogger("defalto_gql")


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[str]:
    """The configured database URL, or an embedded server's for as long as it is needed."""
    if settings.database_url:
        yield settings.database_url
        return
    from defalto_gql.db.embedded import EmbeddedPostgres

    print(f"Starting the embedded PostgreSQL in {settings.data_dir}", file=sys.stderr)
    server = EmbeddedPostgres(settings.data_dir)
    try:
        yield server.url()
    finally:
        server.stop()


async def _prepare(url: str, settings: Settings, demo: bool) -> None:
    from defalto_gql.bootstrap import load_demo_once, prepare_database
    from defalto_gql.db.engine import make_engine

    engine = make_engine(url, pool_size=2)
    try:
        await prepare_database(engine, settings)
        if demo:
            loaded = await load_demo_once(engine, settings)
            if loaded:
                print(f"Demo data loaded: {loaded}", file=sys.stderr)
    finally:
        await engine.dispose()


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    # After its graceful shutdown uvicorn raises the stop signal again with the
    # handler it found installed; left at the default, SIGTERM would kill this
    # process before the embedded PostgreSQL below is stopped.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _stop)
    with database(settings) as url:
        asyncio.run(_prepare(url, settings, args.demo))
        # Workers read the URL from the environment (they start as new processes).
        os.environ["DEFALTO_DATABASE_URL"] = url
        print(f"GraphQL at http://{args.host}:{args.port}/graphql", file=sys.stderr)
        uvicorn.run(
            "defalto_gql.app:create_app", factory=True, host=args.host, port=args.port,
            workers=args.workers, log_level=settings.log_level.lower(), access_log=False,
        )


async def _work(url: str, settings: Settings) -> None:
    from defalto_gql.db.engine import make_engine
    from defalto_gql.runtime import Runtime, watch_metadata
    from defalto_gql.transfer.queue import run_worker

    await _prepare(url, settings, demo=False)
    engine = make_engine(url, pool_size=4)
    runtime = Runtime(engine, settings)
    await runtime.refresh()
    watcher = asyncio.create_task(watch_metadata(runtime))
    try:
        # Until SIGINT or SIGTERM, which let the running job finish first.
        await run_worker(runtime)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await engine.dispose()


def worker(args: argparse.Namespace, settings: Settings) -> None:
    with database(settings) as url:
        print("Running import and export jobs; stop with Ctrl-C.", file=sys.stderr)
        asyncio.run(_work(url, settings))


def migrate(args: argparse.Namespace, settings: Settings) -> None:
    with database(settings) as url:
        asyncio.run(_prepare(url, settings, demo=False))
    print("System tables and shipped modules are up to date.", file=sys.stderr)


async def _print_schema(url: str, settings: Settings) -> str:
    from defalto_gql.db.engine import make_engine
    from defalto_gql.runtime import Runtime

    await _prepare(url, settings, demo=False)
    engine = make_engine(url, pool_size=1)
    try:
        generation = await Runtime(engine, settings).refresh()
        return generation.schema.as_str()
    finally:
        await engine.dispose()


def schema_print(args: argparse.Namespace, settings: Settings) -> None:
    with database(settings) as url:
        sys.stdout.write(asyncio.run(_print_schema(url, settings)) + "\n")


def read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    """The new user's password: the first line of standard input when it is piped (or with
    ``--password-stdin``), else asked twice at the terminal without echo."""
    if args.password_stdin or not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise SystemExit("defalto user create: the passwords differ")
    return password


async def _create_user(url: str, args: argparse.Namespace, password: str) -> str:
    from defalto_gql.access.users import create_user
    from defalto_gql.db.engine import make_engine
    from defalto_gql.db.migrate import migrate
    from defalto_gql.metadata.shipped import install_shipped

    engine = make_engine(url, pool_size=1)
    try:
        # Not prepare_database: on a fresh database the administrator made here is the
        # first one, and no other with a generated password should appear beside it.
        await migrate(engine)
        await install_shipped(engine)
        async with engine.begin() as conn:
            return await create_user(conn, email=args.email, name=args.name, password=password,
                                     is_admin=args.admin, role=args.role)
    finally:
        await engine.dispose()


def user_create(args: argparse.Namespace, settings: Settings) -> None:
    password = read_password(args, sys.stdin)
    with database(settings) as url:
        try:
            user_id = asyncio.run(_create_user(url, args, password))
        except DefaltoError as problem:
            # Leaving the block stops an embedded server, also on this way out.
            raise SystemExit(f"defalto user create: {problem.message}") from None
    kind = "administrator" if args.admin else "user"
    print(f"Created the {kind} {args.email.lower()} (id {user_id}).", file=sys.stderr)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="defalto", description="Defalto GQL, a CRM backend.")
    main.add_argument("--version", action="version", version=f"defalto-gql {__version__}")
    commands = main.add_subparsers(dest="command", required=True)

    run = commands.add_parser("serve", help="run the GraphQL server")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=1)
    run.add_argument("--demo", action="store_true",
                     help="load the demo data set on first start")
    run.set_defaults(handler=serve)

    commands.add_parser("worker", help="run import and export jobs (serve runs them too, "
                                       "unless DEFALTO_RUN_JOBS=off)").set_defaults(handler=worker)

    commands.add_parser("migrate", help="create or update the system tables and shipped "
                                        "modules").set_defaults(handler=migrate)

    schema = commands.add_parser("schema", help="the GraphQL schema")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True)
    schema_commands.add_parser("print", help="print the SDL on standard output") \
        .set_defaults(handler=schema_print)

    user = commands.add_parser("user", help="people who sign in")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser(
        "create", help="create a user; the password is asked for, or read from a pipe")
    create.add_argument("--email", required=True, help="the sign-in email")
    create.add_argument("--name", required=True, help="the full name")
    create.add_argument("--admin", action="store_true", help="give every right")
    create.add_argument("--role", help="the role's name in the role tree")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")
    create.set_defaults(handler=user_create)

    from defalto_gql.transfer.commands import add_commands

    add_commands(commands)
    return main


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic announces every plugin at INFO, pgserver prints initdb's whole output at INFO,
    # and procrastinate narrates each job: only their warnings matter here.
    for noisy in ("alembic", "pgserver", "procrastinate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        args.handler(args, settings)
    except ConfigurationError as problem:
        # A setting or file to fix, not a bug: the reason without a traceback.
        raise SystemExit(f"defalto: {problem.message}") from None
