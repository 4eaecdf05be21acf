"""A request's context in the records layer: who acts, on which data model, what loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from defalto_gql.access.policy import AccessPolicy
from defalto_gql.db.tables import Tables
from defalto_gql.metadata.model import Snapshot
from defalto_gql.records.datamodel import DataModel, Record, RelatedList

# Until access control arrives every request acts as this built-in user.
SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000001"


@dataclass
class RecordContext:
    """One request's view: the data model it started with, its user and its dataloaders."""

    engine: AsyncEngine
    model: DataModel
    user_id: str = SYSTEM_USER_ID
    max_page_size: int = 500
    default_page_size: int = 50
    loaders: dict[Any, Any] = field(default_factory=dict)
    policy: AccessPolicy | None = None

    def __post_init__(self) -> None:
        if self.policy is None:
            self.policy = AccessPolicy.system(self.user_id)

    @property
    def rights(self) -> AccessPolicy:
        assert self.policy is not None
        return self.policy

    def to_record(self, module: str, row: Any) -> Record:
        """A result row as the API sees it, with this user's hidden fields masked."""
        return self.model.to_record(module, row, self.rights.hidden(module))

    @property
    def snapshot(self) -> Snapshot:
        return self.model.snapshot

    @property
    def tables(self) -> Tables:
        return self.model.tables

    def related_list(self, module: str, name: str) -> RelatedList | None:
        return self.model.related_list(module, name)
