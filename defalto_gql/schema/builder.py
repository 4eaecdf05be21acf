"""Building the strawberry schema from a data model (a metadata snapshot and its tables).

Classes are created in two passes: first an empty class per generated type,
so types can refer to each other (Account.contacts -> Contact.account ->
Account), then their fields; strawberry resolves the annotations when the
schema is assembled.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig

from defalto_gql.records.datamodel import DataModel, RelatedList
from defalto_gql.schema.attributes import resolve_attribute
from defalto_gql.schema.execution import RecordExecutionContext
from defalto_gql.schema.module_types import ModuleTypeFiller, ModuleTypes, module_shells
from defalto_gql.schema.root_types import mutation_type, query_type

logger = logging.getLogger(__name__)


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
            self.types[module.name] = module_shells(module)
        filler = ModuleTypeFiller(self.model, self.types)
        for types in self.types.values():
            filler.fill(types)
        schema = schema_class(
            execution_context_class=RecordExecutionContext,
            query=query_type(self.model, self.types),
            extensions=extensions or [],
            mutation=mutation_type(self.model, self.types),
            types=[t.node for t in self.types.values()],
            config=StrawberryConfig(auto_camel_case=False, default_resolver=resolve_attribute),
        )
        logger.info(
            "schema built",
            extra={"version": self.snapshot.version, "modules": len(self.types),
                   "seconds": round(time.perf_counter() - started, 3)},
        )
        return schema


def build_schema(model: DataModel) -> strawberry.Schema:
    return SchemaBuilder(model).build()


__all__ = ["RelatedList", "build_schema"]
