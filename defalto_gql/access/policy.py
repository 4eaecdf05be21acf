"""One user's rights, as SQL predicates and field masks per module.

This is the one place rights become enforcement: the records layer asks the
policy for a module's read and write predicates, its hidden and read-only
fields, and whether an action is allowed, on every path (lists, single
records, relations both ways, filters, sorting, mutations).

Row visibility reduces to one condition, ``owner_id = ANY(owners)``, where
``owners`` is computed once per user and access version: the user, their
groups, the users below them in the role tree, and the owners that sharing
rules open to them. ``None`` means every row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.sql.elements import ColumnElement

from defalto_gql.errors import Forbidden

ACTIONS = ("view", "create", "edit", "delete", "import", "export")


@dataclass(frozen=True)
class ModuleRights:
    """What one user may do in one module."""

    actions: frozenset[str] = frozenset()
    read_owners: frozenset[str] | None = frozenset()
    write_owners: frozenset[str] | None = frozenset()
    hidden: frozenset[str] = frozenset()
    read_only: frozenset[str] = frozenset()


FULL = ModuleRights(actions=frozenset(ACTIONS), read_owners=None, write_owners=None)
NOTHING = ModuleRights()


def _owned_by(table: sa.Table, owners: frozenset[str] | None) -> ColumnElement[bool] | None:
    if owners is None:
        return None
    if not owners:
        return sa.false()
    array = sa.bindparam(None, sorted(owners), type_=pg.ARRAY(pg.UUID(as_uuid=False)))
    return table.c.owner_id == sa.any_(array)


@dataclass
class AccessPolicy:
    """A user's rights in every module; administrators (and the system) have them all."""

    user_id: str
    is_admin: bool
    modules: dict[str, ModuleRights] = field(default_factory=dict)
    # Hidden names per module, including the derived names of hidden references.
    masks: dict[str, frozenset[str]] = field(default_factory=dict)

    def rights(self, module: str) -> ModuleRights:
        if self.is_admin:
            return FULL
        return self.modules.get(module, NOTHING)

    def allows(self, module: str, action: str) -> bool:
        return action in self.rights(module).actions

    def require(self, module: str, action: str) -> None:
        if not self.allows(module, action):
            raise Forbidden(f"you may not {action} {module} records", field=module)

    def read_filter(self, module: str, table: sa.Table) -> ColumnElement[bool] | None:
        """The row condition for reading ``module``; None when every row is visible."""
        rights = self.rights(module)
        if "view" not in rights.actions:
            return sa.false()
        return _owned_by(table, rights.read_owners)

    def write_filter(self, module: str, table: sa.Table) -> ColumnElement[bool] | None:
        """The row condition for changing ``module``: never a row one may not read."""
        rights = self.rights(module)
        if "view" not in rights.actions:
            # Edit or delete without view would change, and return, unseen records.
            return sa.false()
        return _owned_by(table, rights.write_owners)

    def may_change_owned_by(self, module: str, owner: str) -> bool:
        """Whether a record of ``module`` with this owner passes ``write_filter``."""
        rights = self.rights(module)
        return "view" in rights.actions and (rights.write_owners is None
                                             or owner in rights.write_owners)

    def hidden(self, module: str) -> frozenset[str]:
        if self.is_admin:
            return frozenset()
        return self.masks.get(module, self.rights(module).hidden)

    def check_readable(self, module: str, name: str) -> None:
        """Filtering or sorting on a hidden field would reveal it: refuse."""
        if name in self.hidden(module):
            raise Forbidden(f"{module}.{name} is hidden from you", field=name)

    def check_writable(self, module: str, name: str, input_name: str) -> None:
        rights = self.rights(module)
        if name in rights.hidden or input_name in rights.hidden:
            raise Forbidden(f"{module}.{input_name} is hidden from you", field=input_name)
        if name in rights.read_only:
            raise Forbidden(f"{module}.{input_name} is read-only for you", field=input_name)

    @classmethod
    def system(cls, user_id: str) -> AccessPolicy:
        """Full rights: the built-in system user, the CLI and administrators."""
        return cls(user_id=user_id, is_admin=True)


def with_masks(policy: AccessPolicy, references: dict[str, dict[str, list[str]]]) -> AccessPolicy:
    """Add the derived names (``accountId``) of hidden reference fields to each mask."""
    masks: dict[str, frozenset[str]] = {}
    for module, rights in policy.modules.items():
        names = set(rights.hidden)
        for name in rights.hidden:
            names.update(references.get(module, {}).get(name, []))
        masks[module] = frozenset(names)
    policy.masks = masks
    return policy


def describe(policy: AccessPolicy) -> dict[str, Any]:
    """A plain summary, for the ``me`` query and for logs (ids only, no secrets)."""
    return {
        module: {"actions": sorted(r.actions), "hidden": sorted(r.hidden),
                 "readOnly": sorted(r.read_only)}
        for module, r in policy.modules.items()
    }
