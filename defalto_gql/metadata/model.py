"""The in-memory metadata snapshot: immutable definitions read from the system tables.

Every layer (records, schema, import, access) reads one ``Snapshot``; a metadata
change produces a new snapshot rather than mutating this one, so a request keeps
the definitions it started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from defalto_gql.metadata.fieldtypes.base import FieldType

# Targets of a polymorphic reference that may point at any module.
ANY_MODULE = "*"


@dataclass(frozen=True)
class FieldDef:
    """One field of a module: its API name, its column and its type's settings."""

    id: int
    module: str
    name: str
    label: str
    type_key: str
    column: str
    required: bool = False
    unique: bool = False
    default: Any = None
    help_text: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    picklist: tuple[str, ...] = ()
    block: str | None = None
    position: int = 0
    shipped: bool = False
    # Built-in common columns (id, createdAt ...) are listed as fields too, so
    # filters, sorting and output treat them like any other; they are read-only
    # unless the module lets clients set them (ownerId).
    builtin: bool = False
    read_only: bool = False

    @property
    def writable(self) -> bool:
        return not self.read_only and self.type.writable

    @cached_property
    def type(self) -> FieldType:
        # Asked for several times per value written; the registry never changes.
        from defalto_gql.metadata.fieldtypes import field_type

        return field_type(self.type_key)

    @property
    def targets(self) -> tuple[str, ...]:
        """Modules a reference field may point at (``*`` for any)."""
        return tuple(self.options.get("targets", ()))

    @property
    def reverse_name(self) -> str | None:
        """API name of the one-to-many list this reference adds to its target."""
        found = self.options.get("reverse")
        return str(found) if found else None

    @property
    def description(self) -> str:
        return f"{self.label}. {self.help_text}" if self.help_text else self.label


@dataclass(frozen=True)
class BlockDef:
    """A named group of fields, in order, for forms."""

    name: str
    label: str
    position: int


@dataclass(frozen=True)
class ModuleDef:
    """One module (Account, Deal ...): names, table, numbering and fields."""

    id: int
    name: str
    plural: str
    label: str
    plural_label: str
    table: str
    fields: tuple[FieldDef, ...]
    label_field: str
    record_prefix: str | None = None
    description: str | None = None
    blocks: tuple[BlockDef, ...] = ()
    shipped: bool = False

    @cached_property
    def fields_by_name(self) -> dict[str, FieldDef]:
        return {f.name: f for f in self.fields}

    def field(self, name: str) -> FieldDef:
        return self.fields_by_name[name]

    @property
    def api_single(self) -> str:
        """The query field for one record: ``account``."""
        return self.name[0].lower() + self.name[1:]

    @property
    def api_list(self) -> str:
        """The query field for the list: ``accounts``."""
        return self.plural[0].lower() + self.plural[1:]


@dataclass(frozen=True)
class RelationDef:
    """A many-to-many relation between two modules, stored in a link table."""

    id: int
    name: str
    left: str
    right: str
    left_name: str
    right_name: str
    table: str
    label: str = ""

    def side(self, module: str) -> tuple[str, str, str, str]:
        """From ``module``'s side: (list name, other module, own column, other column)."""
        if module == self.left:
            return self.left_name, self.right, "left_id", "right_id"
        return self.right_name, self.left, "right_id", "left_id"


@dataclass(frozen=True)
class Snapshot:
    """All modules and relations at one metadata version."""

    version: int
    modules: dict[str, ModuleDef]
    relations: tuple[RelationDef, ...] = ()

    def module(self, name: str) -> ModuleDef:
        return self.modules[name]

    def references_to(self, target: str) -> list[FieldDef]:
        """Reference fields of any module that point at ``target`` and have a reverse list."""
        found = []
        for module in self.modules.values():
            for f in module.fields:
                if f.type_key != "reference" or not f.reverse_name:
                    continue
                if target in f.targets or ANY_MODULE in f.targets:
                    found.append(f)
        return found

    def relations_of(self, module: str) -> list[RelationDef]:
        return [r for r in self.relations if module in (r.left, r.right)]

    def polymorphic_targets(self, f: FieldDef) -> list[str]:
        if ANY_MODULE in f.targets:
            return sorted(self.modules)
        return [t for t in f.targets if t in self.modules]
