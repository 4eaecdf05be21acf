"""The root types: Query and Mutation over every module's records, with the fixed APIs mixed in."""

from __future__ import annotations

from typing import Any

import strawberry

from defalto_gql.records.datamodel import DataModel
from defalto_gql.schema import mutations
from defalto_gql.schema.access_api import AccessMutation, AccessQuery
from defalto_gql.schema.attributes import Namespace
from defalto_gql.schema.common import Node
from defalto_gql.schema.directory_api import DirectoryMutation, DirectoryQuery
from defalto_gql.schema.metadata_api import MetadataMutation, MetadataQuery
from defalto_gql.schema.module_types import ModuleTypes, list_params
from defalto_gql.schema.resolvers import list_resolver, node_resolver, one_resolver, signed
from defalto_gql.schema.transfer_api import TransferMutation, TransferQuery


def query_type(model: DataModel, module_types: dict[str, ModuleTypes]) -> type:
    """The Query root: lists and single records of every module, and the fixed APIs."""
    ns = Namespace()
    for types in module_types.values():
        module = types.module
        params = {**list_params(types), "includeDeleted": (bool, False)}
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
        resolver=lambda: model.snapshot.version,
        description="The metadata version this schema was built from."))
    bases = (MetadataQuery, AccessQuery, DirectoryQuery, TransferQuery)
    return strawberry.type(ns.fill(type("Query", bases, {})),
                           description="Read records of every module.")


def mutation_type(model: DataModel, module_types: dict[str, ModuleTypes]) -> type:
    """The Mutation root: record changes of every module, and the fixed APIs."""
    ns = Namespace()
    for types in module_types.values():
        _module_mutations(model, ns, types)
    bases = (MetadataMutation, AccessMutation, DirectoryMutation, TransferMutation)
    return strawberry.type(ns.fill(type("Mutation", bases, {})),
                           description="Change records of every module.")


def _module_mutations(model: DataModel, ns: Namespace, types: ModuleTypes) -> None:
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
    for related in model.lists_of(m.name):
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


def _article(word: str) -> str:
    """The indefinite article a description puts before ``word`` (by its first letter)."""
    return "an" if word[:1].lower() in "aeiou" else "a"
