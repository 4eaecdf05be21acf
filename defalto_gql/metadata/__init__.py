"""Module, field and relation definitions: the metadata every layer reads."""
