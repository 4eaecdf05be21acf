"""Importing users from a CSV file: ``defalto import User FILE``.

Only administrators import users. The file is read whole (a directory of
people is small) because a row's manager may come later in the file. Then:

1. each row is read: a name is required; the email is the email column's, or
   derived by the mapping's ``deriveEmails`` rule, or the row is rejected;
2. rows sharing an email are all rejected: two people with the same name get
   the same derived address, and merging them would be a guess;
3. rows matching an existing user (``--match email`` or ``name``) are skipped
   or update that user; without a match rule an existing email is a row error;
4. managers are resolved among the file's rows and the existing users (see
   ``transfer.managers``);
5. a real run writes everything in one transaction; a dry run stops before.

Every row is accounted for in the same ``ImportReport`` a module import gives.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.access.policy import AccessPolicy
from defalto_gql.access.teams import clean_office
from defalto_gql.access.users import EMAIL, SYSTEM_USER_ID, bump_access
from defalto_gql.errors import BadUserInput, Forbidden
from defalto_gql.metadata.fieldtypes.base import unstorable
from defalto_gql.runtime import Runtime
from defalto_gql.transfer import csvfiles, managers
from defalto_gql.transfer.managers import Person, UserRow
from defalto_gql.transfer.mapping import MappingError, normalise
from defalto_gql.transfer.reports import ImportReport, RejectsWriter
from defalto_gql.transfer.userrules import UserRules, derive_email, plan_columns

logger = logging.getLogger(__name__)

MODULE = "User"
MATCHES = ("email", "name")
# Taken while a user import checks and writes, so two imports do not interleave.
IMPORT_LOCK = 7314006


def is_user_import(name: str) -> bool:
    """``User`` or ``users``, any case: the import of people rather than records."""
    return normalise(name) in ("user", "users")


@dataclass(frozen=True)
class UserImportOptions:
    """How to read the file and what to do with users that exist already."""

    rules: UserRules = field(default_factory=UserRules)
    match: tuple[str, ...] = ()
    on_duplicate: str = "skip"
    dry_run: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    rejects: Path | None = None


def user_options(args: Any) -> UserImportOptions:
    """The options of ``defalto import User`` from its command-line arguments."""
    if getattr(args, "detect", ""):
        raise MappingError("users are matched on email or name (--match), not detected")
    return UserImportOptions(
        rules=UserRules.load(args.mapping) if args.mapping else UserRules(),
        match=tuple(m.strip() for m in args.match.split(",") if m.strip()),
        on_duplicate=args.on_duplicate, dry_run=args.dry_run, encoding=args.encoding,
        delimiter="\t" if args.delimiter in ("tab", "\\t") else args.delimiter,
        rejects=args.rejects)


class UserImporter:
    """One import of one file of people, as an administrator."""

    def __init__(self, runtime: Runtime, options: UserImportOptions,
                 policy: AccessPolicy | None = None) -> None:
        self.runtime = runtime
        self.options = options
        self.policy = policy
        self.report = ImportReport(MODULE, options.dry_run)
        self.columns: dict[str, str] = {}

    async def run(self, path: Path, progress: Callable[[int, int], None] | None = None
                  ) -> ImportReport:
        """Import ``path``; raises for problems with the whole file, reports the rows."""
        match = self._match()
        with csvfiles.open_table(path, self.options.encoding, self.options.delimiter) as table:
            plan = self._plan(table.header)
            rows = [self._parse(line, cells, table.header, plan) for line, cells in table.rows()]
            if progress:
                progress(len(rows), table.bytes_read)
        self.report.blank = table.blank_rows
        self.report.rows = len(rows) + table.blank_rows
        wrote = await self._check_and_write(rows, match)
        if wrote:
            self.runtime.access_changed()
        self._account(rows, table.header)
        r = self.report
        logger.info("user import finished", extra={
            "dry_run": r.dry_run, "rows_read": r.rows, "rows_created": r.created,
            "rows_updated": r.updated, "rows_skipped": r.skipped, "rows_rejected": r.rejected})
        return self.report

    async def check_header(self, path: Path) -> None:
        """What ``run`` checks before reading rows: rights, options, and the header's plan."""
        self._match()
        with csvfiles.open_table(path, self.options.encoding, self.options.delimiter) as table:
            self._plan(table.header)

    def _plan(self, header: list[str]) -> list[str | None]:
        plan = plan_columns(header, self.options.rules)
        self._note_columns(header, plan)
        return plan

    def _match(self) -> str | None:
        """The rights and the duplicate choice; the field users match on, if any."""
        if self.policy is not None and not self.policy.is_admin:
            raise Forbidden("only administrators import users", field=MODULE)
        if self.options.on_duplicate not in ("skip", "update"):
            raise MappingError("a user that exists already is skipped or updated, not "
                               f"{self.options.on_duplicate}d")
        wanted = [normalise(m) for m in self.options.match]
        if not wanted:
            return None
        if len(wanted) > 1 or wanted[0] not in MATCHES:
            raise MappingError("users match on one field: email or name")
        return wanted[0]

    def _note_columns(self, header: list[str], plan: list[str | None]) -> None:
        for column, name in zip(header, plan, strict=True):
            if name is None:
                self.report.ignored_columns.append(column)
            else:
                self.report.mapped_columns[column] = name
                self.columns[name] = column

    def _parse(self, line: int, cells: list[str], header: list[str], plan: list[str | None]
               ) -> UserRow:
        row = UserRow(line, cells, self.columns)
        malformed = csvfiles.fault(cells, header)
        if malformed is not None:
            # Its cells are not what the file says: nothing of the row is read.
            row.fail(*malformed)
            return row
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            row.fail(None, f"has {len(cells)} cells but the header names {len(header)} "
                           "columns (an unquoted delimiter in a value?)")
        for name, cell in zip(plan, cells, strict=False):
            text = csvfiles.cell_value(cell)
            if name is not None and text:
                row.values[name] = self.options.rules.values.get(name, {}).get(text, text)
        self._check_values(row)
        return row

    def _check_values(self, row: UserRow) -> None:
        values = row.values
        reasons = {name: unstorable(value) for name, value in values.items()}
        for name, reason in reasons.items():
            if reason:
                row.fail(name, reason)
        if any(reasons.values()):
            # Text PostgreSQL cannot store: the row is rejected before anything reads it.
            return
        if "name" not in values:
            row.fail("name", "is required")
        elif len(values["name"]) > 255:
            row.fail("name", "has more than 255 characters")
        self._email(row)
        try:
            clean_office(values.get("office"))
        except BadUserInput as exc:
            row.fail("office", exc.message)
        zone = values.get("timeZone")
        if zone is not None and zone not in available_timezones():
            row.fail("timeZone", f"{zone!r} is not an IANA time zone")
        if len(values.get("locale", "")) > 16:
            row.fail("locale", "has more than 16 characters")

    def _email(self, row: UserRow) -> None:
        given = row.values.get("email")
        domain = self.options.rules.email_domain
        if given is not None:
            if not EMAIL.match(given) or len(given) > 254:
                row.fail("email", f"{given!r} is not an email address")
            row.email = given.lower()
        elif domain is None:
            row.fail("email", "is required: the row has none, and the mapping has no "
                              "deriveEmails rule to make one from the name")
        elif "name" in row.values:
            try:
                row.email = derive_email(row.values["name"], domain)
                row.derived = True
            except ValueError as exc:
                row.fail("name", str(exc))

    async def _check_and_write(self, rows: list[UserRow], match: str | None) -> bool:
        """Check the rows against the users there are; a real run writes. True: written."""
        engine = self.runtime.engine
        if self.options.dry_run:
            async with engine.connect() as conn:
                self._count_managers(await self._check(conn, rows, match))
            return False
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({IMPORT_LOCK})")
            plan = await self._check(conn, rows, match)
            self._count_managers(plan)
            await managers.write(conn, rows, plan, self.options.on_duplicate == "update")
            if any(r.active for r in rows) or plan.created:
                await bump_access(conn)
                return True
        return False

    def _count_managers(self, plan: managers.Plan) -> None:
        if plan.created:
            self.report.targets_created[MODULE] = len(plan.created)

    async def _check(self, conn: AsyncConnection, rows: list[UserRow], match: str | None
                     ) -> managers.Plan:
        people = [Person(**p) for p in (await conn.exec_driver_sql(
            "SELECT u.id::text, u.email, u.name, m.email AS manager FROM dg_users u "
            "LEFT JOIN dg_users m ON m.id = u.manager_id WHERE u.id <> $1",
            (SYSTEM_USER_ID,))).mappings()]
        roles: dict[str, str] = {r.name: r.id for r in await conn.exec_driver_sql(
            "SELECT name, id::text AS id FROM dg_roles")}
        system = (await conn.exec_driver_sql(
            "SELECT email FROM dg_users WHERE id = $1", (SYSTEM_USER_ID,))).scalar()
        for row in rows:
            # The system user is nobody one can match, update or become.
            if not row.problems and row.email is not None and row.email == system:
                row.fail("email", f"{row.email} is the system's own address")
        _reject_shared_emails(rows)
        self._find_existing(rows, people, match)
        for row in rows:
            role = row.values.get("role")
            if not row.problems and role is not None:
                row.role_id = roles.get(role)
                if row.role_id is None:
                    row.fail("role", f"there is no role {role!r}")
        return managers.resolve(rows, people, self.options.rules)

    def _find_existing(self, rows: list[UserRow], people: list[Person], match: str | None
                       ) -> None:
        by_email = {p.email: p for p in people}
        by_name: dict[str, list[Person]] = defaultdict(list)
        for p in people:
            by_name[p.name].append(p)
        for row in rows:
            if row.problems or row.email is None:
                continue
            same_email = by_email.get(row.email)
            found = [same_email] if match == "email" and same_email else []
            if match == "name":
                found = by_name.get(row.values["name"], [])
            if len(found) > 1:
                row.fail("name", f"{len(found)} users are named {row.values['name']!r}; "
                                 "match on email")
            elif found and row.derived and found[0].name != row.values["name"]:
                row.fail("name", f"the email {row.email} derived from the name belongs to "
                                 f"{found[0].name!r} already")
            elif found:
                row.existing = found[0]
                row.skip = self.options.on_duplicate == "skip"
            elif same_email:
                row.fail("email", f"a user with email {row.email} exists already; "
                                  "--match email skips or updates them")

    def _account(self, rows: list[UserRow], header: list[str]) -> None:
        rejects = RejectsWriter(self.options.rejects, header) if self.options.rejects else None
        try:
            for row in rows:
                if row.problems:
                    self.report.reject(row.line, row.cells, row.problems, rejects)
                elif row.skip:
                    self.report.skipped += 1
                elif row.existing is not None:
                    self.report.updated += 1
                else:
                    self.report.created += 1
        finally:
            if rejects:
                rejects.close()


def _reject_shared_emails(rows: list[UserRow]) -> None:
    """Rows with the same email (given or derived) are all rejected: no guessing who is who."""
    lines: dict[str, list[UserRow]] = defaultdict(list)
    for row in rows:
        if row.email is not None and not row.problems:
            lines[row.email].append(row)
    for email, sharing in lines.items():
        if len(sharing) < 2:
            continue
        for row in sharing:
            others = ", ".join(str(r.line) for r in sharing if r is not row)
            how = "derived from the name " if row.derived else ""
            column = "name" if row.derived else "email"
            row.fail(column, f"the email {email} {how}is also the email of line {others}; "
                             "two people cannot share one: give them emails in an email column")

