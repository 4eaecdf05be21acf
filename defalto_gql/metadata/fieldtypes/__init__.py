"""The registry of field types, keyed by the name stored in metadata."""

from __future__ import annotations

from defalto_gql.metadata.fieldtypes.base import FieldType
from defalto_gql.metadata.fieldtypes.choice import (
    BooleanType,
    JsonType,
    MultiPicklistType,
    PicklistType,
)
from defalto_gql.metadata.fieldtypes.numbers import (
    CurrencyType,
    DecimalType,
    IntegerType,
    PercentType,
    RatingType,
)
from defalto_gql.metadata.fieldtypes.reference import (
    AutonumberType,
    IdType,
    OwnerType,
    ReferenceType,
)
from defalto_gql.metadata.fieldtypes.temporal import DateTimeType, DateType, TimeType
from defalto_gql.metadata.fieldtypes.text import (
    EmailType,
    LongTextType,
    PhoneType,
    TextType,
    UrlType,
)

FIELD_TYPES: dict[str, FieldType] = {
    t.key: t
    for t in (
        TextType(),
        LongTextType(),
        IntegerType(),
        DecimalType(),
        CurrencyType(),
        PercentType(),
        BooleanType(),
        DateType(),
        DateTimeType(),
        TimeType(),
        EmailType(),
        PhoneType(),
        UrlType(),
        PicklistType(),
        MultiPicklistType(),
        ReferenceType(),
        OwnerType(),
        RatingType(),
        JsonType(),
        AutonumberType(),
        IdType(),
    )
}


def field_type(key: str) -> FieldType:
    """The field type named ``key``; KeyError names the known ones."""
    try:
        return FIELD_TYPES[key]
    except KeyError:
        known = ", ".join(sorted(FIELD_TYPES))
        raise KeyError(f"unknown field type {key!r}; known types: {known}") from None


__all__ = ["FIELD_TYPES", "FieldType", "field_type"]
