"""The mapping rules of a user import, and the one rule that derives email addresses.

Users are not a module, so their import has its own short list of fields:
``email``, ``name``, ``manager`` (the email or name of the user they report
to), ``office``, ``role`` (a role name), ``timeZone`` and ``locale``. An import
never sets a password or the administrator flag: imported users cannot sign in
until an administrator gives them a password (``updateUser``).

The mapping file has the shape of a module import's, plus ``deriveEmails``::

    {
      "columns": {"sales_agent": "name", "regional_office": "office"},
      "values": {"office": {"Centrl": "Central"}},
      "references": {"manager": {"create": true}},
      "deriveEmails": {"domain": "maven-sales.invalid"}
    }

- ``deriveEmails``: a row without an email gets one made from its name: the
  name in lower case, accents dropped, every run of other characters a dot,
  at the domain named (``Anna Snelling`` -> ``anna.snelling@maven-sales.invalid``).
  Without this rule such a row is rejected. Name a domain nobody receives mail
  at, such as one under the reserved ``.invalid`` top-level domain (RFC 2606).
- ``references.manager.create``: a manager named only in the manager column
  (not in any row, not an existing user) becomes a user too, named as written,
  with a derived email (so it needs ``deriveEmails``). Without it the row is
  rejected.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defalto_gql.transfer.mapping import MappingError, normalise, read_rules

FIELDS = ("email", "name", "manager", "office", "role", "timeZone", "locale")
# Other headers people give these columns, normalised.
ALIASES = {"emailaddress": "email", "fullname": "name", "reportsto": "manager"}
NEVER = {"password": "passwords", "passwordhash": "passwords", "isadmin": "administrators",
         "admin": "administrators"}
DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")
LOCAL_PART_LENGTH = 64


@dataclass(frozen=True)
class UserRules:
    """Explicit rules for one user import; empty rules map columns by name only."""

    columns: dict[str, str | None] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    create_managers: bool = False
    email_domain: str | None = None

    @classmethod
    def load(cls, path: Path) -> UserRules:
        return cls.from_dict(read_rules(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UserRules:
        references = data.get("references", {})
        unknown = sorted(set(references) - {"manager"})
        if unknown:
            raise MappingError(f"a user import resolves only the manager, not {unknown}")
        derive = data.get("deriveEmails")
        domain = None
        if derive is not None:
            if not isinstance(derive, dict) or set(derive) != {"domain"}:
                raise MappingError('deriveEmails takes one setting: {"domain": "example.invalid"}')
            domain = str(derive["domain"]).strip().lower()
            if not DOMAIN.match(domain):
                raise MappingError(f"deriveEmails: {domain!r} is not a domain name")
        columns = dict(data.get("columns", {}))
        for target in columns.values():
            # Checked now, so a saved mapping cannot name a field no import sets.
            if target is not None:
                _field(str(target))
        return cls(
            columns=columns,
            values={_field(k): dict(v) for k, v in data.get("values", {}).items()},
            create_managers=bool(references.get("manager", {}).get("create")),
            email_domain=domain,
        )


def _field(name: str) -> str:
    """The user field ``name`` stands for (case, spaces and punctuation aside)."""
    key = normalise(name)
    if key in NEVER:
        raise MappingError(f"an import never sets {NEVER[key]}; map {name!r} to null")
    for known in FIELDS:
        if normalise(known) == key:
            return known
    if key in ALIASES:
        return ALIASES[key]
    raise MappingError(f"users have no field {name!r} an import can set; "
                       f"fields: {', '.join(FIELDS)}")


def plan_columns(header: list[str], rules: UserRules) -> list[str | None]:
    """For each column, the user field it fills (None: ignored)."""
    unknown = [c for c in rules.columns if c not in header]
    if unknown:
        raise MappingError(f"the mapping names columns the file does not have: {unknown}")
    plan: list[str | None] = []
    for column in header:
        if column in rules.columns:
            target = rules.columns[column]
            plan.append(None if target is None else _field(target))
            continue
        key = normalise(column)
        auto = next((f for f in FIELDS if normalise(f) == key), ALIASES.get(key))
        plan.append(auto)
    taken = [f for f in plan if f is not None]
    twice = sorted({f for f in taken if taken.count(f) > 1})
    if twice:
        raise MappingError(f"several columns fill the same field: {twice}; map one to null")
    if "name" not in taken:
        raise MappingError("no column fills the user's name; map one to 'name'")
    return plan


def derive_email(name: str, domain: str) -> str:
    """The address the ``deriveEmails`` rule makes from a name; ValueError when it cannot."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    local = re.sub(r"[^a-z0-9]+", ".", plain.lower()).strip(".")
    if not local:
        raise ValueError(f"cannot derive an email from the name {name!r}: it has no letters "
                         "or digits")
    if len(local) > LOCAL_PART_LENGTH:
        raise ValueError(f"cannot derive an email from the name {name!r}: it is too long")
    return f"{local}@{domain}"
