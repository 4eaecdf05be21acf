"""The generated types of one module: record, edge, connection, filters, sort key and inputs.

They are made in two passes (see ``builder``): ``module_shells`` first, for every
module, then ``ModuleTypeFiller.fill``, which can refer to any module's shells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry

from defalto_gql.metadata.fieldtypes.reference import ReferenceType
from defalto_gql.metadata.model import FieldDef, ModuleDef
from defalto_gql.records.datamodel import MODULE_KEY, DataModel
from defalto_gql.records.validation import input_name
from defalto_gql.schema.attributes import Namespace, described
from defalto_gql.schema.common import (
    FILTER_TYPES,
    INPUT_TYPES,
    OUTPUT_TYPES,
    Node,
    OrderDirection,
    PageInfo,
    RecordRefInput,
)
from defalto_gql.schema.resolvers import (
    polymorphic_resolver,
    reference_resolver,
    related_resolver,
    signed,
)

# Built-in fields that are never empty.
NON_NULL = {"id", "createdAt", "updatedAt", "version", "createdById", "updatedById", "ownerId"}


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


def module_shells(module: ModuleDef) -> ModuleTypes:
    """Empty classes for every type of ``module``, so types can name each other before filling."""
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


def list_params(types: ModuleTypes) -> dict[str, tuple[Any, Any]]:
    """The arguments of a list of ``types`` records: filter, sort keys and Relay paging."""
    return {
        "filter": (types.filter | None, None),
        "orderBy": (list[types.order] | None, None),  # type: ignore[name-defined]
        "first": (int | None, None),
        "after": (str | None, None),
        "last": (int | None, None),
        "before": (str | None, None),
    }


class ModuleTypeFiller:
    """Fills the shells of each module; every module's shells must exist first."""

    def __init__(self, model: DataModel, types: dict[str, ModuleTypes]) -> None:
        self.model = model
        self.types = types

    # -- output types ----------------------------------------------------------

    def fill(self, types: ModuleTypes) -> None:
        """Decorate the shells of one module: its record, edge, connection and inputs."""
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
                resolver=signed(related_resolver(related), list_params(target),
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
