"""Numeric field types: integer, decimal, percent, rating, currency."""

from __future__ import annotations

import re
import unicodedata
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from defalto_gql.metadata.fieldtypes.base import FieldType, compare, require_type
from defalto_gql.metadata.model import FieldDef

ORDERED = ("eq", "neq", "in", "notIn", "gt", "gte", "lt", "lte", "is")
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
PLAIN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
# Room for any value that passed the size check, whatever its exponent.
_WIDE = Context(prec=1000, Emax=MAX_EMAX, Emin=MIN_EMIN)
# Between digit groups: comma, underscore, space, no-break space, narrow no-break space.
_SEPARATORS = " _,\u00a0\u202f"


def parse_number_text(text: str) -> Decimal:
    """Parse a number the way people type it.

    Rule: surrounding spaces are ignored; ``,`` and ``_`` and spaces (no-break
    spaces too) between digit groups are thousands separators; ``.`` is the
    decimal point. A value
    such as ``1.234,5`` is rejected rather than guessed, and so are exponents
    (``1e5``) and digits other than 0-9.
    """
    cleaned = text.strip()
    if re.search(rf"\d[{_SEPARATORS}]\d{{3}}", cleaned, re.ASCII):
        if not re.fullmatch(rf"[+-]?\d{{1,3}}([{_SEPARATORS}]\d{{3}})+(\.\d+)?", cleaned,
                            re.ASCII):
            raise ValueError(f"{text!r} is not a number")
        cleaned = re.sub(rf"[{_SEPARATORS}]", "", cleaned)
    # Plain digits 0-9 with an optional point: no exponent (1e5), no other scripts' digits.
    if not PLAIN.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a number")
    try:
        found = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not found.is_finite():
        raise ValueError(f"{text!r} is not a number")
    return found


def _word(text: str) -> bool:
    """Letters only (A to Z in any case): where a currency cell puts its code."""
    return text.isascii() and text.isalpha()


def check_range(f: FieldDef, value: Decimal | int) -> None:
    low, high = f.options.get("min"), f.options.get("max")
    if low is not None and value < Decimal(str(low)):
        raise ValueError(f"must be at least {low}")
    if high is not None and value > Decimal(str(high)):
        raise ValueError(f"must be at most {high}")


class IntegerType(FieldType):
    key = "integer"
    output_kind = filter_kind = "Int"
    operators = ORDERED

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Integer()

    def validate(self, f: FieldDef, value: Any) -> Any:
        require_type(value, int, "an integer")
        if not INT_MIN <= value <= INT_MAX:
            raise ValueError("is out of the integer range")
        check_range(f, value)
        return value

    def parse_text(self, f: FieldDef, text: str) -> Any:
        found = parse_number_text(text)
        if found != found.to_integral_value():
            raise ValueError(f"{text!r} is not a whole number")
        return int(found)


