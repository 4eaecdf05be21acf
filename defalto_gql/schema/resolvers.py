"""Resolver factories: thin functions that call the records layer.

Each factory returns an async function with an explicit signature (built at
run time, since argument types are generated), which strawberry reads to
derive the field's arguments.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

from defalto_gql.records.context import RecordContext
from defalto_gql.records.datamodel import RelatedList
from defalto_gql.records.loaders import record_loader, related_loader
from defalto_gql.records.reading import ListArgs, Page, list_records, module_of
from defalto_gql.schema.inputs import plain, record_id

Resolver = Callable[..., Any]


def records(info: strawberry.Info) -> RecordContext:
    ctx: RecordContext = info.context.records
    return ctx


def signed(fn: Resolver, params: dict[str, tuple[Any, Any]], returns: Any) -> Resolver:
    """Give ``fn`` the signature ``(root, info, **params) -> returns`` for strawberry to read."""
    parameters = [
        inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          annotation=strawberry.Info),
    ]
    for name, (annotation, default) in params.items():
        parameters.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
            default=default if default is not ... else inspect.Parameter.empty,
        ))
    fn.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    fn.__annotations__ = {"info": strawberry.Info, "return": returns,
                          **{n: a for n, (a, _) in params.items()}}
    return fn


def wants(info: strawberry.Info, name: str) -> bool:
    """Whether the current field's selection asks for ``name`` (through fragments too)."""
    fragments = info._raw_info.fragments

    def search(selections: Any) -> bool:
        for node in selections:
            if isinstance(node, FieldNode) and node.name.value == name:
                return True
            if isinstance(node, InlineFragmentNode) and search(node.selection_set.selections):
                return True
            if isinstance(node, FragmentSpreadNode):
                fragment = fragments.get(node.name.value)
                if fragment and search(fragment.selection_set.selections):
                    return True
        return False

    return any(node.selection_set and search(node.selection_set.selections)
               for node in info._raw_info.field_nodes)


class Edge:
    """One edge of a connection; its cursor is made only if the query asks for it."""

    __slots__ = ("index", "node", "page")

    def __init__(self, page: Page, index: int) -> None:
        self.page, self.index, self.node = page, index, page.records[index]

    @property
    def cursor(self) -> str:
        return self.page.cursor(self.index)


class PageInfoView:
    """Relay's PageInfo over a page; cursors are made on demand."""

    __slots__ = ("page",)

    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def hasNextPage(self) -> bool:
        return self.page.has_next

    @property
    def hasPreviousPage(self) -> bool:
        return self.page.has_previous

    @property
    def startCursor(self) -> str | None:
        return self.page.cursor(0) if self.page.records else None

    @property
    def endCursor(self) -> str | None:
        return self.page.cursor(len(self.page.records) - 1) if self.page.records else None


def connection(page: Page) -> dict[str, Any]:
    return {
        "edges": [Edge(page, i) for i in range(len(page.records))],
        "pageInfo": PageInfoView(page),
        "totalCount": page.total,
    }


def list_args(kwargs: dict[str, Any]) -> ListArgs:
    return ListArgs(
        filter=plain(kwargs.get("filter")),
        order_by=plain(kwargs.get("orderBy")) or [],
        first=kwargs.get("first"),
        after=kwargs.get("after"),
        last=kwargs.get("last"),
        before=kwargs.get("before"),
        include_deleted=bool(kwargs.get("includeDeleted")),
    )


def list_resolver(module: str) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        page = await list_records(records(info), module, list_args(kwargs),
                                  with_total=wants(info, "totalCount"))
        return connection(page)

    return resolve


def one_resolver(module: str) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, id: str) -> Any:
        return await record_loader(records(info), module).load(record_id(id))

    return resolve


def reference_resolver(module: str, key: str) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info) -> Any:
        ident = root.get(key)
        if ident is None:
            return None
        return await record_loader(records(info), module).load(ident)

    return resolve


def polymorphic_resolver(key: str) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info) -> Any:
        ref = root.get(key)
        if ref is None or ref["module"] not in records(info).snapshot.modules:
            return None
        return await record_loader(records(info), ref["module"]).load(ref["id"])

    return resolve


def related_resolver(related: RelatedList) -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        loader = related_loader(records(info), related, list_args(kwargs),
                                wants(info, "totalCount"))
        return connection(await loader.load(root["id"]))

    return resolve


def node_resolver() -> Resolver:
    async def resolve(root: Any, info: strawberry.Info, id: str) -> Any:
        ctx = records(info)
        ident = record_id(id)
        # The loader is keyed by the canonical id: a raw upper-case one would miss.
        module = await module_of(ctx, ident)
        return None if module is None else await record_loader(ctx, module).load(ident)

    return resolve
