"""Date and time field types: date, datetime (timestamptz), time."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Any

import sqlalchemy as sa
from dateutil.parser import isoparse

from defalto_gql.metadata.fieldtypes.base import FieldType, require_type
from defalto_gql.metadata.fieldtypes.numbers import ORDERED
from defalto_gql.metadata.model import FieldDef

DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# A date as parse_date_text reads it, then T or spaces, the time, and its offset if any.
DATE_AND_TIME = re.compile(
    r"(?P<date>[\d./-]+)(?:[Tt]| +)(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,6}))?)?"
    r" *(?P<zone>[Zz]|(?P<sign>[+-])(?P<zh>\d{2})(?::?(?P<zm>\d{2}))?)?", re.ASCII)


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


def parse_datetime_text(text: str, day_first: bool | None = False) -> dt.datetime:
    """A moment as people write it: a date, a time and the offset it must have.

    The date as ``parse_date_text`` reads it, then ``T`` or a space, the time and
    the time zone offset (``Z``, ``z``, ``+01:00``, ``+0100``, ``-05``):
    ``2023-12-31 10:00+01:00``, ``31.12.2023 10:00Z``, ``12/31/2023 10:00 -05:00``;
    and any ISO form the API takes. Without an offset the moment is unknown, so
    it is an error, never read as UTC. ``day_first`` orders a slashed date; None
    means the order is not known, and a slashed date is refused, not read either way.
    """
    cleaned = text.strip()
    found = DATE_AND_TIME.fullmatch(cleaned)
    if found and day_first is None and SLASHED.match(found["date"]):
        raise ValueError(f"{text!r}: a slashed date may be day or month first; write it "
                         "as 2023-12-31 or 31.12.2023")
    moment = None
    if found:
        with contextlib.suppress(ValueError):
            moment = _assembled(found, bool(day_first))
    if moment is None and not _date_alone(cleaned):
        # The API's own reading, which takes ISO forms the pattern does not (24:00).
        try:
            moment = isoparse(cleaned)
        except (ValueError, OverflowError):
            raise ValueError(f"{text!r} is not a date and time, such as "
                             "2023-12-31 10:00+01:00") from None
    if moment is None or moment.tzinfo is None:
        what = "a time zone offset at its end" if moment else "a time and a time zone offset"
        raise ValueError(f"{text!r} needs {what}, such as 2023-12-31 10:00+01:00 or "
                         "2023-12-31 09:00Z")
    return moment


def _date_alone(text: str) -> bool:
    """Whether ``text`` is a date with no time (in either order, if slashed)."""
    for day_first in (False, True):
        with contextlib.suppress(ValueError):
            parse_date_text(text, day_first)
            return True
    return False


def _assembled(found: re.Match[str], day_first: bool) -> dt.datetime:
    """The moment a DATE_AND_TIME match spells; ValueError for an impossible one."""
    day = parse_date_text(found["date"], day_first)
    fraction = int((found["fraction"] or "0").ljust(6, "0"))
    zone = None
    if found["zone"] in ("Z", "z"):
        zone = dt.UTC
    elif found["zone"]:
        offset = dt.timedelta(hours=int(found["zh"]), minutes=int(found["zm"] or 0))
        zone = dt.timezone(-offset if found["sign"] == "-" else offset)
    clock = dt.time(int(found["hour"]), int(found["minute"]), int(found["second"] or 0),
                    fraction)
    return dt.datetime.combine(day, clock, zone)


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
        # A slashed date's order is the field's, if it has one; else it is refused.
        order = f.options.get("dayFirst")
        return parse_datetime_text(text, None if order is None else bool(order))


class TimeType(FieldType):
    key = "time"
    output_kind = filter_kind = "Time"
    operators = ORDERED

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Time()

    def validate(self, f: FieldDef, value: Any) -> Any:
        require_type(value, dt.time, "a time of day")
        if value.tzinfo is not None:
            # The column holds the time alone: an offset would be dropped, silently.
            raise ValueError("is a time of day, stored without a time zone offset: "
                             f"give {value.replace(tzinfo=None).isoformat()} alone")
        return value

    def parse_text(self, f: FieldDef, text: str) -> Any:
        try:
            found = dt.time.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a time of day") from None
        if found.tzinfo is not None:
            raise ValueError(f"{text!r} has a time zone offset, which a time of day does "
                             f"not keep: write {found.replace(tzinfo=None).isoformat()}")
        return found