class DecimalType(FieldType):
    key = "decimal"
    output_kind = filter_kind = "Decimal"
    operators = ORDERED
    default_precision, default_scale = 18, 4

    def digits(self, f: FieldDef) -> tuple[int, int]:
        precision = int(f.options.get("precision", self.default_precision))
        return precision, int(f.options.get("scale", self.default_scale))

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.Numeric(*self.digits(f), asdecimal=True)

    def validate(self, f: FieldDef, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        require_type(value, Decimal, "a decimal number")
        return self.check_decimal(f, value)

    def check_decimal(self, f: FieldDef, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("is not a finite number")
        precision, scale = self.digits(f)
        # The size first, from the exponent alone: arithmetic on a number of a million
        # digits would overflow the decimal context.
        if value and value.adjusted() >= precision - scale:
            raise ValueError(f"is too large (at most {precision - scale} digits before the point)")
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        # Never round silently: more decimals than the column keeps is an error.
        if -exponent > scale and value != value.quantize(Decimal(1).scaleb(-scale),
                                                         context=_WIDE):
            raise ValueError(f"has more than {scale} decimal places")
        check_range(f, value)
        return value

    def parse_text(self, f: FieldDef, text: str) -> Any:
        return parse_number_text(text)

    def filter_operand(self, f: FieldDef, value: Any) -> Any:
        # Bound as plain NUMERIC: a cast to the column's NUMERIC(p, s) would round
        # the operand (999.989 > amount becoming 999.99 > amount).
        return sa.literal(value, sa.Numeric())


class PercentType(DecimalType):
    key = "percent"
    default_precision, default_scale = 9, 4


class RatingType(IntegerType):
    key = "rating"

    def sql_type(self, f: FieldDef) -> sa.types.TypeEngine[Any]:
        return sa.SmallInteger()

    def validate(self, f: FieldDef, value: Any) -> Any:
        require_type(value, int, "an integer")
        top = int(f.options.get("max", 5))
        if not 0 <= value <= top:
            raise ValueError(f"must be between 0 and {top}")
        return value


class CurrencyType(DecimalType):
    """An amount with its ISO 4217 code, in two columns: ``col`` and ``col_currency``."""

    key = "currency"
    output_kind = filter_kind = "Money"
    default_precision, default_scale = 18, 2
    # What the API takes as a currency code: three capital letters. It checks the form,
    # not the ISO 4217 list, so a code the list lacks (ZZZ) is taken too.
    code_pattern = re.compile(r"[A-Z]{3}")

    def currency_column(self, f: FieldDef) -> str:
        return f"{f.column}_currency"

    def columns(self, f: FieldDef) -> list[sa.Column[Any]]:
        return [
            sa.Column(f.column, self.sql_type(f), nullable=True),
            sa.Column(self.currency_column(f), sa.String(3), nullable=True),
        ]

    def column_names(self, f: FieldDef) -> list[str]:
        return [f.column, self.currency_column(f)]

    def read(self, f: FieldDef, row: Any) -> Any:
        amount = row[f.column]
        if amount is None:
            return None
        return {"amount": amount, "currency": row[self.currency_column(f)]}

    def write(self, f: FieldDef, value: Any) -> dict[str, Any]:
        if value is None:
            return {f.column: None, self.currency_column(f): None}
        amount, code = value.get("amount"), value.get("currency")
        if not isinstance(code, str) or not self.code_pattern.fullmatch(code):
            raise ValueError("currency must be a three-letter ISO 4217 code such as EUR")
        return {f.column: DecimalType.validate(self, f, amount), self.currency_column(f): code}

    def from_json(self, f: FieldDef, value: Any) -> Any:
        if isinstance(value, dict):
            amount = value.get("amount")
            plain = format(Decimal(str(amount)), "f") if isinstance(amount, int | float) \
                else str(amount)
            return {**value, "amount": parse_number_text(plain) if amount is not None
                    else None}
        return super().from_json(f, value)

    def parse_text(self, f: FieldDef, text: str) -> Any:
        """``1200.50 EUR`` or ``EUR 1200.50``, the code in any case.

        A bare amount takes the field's default currency (``defaultCurrency``), or
        the one the import's mapping names for the field (``currencies``, given to
        this parser as the default); without one it is an error: none is guessed.
        """
        parts = text.split()
        code = None
        if parts and _word(parts[-1]):
            code, parts = parts[-1], parts[:-1]
        elif parts and _word(parts[0]):
            code, parts = parts[0], parts[1:]
        if not parts:
            raise ValueError(f"{text.strip()!r} has no amount")
        if code is not None and not self.code_pattern.fullmatch(code.upper()):
            raise ValueError(f"{code!r} is not a currency code: write the three-letter "
                             "ISO 4217 code, such as 1200.50 EUR")
        amount = " ".join(parts)
        try:
            found = parse_number_text(amount)
        except ValueError:
            if any(unicodedata.category(ch) == "Sc" for ch in amount):
                raise ValueError(f"{amount!r}: a currency symbol is not read; write the "
                                 "three-letter ISO 4217 code, such as 1200.50 EUR") from None
            raise
        code = code.upper() if code else f.options.get("defaultCurrency")
        if not code:
            raise ValueError(f"{amount!r} needs a currency code, such as {amount} EUR")
        return {"amount": found, "currency": code}

    def filter_clause(
        self, f: FieldDef, table: sa.Table, op: str, operand: Any
    ) -> ColumnElement[bool]:
        # The schema layer passes ("amount"|"currency", operator) pairs as op.
        part, inner = op.split(".", 1)
        if part == "amount":
            return compare(table.c[f.column], inner, self._operand(f, inner, operand))
        return compare(table.c[self.currency_column(f)], inner, operand)
