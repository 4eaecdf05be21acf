"""Building the strawberry schema from a data model (a metadata snapshot and its tables).

Classes are created in two passes: first an empty class per generated type,
so types can refer to each other (Account.contacts -> Contact.account ->
Account), then their fields; strawberry resolves the annotations when the
schema is assembled.
"""

from __future__ import annotations

import keyword
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig

from defalto_gql.metadata.fieldtypes.reference import ReferenceType
from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records.datamodel import MODULE_KEY, DataModel, Record, RelatedList
from defalto_gql.records.validation import input_name
from defalto_gql.schema import mutations
from defalto_gql.schema.access_api import AccessMutation, AccessQuery
from defalto_gql.schema.common import (
    FILTER_TYPES,
    INPUT_TYPES,
    OUTPUT_TYPES,
    Node,
    OrderDirection,
    PageInfo,
    RecordRefInput,
)
from defalto_gql.schema.directory_api import DirectoryMutation, DirectoryQuery
from defalto_gql.schema.metadata_api import MetadataMutation, MetadataQuery
from defalto_gql.schema.resolvers import (
    list_resolver,
    node_resolver,
    one_resolver,
    polymorphic_resolver,
    reference_resolver,
    related_resolver,
    signed,
)
from defalto_gql.schema.transfer_api import TransferMutation, TransferQuery

logger = logging.getLogger(__name__)

# Built-in fields that are never empty.
NON_NULL = {"id", "createdAt", "updatedAt", "version", "createdById", "updatedById", "ownerId"}


def python_name(name: str) -> str:
    """API names are used as Python attribute names; keywords get a trailing underscore."""
    return f"{name}_" if keyword.iskeyword(name) else name


def resolve_attribute(source: Any, name: str) -> Any:
    """The default resolver: records read their rows; connection parts are dicts or objects."""
    if type(source) is Record:
        return source.get(name)
    if isinstance(source, dict):
        if name in source:
            return source[name]
        return source.get(name[:-1]) if name.endswith("_") else None
    return getattr(source, name)


@dataclass
class ModuleTypes:
    """The generated classes of one module, before and after decoration."""

    module: ModuleDef
    node: type
    edge: type
    connection: type
    filter: type
    list_filter: type
    order: type
    create: type
    update: type


@dataclass
class Namespace:
    """Annotations and attributes of a class being generated."""

    annotations: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, annotation: Any, value: Any) -> None:
        key = python_name(name)
        self.annotations[key] = annotation
        self.attributes[key] = value

    def fill(self, cls: type) -> type:
        cls.__annotations__ = self.annotations
        for key, value in self.attributes.items():
            setattr(cls, key, value)
        return cls


def described(text: str, name: str | None = None, **kwargs: Any) -> Any:
    if name is not None and keyword.iskeyword(name):
        kwargs["name"] = name
    return strawberry.field(description=text, **kwargs)


