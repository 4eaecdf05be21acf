"""Mutation resolvers for every module: create, update, delete, restore, destroy, link."""

from __future__ import annotations

from typing import Any

import strawberry

from defalto_gql.errors import BadUserInput
from defalto_gql.metadata.model import ModuleDef
from defalto_gql.records import writing
from defalto_gql.records.validation import input_name
from defalto_gql.schema.inputs import plain, record_id
from defalto_gql.schema.resolvers import Resolver, records


def field_names(module: ModuleDef) -> dict[str, str]:
    """Input names mapped to field names (``accountId`` -> ``account``)."""
    return {input_name(f): f.name for f in module.fields if f.writable}


def to_fields(module: ModuleDef, data: Any) -> dict[str, Any]:
    names = field_names(module)
    return {names.get(key, key): value for key, value in plain(data).items()}


def create_one(module: ModuleDef) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, data: Any) -> Any:
        created = await writing.create_many(records(info), module.name,
                                            [to_fields(module, data)], numbered=False)
        return created[0]

    return resolve


def create_many(module: ModuleDef) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, data: list[Any]) -> Any:
        items = [to_fields(module, item) for item in data]
        return await writing.create_many(records(info), module.name, items)

    return resolve


def update_one(module: ModuleDef) -> Resolver:
    async def resolve(
        root: Any, info: strawberry.Info, id: str, data: Any,
        version: int | None = None,
    ) -> Any:
        return await writing.update_one(records(info), module.name, record_id(id),
                                        to_fields(module, data), version)

    return resolve


def update_many(module: ModuleDef) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, filter: Any, data: Any) -> Any:
        where = plain(filter)
        if not where:
            raise BadUserInput("updating every record needs an explicit filter", field="filter")
        return await writing.update_many(records(info), module.name, where,
                                         to_fields(module, data))

    return resolve


def set_deleted(module: ModuleDef, deleted: bool) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, id: str) -> Any:
        return await writing.set_deleted(records(info), module.name, record_id(id),
                                         deleted=deleted)

    return resolve


def destroy(module: ModuleDef) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, id: str) -> Any:
        return await writing.destroy(records(info), module.name, record_id(id))

    return resolve


def link(module: ModuleDef, list_name: str, add: bool) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, id: str, ids: list[str]) -> Any:
        ctx = records(info)
        ident = record_id(id)
        others = [record_id(other, "ids") for other in ids]
        await writing.link(ctx, module.name, list_name, ident, others, add=add)
        found = await writing.records_for(ctx, module.name, [ident])
        return found[ident]

    return resolve
