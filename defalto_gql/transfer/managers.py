"""The rows of a user import, who each reports to, and writing them.

A manager cell names a person by email or by name: one of the file's rows or
an existing user. A name nobody has becomes a new user only when the mapping
allows it (``references.manager.create``, with ``deriveEmails`` for the
address); a name several people have, a manager whose own row is rejected, a
user reporting to themselves, or a reporting line that loops, rejects the row.
Rejecting a row can leave another row's manager missing, so resolving repeats
until no row is newly rejected.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from defalto_gql.transfer.reports import RowProblem
from defalto_gql.transfer.userrules import UserRules, derive_email


@dataclass(frozen=True)
class Person:
    """A user there is already: id, email, name and their manager's email."""

    id: str
    email: str
    name: str
    manager: str | None


@dataclass
class UserRow:
    """One row of a user import: its values by user field and what became of it."""

    line: int
    cells: list[str]
    columns: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)
    email: str | None = None
    derived: bool = False
    problems: list[RowProblem] = field(default_factory=list)
    existing: Person | None = None
    skip: bool = False
    role_id: str | None = None
    manager: str | None = None

    def fail(self, name: str | None, reason: str) -> None:
        """A problem with the user field ``name``, reported under its column."""
        column = self.columns.get(name, name) if name else None
        self.problems.append(RowProblem(self.line, column, reason))

    @property
    def active(self) -> bool:
        """To be written: not rejected, not skipped as a duplicate."""
        return not self.problems and not self.skip

    @property
    def person_email(self) -> str | None:
        return self.existing.email if self.existing else self.email


@dataclass
class Plan:
    """Managers named only in the manager column, to be created: email -> name."""

    created: dict[str, str] = field(default_factory=dict)


def resolve(rows: list[UserRow], people: list[Person], rules: UserRules) -> Plan:
    """Set each row's manager email, rejecting rows whose manager cannot be found."""
    while True:
        before = sum(1 for r in rows if r.problems)
        plan = _attempt(rows, people, rules)
        if sum(1 for r in rows if r.problems) == before:
            return plan


def _attempt(rows: list[UserRow], people: list[Person], rules: UserRules) -> Plan:
    directory = {p.email: p.name for p in people}
    rejected: dict[str, int] = {}
    for row in rows:
        email = row.person_email
        if row.problems:
            for key in (email, row.values.get("name")):
                if key:
                    rejected.setdefault(key, row.line)
        elif email is not None:
            directory[email] = row.existing.name if row.skip and row.existing \
                else row.values["name"]
    names: dict[str, set[str]] = defaultdict(set)
    for email, name in directory.items():
        names[name].add(email)
    plan = Plan()
    for row in rows:
        row.manager = None
        text = row.values.get("manager")
        if row.active and text is not None:
            row.manager = _manager(row, text, directory, names, rejected, rules, plan)
    _reject_loops(rows, people)
    return plan


def _manager(row: UserRow, text: str, directory: dict[str, str], names: dict[str, set[str]],
             rejected: dict[str, int], rules: UserRules, plan: Plan) -> str | None:
    found = {text.lower()} & directory.keys() if "@" in text else names.get(text, set())
    if len(found) > 1:
        row.fail("manager", f"{len(found)} users are named {text!r}; give the manager's email")
        return None
    if not found and (text.lower() in rejected or text in rejected):
        line = rejected.get(text.lower(), rejected.get(text))
        row.fail("manager", f"the manager's own row (line {line}) is rejected")
        return None
    if not found:
        made = _create(row, text, directory, rules)
        if made is None:
            return None
        plan.created[made] = directory[made] = text
        names[text].add(made)
        found = {made}
    email = next(iter(found))
    if email == row.person_email:
        row.fail("manager", "a user cannot report to themselves")
        return None
    return email


def _create(row: UserRow, text: str, directory: dict[str, str], rules: UserRules
            ) -> str | None:
    """The email of a manager to create from the manager column, or None (row rejected)."""
    if "@" in text or not rules.create_managers:
        row.fail("manager", f"no user has the email or name {text!r}: add a row for them, "
                            "or let the mapping create managers (references.manager.create)")
        return None
    if rules.email_domain is None:
        row.fail("manager", f"{text!r} is no user yet, and without a deriveEmails rule "
                            "there is no email to create them with")
        return None
    try:
        email = derive_email(text, rules.email_domain)
    except ValueError as exc:
        row.fail("manager", str(exc))
        return None
    if email in directory:
        row.fail("manager", f"the manager {text!r} would get the email {email}, which "
                            f"{directory[email]!r} has")
        return None
    return email


def _reject_loops(rows: list[UserRow], people: list[Person]) -> None:
    """Reject rows whose reporting line, followed upwards, comes back to them."""
    above = {p.email: p.manager for p in people}
    for row in rows:
        email = row.person_email
        if row.active and email is not None and (row.manager or row.existing is None):
            above[email] = row.manager
    for row in rows:
        if not row.active or row.manager is None:
            continue
        chain = [row.person_email, row.manager]
        while chain[-1] is not None and chain[-1] not in chain[:-1]:
            chain.append(above.get(chain[-1]))
        if chain[-1] == row.person_email:
            line = " -> ".join(str(e) for e in chain)
            row.fail("manager", f"the reporting line loops: {line}")


async def write(conn: AsyncConnection, rows: list[UserRow], plan: Plan, update: bool) -> None:
    """Create the new users and managers, update matched ones, then set who reports to whom.

    One statement per user, in the caller's transaction: directories are small.
    A user created meanwhile by someone else (the API does not take the import's
    lock) makes that row a problem; a manager created meanwhile is used as is.
    """
    for email, name in plan.created.items():
        await conn.exec_driver_sql("INSERT INTO dg_users (email, name) VALUES ($1, $2) "
                                   "ON CONFLICT DO NOTHING", (email, name))
    for row in rows:
        if row.active and row.existing is None:
            await _insert(conn, row)
        elif row.active and row.existing is not None and update:
            v = row.values
            await conn.exec_driver_sql(
                "UPDATE dg_users SET name = $2, office = coalesce($3, office), "
                "role_id = coalesce($4::uuid, role_id), time_zone = coalesce($5, time_zone), "
                "locale = coalesce($6, locale) WHERE id = $1",
                (row.existing.id, v["name"], v.get("office"), row.role_id, v.get("timeZone"),
                 v.get("locale")))
    for row in rows:
        if row.active and row.manager is not None:
            await conn.exec_driver_sql(
                "UPDATE dg_users SET manager_id = (SELECT id FROM dg_users WHERE email = $2) "
                "WHERE email = $1", (row.person_email, row.manager))


async def _insert(conn: AsyncConnection, row: UserRow) -> None:
    v = row.values
    made = (await conn.exec_driver_sql(
        "INSERT INTO dg_users (email, name, office, role_id, time_zone, locale) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id::text",
        (row.email, v["name"], v.get("office"), row.role_id, v.get("timeZone", "UTC"),
         v.get("locale", "en")))).scalar()
    if made is None:
        row.fail("email", f"a user with email {row.email} exists already")
