"""Text-like field types: text, long text, email, phone, URL."""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

import sqlalchemy as sa

from defalto_gql.metadata.fieldtypes.base import FieldType, require_type, unstorable
from defalto_gql.metadata.model import FieldDef


class TextType(FieldType):
    key = "text"
    operators = ("eq", "neq", "in", "notIn", "is", "like", "ilike", "startsWith", "contains")
    default_length: ClassVar[int | None] = 255

    def max_length(self, f: FieldDef) -> int | None:
        found = f.options.get("maxLength", self.default_length)
        return int(found) if found else None

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        length = self.max_length(f)
        return sa.String(length) if length else sa.Text()

    def validate(self, f: FieldDef, value: Any) -> Any:
        require_type(value, str, "a string")
        length = self.max_length(f)
        if length and len(value) > length:
            raise ValueError(f"is {len(value)} characters long; at most {length} allowed")
        reason = unstorable(value)
        if reason:
            raise ValueError(reason)
        return self.check(value)

    def check(self, value: str) -> str:
        return value


class LongTextType(TextType):
    key = "longtext"
    sortable = False
    default_length = None


class EmailType(TextType):
    key = "email"
    default_length = 254
    # Deliberately loose: one @, no spaces, a dot in the domain. Mail servers
    # decide the rest; rejecting valid but unusual addresses loses customers.
    pattern = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    def check(self, value: str) -> str:
        if not self.pattern.match(value):
            raise ValueError("is not an email address")
        return value


class PhoneType(TextType):
    key = "phone"
    default_length = 40
    # Kept as typed (real data mixes +1-532-344-1362, (240)452-2332x4601 ...):
    # digits with the separators people use, and an extension.
    pattern = re.compile(r"^\+?[0-9 ().\-/]*[0-9][0-9 ().\-/]*((x|ext\.?|#)\s*[0-9]+)?$", re.I)

    def check(self, value: str) -> str:
        digits = sum(ch.isdigit() for ch in value)
        if not self.pattern.match(value.strip()) or digits < 3:
            raise ValueError("is not a phone number")
        return value


class UrlType(TextType):
    key = "url"
    default_length = 2048
    label = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
    host_pattern = re.compile(rf"^{label}(\.{label})+$", re.I)

    def check(self, value: str) -> str:
        # People write "www.example.com" as often as "https://www.example.com/";
        # both are kept exactly as typed.
        if " " in value.strip():
            raise ValueError("is not a web address")
        parts = urlsplit(value if "://" in value else f"http://{value}")
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not self.host_pattern.match(host):
            raise ValueError("is not a web address (http or https)")
        return value
