"""API names as attributes of the classes the schema builder generates, and reading them back.

A generated class gets its fields as annotations and ``strawberry.field``
values; an API name that is a Python keyword becomes an attribute with a
trailing underscore, and the default resolver finds the value under either.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Any

import strawberry

from defalto_gql.records.datamodel import Record


def python_name(name: str) -> str:
    """API names are used as Python attribute names; keywords get a trailing underscore."""
    return f"{name}_" if keyword.iskeyword(name) else name


def resolve_attribute(source: Any, name: str) -> Any:
    """The default resolver: records read their rows; connection parts are dicts or objects."""
    if type(source) is Record:
        return source.get(name)
    if isinstance(source, dict):
        if name in source:
            return source[name]
        return source.get(name[:-1]) if name.endswith("_") else None
    return getattr(source, name)


@dataclass
class Namespace:
    """Annotations and attributes of a class being generated."""

    annotations: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, annotation: Any, value: Any) -> None:
        key = python_name(name)
        self.annotations[key] = annotation
        self.attributes[key] = value

    def fill(self, cls: type) -> type:
        cls.__annotations__ = self.annotations
        for key, value in self.attributes.items():
            setattr(cls, key, value)
        return cls


def described(text: str, name: str | None = None, **kwargs: Any) -> Any:
    if name is not None and keyword.iskeyword(name):
        kwargs["name"] = name
    return strawberry.field(description=text, **kwargs)
