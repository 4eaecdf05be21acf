"""What resolvers find in ``info.context``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from defalto_gql.records.context import RecordContext


@dataclass
class RequestContext:
    """One GraphQL request: the records context (data model, user, loaders) and the request."""

    records: RecordContext
    request: Any = None
    runtime: Any = None
