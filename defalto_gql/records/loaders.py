"""Per-request dataloaders: every relation resolves in one statement per level, not per row.

Named after what they load and by which key, one instance per request and
argument set, kept in the request's ``RecordContext``.
"""

from __future__ import annotations

from aiodataloader import DataLoader

from defalto_gql.records.context import RecordContext
from defalto_gql.records.datamodel import Record, RelatedList
from defalto_gql.records.reading import ListArgs, Page, records_by_id, related_pages


class RecordByIdLoader(DataLoader[str, Record | None]):
    """Live records of one module by id (None for missing or deleted)."""

    def __init__(self, ctx: RecordContext, module: str) -> None:
        super().__init__()
        self.ctx, self.module = ctx, module

    async def batch_load_fn(self, keys: list[str]) -> list[Record | None]:
        found = await records_by_id(self.ctx, self.module, list(dict.fromkeys(keys)))
        return [found.get(k) for k in keys]


class RelatedPageByParentLoader(DataLoader[str, Page]):
    """One page of a related list per parent id, for one set of list arguments."""

    def __init__(
        self, ctx: RecordContext, related: RelatedList, args: ListArgs, with_total: bool
    ) -> None:
        super().__init__()
        self.ctx, self.related, self.args, self.with_total = ctx, related, args, with_total

    async def batch_load_fn(self, keys: list[str]) -> list[Page]:
        pages = await related_pages(self.ctx, self.related, list(dict.fromkeys(keys)),
                                    self.args, with_total=self.with_total)
        return [pages[k] for k in keys]


def record_loader(ctx: RecordContext, module: str) -> RecordByIdLoader:
    key = ("record", module)
    if key not in ctx.loaders:
        ctx.loaders[key] = RecordByIdLoader(ctx, module)
    loader: RecordByIdLoader = ctx.loaders[key]
    return loader


def related_loader(
    ctx: RecordContext, related: RelatedList, args: ListArgs, with_total: bool
) -> RelatedPageByParentLoader:
    key = ("related", related.owner, related.name, args.key(), with_total)
    if key not in ctx.loaders:
        ctx.loaders[key] = RelatedPageByParentLoader(ctx, related, args, with_total)
    loader: RelatedPageByParentLoader = ctx.loaders[key]
    return loader
