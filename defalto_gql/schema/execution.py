"""A faster path through graphql-core for the plain fields of records.

A list of 100 accounts with 10 contacts each asks for thousands of scalar
fields. graphql-core resolves each through the full machinery (a resolve-info
object, argument coercion, the resolver wrapper, value completion); for a
field without arguments whose value is an attribute of its record that work
changes nothing. Such fields are read and serialised here directly; anything
unusual (an error, a null in a non-null field, a value that does not
serialise) goes the standard way, so results and errors stay identical.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from defalto_gql.schema.attributes import resolve_attribute

LEAVES = (GraphQLScalarType, GraphQLEnumType)


class RecordExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with plain leaf fields read straight from their source."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Field middleware (none is configured today) would have to see every field.
        manager = self.middleware_manager
        self._middleware = bool(manager and manager._middleware_resolvers)

    def execute_field(
        self, parent_type: GraphQLObjectType, source: Any, field_details_list: Any,
        path: Any, position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        field_def = parent_type.fields.get(node.name.value)
        if (
            field_def is not None
            and not node.arguments
            and not self._middleware
            and getattr(field_def.resolve, "_is_default", False)
        ):
            found = self._plain(field_def.type, source, node.name.value)
            if found is not _STANDARD:
                return found
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)

    @staticmethod
    def _plain(kind: Any, source: Any, name: str) -> Any:
        required = isinstance(kind, GraphQLNonNull)
        leaf = kind.of_type if required else kind
        if not isinstance(leaf, LEAVES):
            return _STANDARD
        try:
            value = resolve_attribute(source, name)
            if value is None:
                return _STANDARD if required else None
            return leaf.serialize(value)
        except Exception:
            # Let the standard path raise it, with its location and path.
            return _STANDARD


_STANDARD = object()
