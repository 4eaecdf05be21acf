"""Date and time field types: date, datetime (timestamptz), time."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import sqlalchemy as sa

from defalto_gql.metadata.fieldtypes.base import FieldType, require_type
from defalto_gql.metadata.fieldtypes.numbers import ORDERED
from defalto_gql.metadata.model import FieldDef

DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date_text(text: str, day_first: bool = False) -> dt.date:
    """A date as people write it: ISO, ``31.12.2023``, ``20231231``, or slashed.

    Slashed dates are ambiguous; ``day_first`` says which order the source uses
    (month first, the US order, unless told). Impossible dates are errors.
    """
    cleaned = text.strip()
    try:
        if match := DMY.match(cleaned):
            day, month, year = map(int, match.groups())
        elif match := SLASHED.match(cleaned):
            first, second, year = map(int, match.groups())
            day, month = (first, second) if day_first else (second, first)
        elif match := COMPACT.match(cleaned):
            year, month, day = map(int, match.groups())
        else:
            return dt.date.fromisoformat(cleaned)
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a date") from None


class DateType(FieldType):
    key = "date"
    output_kind = filter_kind = "Date"
    operators = ORDERED

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Date()

    def validate(self, f: FieldDef, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            raise ValueError("expected a date without a time")
        require_type(value, dt.date, "a date")
        return value

    def parse_text(self, f: FieldDef, text: str) -> Any:
        return parse_date_text(text, bool(f.options.get("dayFirst", False)))


class DateTimeType(FieldType):
    key = "datetime"
    output_kind = filter_kind = "DateTime"
    operators = ORDERED

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.DateTime(timezone=True)

    def validate(self, f: FieldDef, value: Any) -> Any:
        require_type(value, dt.datetime, "a date and time")
        if value.tzinfo is None:
            raise ValueError("needs a time zone offset, such as 2024-05-01T09:30:00+02:00")
        # Stored in UTC: 9999-12-31T23:00:00-05:00 is a moment of the year 10000.
        try:
            value.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError(f"{value.isoformat()} is outside the years 1 to 9999 in UTC"
                             ) from None
        return value

    def filter_operand(self, f: FieldDef, value: Any) -> Any:
        return self.validate(f, value)

    def parse_text(self, f: FieldDef, text: str) -> Any:
        try:
            found = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO date and time") from None
        return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


class TimeType(FieldType):
    key = "time"
    output_kind = filter_kind = "Time"
    operators = ORDERED

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Time()

    def validate(self, f: FieldDef, value: Any) -> Any:
        require_type(value, dt.time, "a time of day")
        return value

    def parse_text(self, f: FieldDef, text: str) -> Any:
        try:
            return dt.time.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a time of day") from None
