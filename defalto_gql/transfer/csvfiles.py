"""Reading and writing CSV files as people send them.

Reading streams: a file is decoded as it is read (UTF-8 with or without a
byte-order mark unless another encoding is declared), the delimiter is sniffed
from the header line unless given, and every record comes with the physical
line it starts on, so reports can point at it even when quoted cells hold
line breaks.

Cells that a spreadsheet would run as a formula are protected on export with
one leading apostrophe; ``unprotect`` removes exactly that apostrophe on
import (see ``protect`` for the rule).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

DELIMITERS = (",", ";", "\t")
# A cell a spreadsheet would evaluate starts with one of these (OWASP adds tab and CR).
FORMULA_START = "=+-@\t\r"
_PROTECTED = re.compile(r"^'*[=+\-@\t\r]")


class CsvFileError(ValueError):
    """The file as a whole cannot be read: wrong encoding, no header, unknown delimiter."""


def protect(text: str) -> str:
    """Text a spreadsheet shows as is: one apostrophe before a formula-like value.

    The rule: a value that starts with ``= + - @`` (or tab, carriage return),
    possibly after apostrophes, gets one more apostrophe in front. ``unprotect``
    strips exactly one apostrophe from such values, so ``'=x`` exports as
    ``''=x`` and every value comes back exactly.
    """
    return f"'{text}" if _PROTECTED.match(text) else text


def unprotect(text: str) -> str:
    """Undo ``protect``: drop one apostrophe when the rest looks like a formula."""
    if text.startswith("'") and _PROTECTED.match(text[1:]):
        return text[1:]
    return text


class _CountingReader(io.RawIOBase):
    """A raw binary stream that counts the bytes read, for the progress bar."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


def codec_name(encoding: str | None) -> str:
    """The codec to decode with; UTF-8 skips a byte-order mark when there is one."""
    name = codecs.lookup(encoding or "utf-8").name
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of ``,`` ``;`` and tab outside quotes in the header line."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    # A one-column file has no delimiter at all; a comma reads it correctly.
    return best if counts[best] else ","


@dataclass
class CsvTable:
    """An open CSV file: its header and a stream of (line number, cells)."""

    header: list[str]
    delimiter: str
    size: int
    _counter: _CountingReader
    _rows: Iterator[tuple[int, list[str]]]
    _text: io.TextIOWrapper

    @property
    def bytes_read(self) -> int:
        return self._counter.count

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        return self._rows

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> CsvTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_table(path: Path, encoding: str | None = None, delimiter: str | None = None
               ) -> CsvTable:
    """Open ``path`` for streaming; header cells lose stray spaces."""
    counter = _CountingReader(path.open("rb"))
    text = io.TextIOWrapper(io.BufferedReader(counter), encoding=codec_name(encoding),
                            newline="")
    try:
        first = text.readline()
    except UnicodeDecodeError as exc:
        text.close()
        raise _decode_error(encoding, 1, exc) from None
    if not first.strip():
        text.close()
        raise CsvFileError("the file is empty: the first line must name the columns")
    chosen = delimiter or sniff_delimiter(first)
    reader = csv.reader(_chain(first, text), delimiter=chosen)
    header = [cell.strip() for cell in next(reader)]
    rows = _numbered(reader, encoding)
    return CsvTable(header, chosen, path.stat().st_size, counter, rows, text)


def _chain(first: str, rest: io.TextIOWrapper) -> Iterator[str]:
    yield first
    yield from rest


def _numbered(reader: Any, encoding: str | None) -> Iterator[tuple[int, list[str]]]:
    line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise _decode_error(encoding, reader.line_num + 1, exc) from None
        except csv.Error as exc:
            raise CsvFileError(f"line {reader.line_num}: {exc}") from None
        start, line = line + 1, reader.line_num
        # Blank lines (often at the end of a file) are not records.
        if cells and any(cell.strip() for cell in cells):
            yield start, cells


def _decode_error(encoding: str | None, line: int, exc: UnicodeDecodeError) -> CsvFileError:
    name = codec_name(encoding)
    hint = " (a file saved by Excel on Windows is often cp1252: give --encoding cp1252)" \
        if name == "utf-8-sig" else ""
    return CsvFileError(f"line {line} is not valid {name}{hint}: {exc.reason}")


def writer(out: IO[str], header: list[str], delimiter: str = ",") -> Any:
    """A CSV writer on ``out`` with the header written (CRLF line ends, as RFC 4180)."""
    found = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    found.writerow(header)
    return found