class SchemaBuilder:
    """Generates every type, query and mutation of one data model."""

    def __init__(self, model: DataModel) -> None:
        self.model = model
        self.snapshot = model.snapshot
        self.types: dict[str, ModuleTypes] = {}

    def build(
        self, schema_class: type[strawberry.Schema] = strawberry.Schema,
        extensions: list[Any] | None = None,
    ) -> strawberry.Schema:
        started = time.perf_counter()
        for module in self.snapshot.modules.values():
            self.types[module.name] = self._shells(module)
        for types in self.types.values():
            self._fill(types)
        from defalto_gql.schema.execution import RecordExecutionContext

        schema = schema_class(
            execution_context_class=RecordExecutionContext,
            query=self._query(),
            extensions=extensions or [],
            mutation=self._mutation(),
            types=[t.node for t in self.types.values()],
            config=StrawberryConfig(auto_camel_case=False, default_resolver=resolve_attribute),
        )
        logger.info(
            "schema built",
            extra={"version": self.snapshot.version, "modules": len(self.types),
                   "seconds": round(time.perf_counter() - started, 3)},
        )
        return schema

    def _shells(self, module: ModuleDef) -> ModuleTypes:
        name = module.name
        return ModuleTypes(
            module=module,
            node=type(name, (Node,), {}),
            edge=type(f"{name}Edge", (), {}),
            connection=type(f"{name}Connection", (), {}),
            filter=type(f"{name}Filter", (), {}),
            list_filter=type(f"{module.plural}ListFilter", (), {}),
            order=type(f"{name}OrderBy", (), {}),
            create=type(f"{name}CreateInput", (), {}),
            update=type(f"{name}UpdateInput", (), {}),
        )

    # -- output types ----------------------------------------------------------

    def _fill(self, types: ModuleTypes) -> None:
        module = types.module
        self._fill_node(types)
        edge = Namespace()
        edge.add("node", types.node, described("The record."))
        edge.add("cursor", str, described("Opaque cursor of this record in its list."))
        strawberry.type(edge.fill(types.edge), description=f"A {module.label} in a list.")
        conn = Namespace()
        conn.add("edges", list[types.edge], described("The records of this page."))  # type: ignore[name-defined]
        conn.add("pageInfo", PageInfo, described("Where this page sits in the list."))
        conn.add("totalCount", int | None, described("How many records match, over all pages."))
        strawberry.type(conn.fill(types.connection),
                        description=f"A page of {module.plural_label} (Relay connection).")
        self._fill_filter(types)
        self._fill_order(types)
        self._fill_inputs(types)

    def _fill_node(self, types: ModuleTypes) -> None:
        module = types.module
        ns = Namespace()
        for f in module.fields:
            self._output_field(ns, f)
        for related in self.model.lists_of(module.name):
            target = self.types[related.target]
            # Nullable, so a list the reader may not view (FORBIDDEN) nulls only itself.
            ns.add(related.name, target.connection | None, strawberry.field(
                resolver=signed(related_resolver(related), self._list_params(target),
                                target.connection | None),
                description=related.description,
            ))
        cls = ns.fill(types.node)
        # Records are dicts; graphql-core asks each object type whether a value is its own.
        cls.is_type_of = classmethod(  # type: ignore[attr-defined]
            lambda _cls, obj, _info, name=module.name: obj.get(MODULE_KEY) == name
        )
        strawberry.type(cls, description=module.description or module.label)

    def _output_field(self, ns: Namespace, f: FieldDef) -> None:
        kind = f.type
        if isinstance(kind, ReferenceType):
            ns.add(f"{f.name}Id", strawberry.ID | None, described(f"Id of the {f.label}."))
            if kind.is_polymorphic(f):
                ns.add(f"{f.name}Module", str | None,
                       described(f"Module of the {f.label} record."))
                ns.add(f.name, Node | None, strawberry.field(
                    resolver=signed(polymorphic_resolver(f.name), {}, Node | None),
                    description=f.description))
            else:
                target = self.types[f.targets[0]].node
                ns.add(f.name, target | None, strawberry.field(
                    resolver=signed(reference_resolver(f.targets[0], f"{f.name}Id"), {},
                                    target | None),
                    description=f.description))
            return
        annotation = OUTPUT_TYPES[kind.output_kind]
        if f.name not in NON_NULL:
            annotation = annotation | None
        ns.add(f.name, annotation, described(f.description, f.name))

    def _list_params(self, types: ModuleTypes) -> dict[str, tuple[Any, Any]]:
        return {
            "filter": (types.filter | None, None),
            "orderBy": (list[types.order] | None, None),  # type: ignore[name-defined]
            "first": (int | None, None),
            "after": (str | None, None),
            "last": (int | None, None),
            "before": (str | None, None),
        }

    # -- inputs ----------------------------------------------------------------

    def _fill_filter(self, types: ModuleTypes) -> None:
        module = types.module
        ns = Namespace()
        ns.add("and", list[types.filter] | None,  # type: ignore[name-defined]
               strawberry.field(default=strawberry.UNSET, name="and",
                                description="All of these hold."))
        ns.add("or", list[types.filter] | None,  # type: ignore[name-defined]
               strawberry.field(default=strawberry.UNSET, name="or",
                                description="Any of these holds."))
        ns.add("not", types.filter | None,
               strawberry.field(default=strawberry.UNSET, name="not",
                                description="This does not hold."))
        for f in module.fields:
            self._filter_field(ns, f)
        for related in self.model.lists_of(module.name):
            ns.add(related.name, self.types[related.target].list_filter | None,
                   described(f"Conditions on related {related.target} records.",
                             default=strawberry.UNSET))
        strawberry.input(ns.fill(types.filter),
                         description=f"Conditions on {module.plural_label}.")
        quantifiers = Namespace()
        quantifiers.add("some", types.filter | None,
                        described("At least one related record matches.", default=strawberry.UNSET))
        quantifiers.add("none", types.filter | None,
                        described("No related record matches.", default=strawberry.UNSET))
        strawberry.input(quantifiers.fill(types.list_filter),
                         description=f"Conditions on a list of {module.plural_label}.")

    def _filter_field(self, ns: Namespace, f: FieldDef) -> None:
        kind = f.type
        if isinstance(kind, ReferenceType):
            ns.add(f"{f.name}Id", FILTER_TYPES["ID"] | None,
                   described(f"Conditions on the {f.label} id.", default=strawberry.UNSET))
            if kind.is_polymorphic(f):
                ns.add(f"{f.name}Module", FILTER_TYPES["Picklist"] | None,
                       described(f"Conditions on the {f.label} module.", default=strawberry.UNSET))
            else:
                target = self.types[f.targets[0]].filter
                ns.add(f.name, target | None,
                       described(f"Conditions on the {f.label} record.", default=strawberry.UNSET))
            return
        ns.add(f.name, FILTER_TYPES[kind.filter_kind] | None,
               described(f"Conditions on {f.label}.", f.name, default=strawberry.UNSET))

    def _fill_order(self, types: ModuleTypes) -> None:
        ns = Namespace()
        for f in types.module.fields:
            if f.type.sortable:
                ns.add(f.name, OrderDirection | None,
                       described(f"Sort by {f.label}.", f.name, default=strawberry.UNSET))
        strawberry.input(ns.fill(types.order),
                         description=f"One sort key for {types.module.plural_label}: "
                                     "name exactly one field.")

    def _fill_inputs(self, types: ModuleTypes) -> None:
        module = types.module
        for cls, verb in ((types.create, "create"), (types.update, "change")):
            ns = Namespace()
            for f in module.fields:
                if f.writable:
                    self._input_field(ns, f)
            strawberry.input(ns.fill(cls), description=f"Values to {verb} a {module.label}.")

    def _input_field(self, ns: Namespace, f: FieldDef) -> None:
        kind = f.type
        text = f.description + (" Required." if f.required else "")
        if isinstance(kind, ReferenceType) and kind.is_polymorphic(f):
            annotation: Any = RecordRefInput
        else:
            annotation = INPUT_TYPES[kind.output_kind]
        name = input_name(f)
        ns.add(name, annotation | None, described(text, name, default=strawberry.UNSET))

    # -- root types ------------------------------------------------------------

    def _query(self) -> type:
        ns = Namespace()
        for types in self.types.values():
            module = types.module
            params = {**self._list_params(types),
                      "includeDeleted": (bool, False)}
            ns.add(module.api_list, types.connection | None, strawberry.field(
                resolver=signed(list_resolver(module.name), params, types.connection | None),
                description=f"{module.plural_label}, filtered, sorted and paged."))
            ns.add(module.api_single, types.node | None, strawberry.field(
                resolver=signed(one_resolver(module.name),
                                {"id": (strawberry.ID, ...)}, types.node | None),
                description=f"One {module.label} by id; null if there is none."))
        ns.add("node", Node | None, strawberry.field(
            resolver=signed(node_resolver(), {"id": (strawberry.ID, ...)}, Node | None),
            description="Any record by its id."))
        ns.add("metadataVersion", int, strawberry.field(
            resolver=lambda: self.snapshot.version,
            description="The metadata version this schema was built from."))
        bases = (MetadataQuery, AccessQuery, DirectoryQuery, TransferQuery)
        return strawberry.type(ns.fill(type("Query", bases, {})),
                               description="Read records of every module.")

    def _mutation(self) -> type:
        ns = Namespace()
        for types in self.types.values():
            self._module_mutations(ns, types)
        bases = (MetadataMutation, AccessMutation, DirectoryMutation, TransferMutation)
        return strawberry.type(ns.fill(type("Mutation", bases, {})),
                               description="Change records of every module.")

    def _module_mutations(self, ns: Namespace, types: ModuleTypes) -> None:
        m, node = types.module, types.node
        one_id = {"id": (strawberry.ID, ...)}
        plural = m.plural
        entries: list[tuple[str, Any, Any, dict[str, tuple[Any, Any]], str]] = [
            (f"create{m.name}", node, mutations.create_one(m), {"data": (types.create, ...)},
             f"Create {_article(m.label)} {m.label}."),
            (f"create{plural}", list[node], mutations.create_many(m),  # type: ignore[valid-type]
             {"data": (list[types.create], ...)},  # type: ignore[name-defined]
             f"Create several {m.plural_label} at once: all or none."),
            (f"update{m.name}", node, mutations.update_one(m),
             {**one_id, "data": (types.update, ...), "version": (int | None, None)},
             f"Change {_article(m.label)} {m.label}; with version, only if nobody changed "
             "it since."),
            (f"update{plural}", list[node], mutations.update_many(m),  # type: ignore[valid-type]
             {"filter": (types.filter, ...), "data": (types.update, ...)},
             f"Apply one change to every {m.label} matching a filter."),
            (f"delete{m.name}", node, mutations.set_deleted(m, True), one_id,
             f"Move {_article(m.label)} {m.label} to the recycle bin (restorable)."),
            (f"restore{m.name}", node, mutations.set_deleted(m, False), one_id,
             f"Bring a deleted {m.label} back."),
            (f"destroy{m.name}", strawberry.ID, mutations.destroy(m), one_id,
             f"Remove {_article(m.label)} {m.label} for good; returns its id."),
        ]
        for related in self.model.lists_of(m.name):
            if related.relation is None:
                continue
            suffix = related.name[0].upper() + related.name[1:]
            params = {**one_id, "ids": (list[strawberry.ID], ...)}
            entries += [
                (f"link{m.name}{suffix}", node, mutations.link(m, related.name, True), params,
                 f"Link {related.target} records to a {m.label}."),
                (f"unlink{m.name}{suffix}", node, mutations.link(m, related.name, False),
                 params, f"Unlink {related.target} records from a {m.label}."),
            ]
        for name, returns, fn, params, text in entries:
            ns.add(name, returns, strawberry.field(resolver=signed(fn, params, returns),
                                                   description=text))


def build_schema(model: DataModel) -> strawberry.Schema:
    return SchemaBuilder(model).build()


__all__ = ["RelatedList", "build_schema"]


def _article(word: str) -> str:
    """The indefinite article a description puts before ``word`` (by its first letter)."""
    return "an" if word[:1].lower() in "aeiou" else "a"
