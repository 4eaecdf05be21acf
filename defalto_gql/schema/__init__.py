"""The GraphQL layer: a metadata snapshot becomes a strawberry schema with thin resolvers."""
