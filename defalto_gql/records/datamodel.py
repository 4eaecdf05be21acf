"""What the records layer derives once per metadata snapshot: tables, related lists, readers."""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from defalto_gql.db.tables import Tables, build_tables
from defalto_gql.errors import Forbidden
from defalto_gql.metadata.fieldtypes.base import FieldType
from defalto_gql.metadata.fieldtypes.reference import ReferenceType
from defalto_gql.metadata.model import FieldDef, ModuleDef, RelationDef, Snapshot

if TYPE_CHECKING:
    from defalto_gql.records.context import RecordContext

# Key under which a record dict names its module (for unions and node lookups).
MODULE_KEY = "__module__"


@dataclass(frozen=True)
class RelatedList:
    """A list of related records on a module: the reverse of a reference, or a relation side."""

    owner: str
    name: str
    target: str
    reference: FieldDef | None = None
    relation: RelationDef | None = None

    @property
    def description(self) -> str:
        if self.reference is not None:
            return f"{self.target} records whose {self.reference.label} is this record."
        assert self.relation is not None
        return f"{self.target} records linked through {self.relation.label}."

    def polymorphic(self) -> bool:
        ref = self.reference
        return ref is not None and isinstance(ref.type, ReferenceType) and \
            ref.type.is_polymorphic(ref)

    def join_condition(
        self, ctx: RecordContext, parent: sa.Table, child: sa.Table
    ) -> ColumnElement[bool]:
        """Child rows related to the parent row (for EXISTS filters)."""
        if self.reference is not None:
            condition = child.c[self.reference.column] == parent.c.id
            if self.polymorphic():
                module_column = child.c[f"{self.reference.column}_module"]
                condition = sa.and_(condition, module_column == self.owner)
            return condition
        assert self.relation is not None
        link = ctx.tables.links[self.relation.name].alias()
        _, _, own, other = self.relation.side(self.owner)
        # Correlated explicitly: the parent sits two SELECTs out, beyond auto-correlation.
        return sa.exists().where(link.c[own] == parent.c.id, link.c[other] == child.c.id) \
            .correlate_except(link)


@dataclass
class DataModel:
    """A snapshot with its tables and lookups; immutable once built."""

    snapshot: Snapshot
    tables: Tables
    lists: dict[tuple[str, str], RelatedList]
    readers: dict[str, dict[str, Any]]

    def related_list(self, module: str, name: str) -> RelatedList | None:
        return self.lists.get((module, name))

    def lists_of(self, module: str) -> list[RelatedList]:
        return [rl for (owner, _), rl in self.lists.items() if owner == module]

    def to_record(self, module: str, row: Any, hidden: frozenset[str] = frozenset()) -> Record:
        """The API form of a result row: values by API name, read on demand."""
        return Record(module, row, self.readers[module], hidden)


class Record:
    """One record as the API sees it.

    Values are read from the result row only when a query asks for them: a
    list of a thousand records rarely wants more than a few of its fields.
    """

    __slots__ = ("hidden", "module", "readers", "row")

    def __init__(self, module: str, row: Any, readers: dict[str, Any],
                 hidden: frozenset[str] = frozenset()) -> None:
        self.module = module
        self.row = row
        self.readers = readers
        # Fields the reader may not see: asking for one is a FORBIDDEN error.
        self.hidden = hidden

    def get(self, name: str, default: Any = None) -> Any:
        if name == MODULE_KEY:
            return self.module
        if name in self.hidden:
            raise Forbidden(f"{self.module}.{name} is hidden from you", field=name)
        reader = self.readers.get(name)
        return default if reader is None else reader(self.row)

    def __getitem__(self, name: str) -> Any:
        if name == MODULE_KEY:
            return self.module
        if name in self.hidden:
            raise Forbidden(f"{self.module}.{name} is hidden from you", field=name)
        return self.readers[name](self.row)

    def as_dict(self) -> dict[str, Any]:
        return {name: read(self.row) for name, read in self.readers.items()}


def _reader(f: FieldDef) -> Any:
    kind = f.type
    if type(kind).read is FieldType.read:
        return itemgetter(f.column)
    return lambda row: kind.read(f, row)


def _read_plan(module: ModuleDef) -> dict[str, Any]:
    plan: list[tuple[str, Any]] = []
    for f in module.fields:
        plan.append((f.name, _reader(f)))
        if f.type_key == "reference":
            ref_kind = f.type
            assert isinstance(ref_kind, ReferenceType)
            column = f.column
            plan.append((f"{f.name}Id", itemgetter(column)))
            if ref_kind.is_polymorphic(f):
                plan.append((f"{f.name}Module", itemgetter(ref_kind.module_column(f))))
    readers = dict(plan)
    # Keyword API names (``from``) are Python attributes with a trailing underscore.
    readers.update({f"{n}_": r for n, r in plan if keyword.iskeyword(n)})
    return readers


def build_datamodel(snapshot: Snapshot) -> DataModel:
    lists: dict[tuple[str, str], RelatedList] = {}
    for module in snapshot.modules.values():
        for ref in snapshot.references_to(module.name):
            assert ref.reverse_name is not None
            lists[(module.name, ref.reverse_name)] = RelatedList(
                owner=module.name, name=ref.reverse_name, target=ref.module, reference=ref
            )
        for relation in snapshot.relations_of(module.name):
            name, other, _, _ = relation.side(module.name)
            lists[(module.name, name)] = RelatedList(
                owner=module.name, name=name, target=other, relation=relation
            )
    readers = {m.name: _read_plan(m) for m in snapshot.modules.values()}
    return DataModel(snapshot, build_tables(snapshot), lists, readers)
