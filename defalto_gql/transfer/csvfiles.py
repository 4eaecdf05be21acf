"""Reading and writing CSV files as people send them.

Reading streams: a file is decoded as it is read (UTF-8 with or without a
byte-order mark unless another encoding is declared; UTF-16 or UTF-32 when its
byte-order mark says so), the delimiter is sniffed
from the header line unless given (or named by Excel's ``sep=;`` first line),
and every record comes with the physical line it starts on, so reports can
point at it even when quoted cells hold line breaks. ``CsvTable.check`` reads
the whole file once without keeping anything, so an import finds problems
with the file as a whole (bytes of another encoding, a quote never closed)
before it writes a row.

A record whose quotes are malformed (``"a"b"``: text after a closing quote) is
one the csv module would silently read as something else (``ab"``); it comes
as ``Malformed`` cells, which say why (``fault``), so its row is rejected and
the others are read.

Cells that a spreadsheet would run as a formula are protected on export with
one leading apostrophe; ``unprotect`` removes exactly that apostrophe on
import (see ``protect`` for the rule).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

DELIMITERS = (",", ";", "\t")
# A cell a spreadsheet would evaluate starts with one of these (OWASP adds tab and CR;
# a line feed too can stand before a formula that some spreadsheets then run).
FORMULA_START = "=+-@\t\r\n"
_PROTECTED = re.compile(r"^'*[=+\-@\t\r\n]")
_LINE_END = re.compile(r"\r\n|\r|\n")
# The longest cell the CSV reader accepts (its own default is 131,072). Any cell a
# field can hold reaches validation, which rejects the row naming the column; a
# longer one is a file error. The reader holds one record, so this bounds memory.
FIELD_LIMIT = 16 * 2**20
# Excel's first line naming the delimiter, "sep=;": one character, nothing else.
_SEP_HINT = re.compile(r"sep=([^\r\n])(?:\r\n|\r|\n)?")


class CsvFileError(ValueError):
    """The file as a whole cannot be read: wrong encoding, no header, unknown delimiter."""


class Malformed(list[str]):
    """The cells of a record whose quotes are malformed, as the csv module read them.

    ``cell`` is the index of the first malformed cell; ``reason`` says what is wrong.
    """

    def __init__(self, cells: list[str], cell: int, reason: str) -> None:
        super().__init__(cells)
        self.cell = cell
        self.reason = reason


def fault(cells: list[str], header: list[str]) -> tuple[str | None, str] | None:
    """Why a record cannot be read as written, with the column at fault; None if it can."""
    if not isinstance(cells, Malformed):
        return None
    return (header[cells.cell] if cells.cell < len(header) else None), cells.reason


def _guarded(text: str) -> bool:
    """Whether ``protect`` puts an apostrophe before ``text``.

    A formula-like start (``= + - @``, tab, carriage return or line feed, possibly
    after apostrophes) would run in a spreadsheet; white space at either end
    (spaces, a no-break space, a final line break) would be read as layout and
    stripped by the import.
    """
    if _PROTECTED.match(text):
        return True
    bare = text.lstrip("'")
    return bool(bare) and (bare[0].isspace() or text[-1].isspace())


def protect(text: str) -> str:
    """Text a spreadsheet shows as is and the import reads back exactly.

    The rule: a value that starts with ``= + - @`` (or tab, carriage return, line
    feed), possibly after apostrophes, or that starts or ends with white space,
    gets one more apostrophe in front. ``cell_value`` strips exactly one
    apostrophe from such cells and keeps the rest as written, so ``'=x`` exports
    as ``''=x``, `` Ann `` as ``' Ann `` and every value comes back exactly.
    """
    return f"'{text}" if _guarded(text) else text


def unprotect(text: str) -> str:
    """Undo ``protect``: drop one apostrophe when the rest is a value it guards."""
    if text.startswith("'") and _guarded(text[1:]):
        return text[1:]
    return text


def cell_value(cell: str) -> str:
    """What a cell of an imported file holds.

    Spaces around a cell are layout, not data (Febrl writes ``, waller``), and
    are stripped, except in a cell ``protect`` wrote: an apostrophe followed by
    a value it guards is that value exactly, its white space included.
    """
    if cell.startswith("'") and _guarded(cell[1:]):
        return cell[1:]
    return unprotect(cell.strip())


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
    try:
        info = codecs.lookup(encoding or "utf-8")
    except LookupError:
        raise CsvFileError(f"unknown encoding {encoding!r}; for example utf-8, cp1252, "
                           "latin-1") from None
    # Codecs such as rot13 or base64 exist but do not read text files, and
    # "undefined" exists to refuse everything.
    try:
        "abc".encode(info.name).decode(info.name)
        text = bool(getattr(info, "_is_text_encoding", True))
    except (UnicodeError, TypeError, LookupError):
        text = False
    if not text:
        raise CsvFileError(f"{encoding!r} is not a text encoding")
    name = info.name
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

    path: Path
    encoding: str | None
    header: list[str]
    delimiter: str
    size: int
    _counter: _CountingReader
    _rows: Iterator[tuple[int, list[str]]]
    _text: io.TextIOWrapper
    _lines: _Lines

    @property
    def bytes_read(self) -> int:
        return self._counter.count

    @property
    def blank_rows(self) -> int:
        """Records read so far whose cells are all empty (``,`` or ``  ,  ``), not yielded."""
        return self._lines.blank

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        return self._rows

    def check(self) -> None:
        """Decode and parse the whole file once, keeping nothing; CsvFileError on a problem.

        An import runs this before writing anything, so a file that cannot be
        read to its end (bytes of another encoding, broken CSV structure) stops
        it with nothing written. Memory stays flat: one record at a time.
        """
        with _decoding(self.path.open("rb"), self.encoding) as text:
            first, delimiter, skipped = _begin(text, self.path, self.encoding, self.delimiter)
            _, rows, _ = _records(first, text, delimiter, self.path, self.encoding, skipped)
            for _ in rows:
                pass

    def close(self) -> None:
        self._text.close()

    def __enter__(self) -> CsvTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def usable_delimiter(delimiter: str) -> bool:
    """A tab, or one printable punctuation character: not a quote, a space, a letter or digit."""
    return delimiter == "\t" or (
        len(delimiter) == 1 and delimiter.isascii() and delimiter.isprintable()
        and not delimiter.isalnum() and delimiter not in "\" '")


def open_table(path: Path, encoding: str | None = None, delimiter: str | None = None
               ) -> CsvTable:
    """Open ``path`` for streaming; header cells lose stray spaces and a protecting apostrophe."""
    if delimiter is not None and not usable_delimiter(delimiter):
        raise CsvFileError(f"the delimiter is a tab or one punctuation character such as "
                           f", ; |, not {delimiter!r}")
    encoding = encoding or _marked_encoding(path)
    counter = _CountingReader(path.open("rb"))
    text = _decoding(io.BufferedReader(counter), encoding)
    try:
        first, chosen, skipped = _begin(text, path, encoding, delimiter)
        header, rows, lines = _records(first, text, chosen, path, encoding, skipped)
    except BaseException:
        text.close()
        raise
    return CsvTable(path, encoding, header, chosen, path.stat().st_size, counter, rows, text,
                    lines)


def _marked_encoding(path: Path) -> str | None:
    """UTF-16 or UTF-32 named by the file's byte-order mark (None: read it as UTF-8)."""
    with path.open("rb") as raw:
        start = raw.read(4)
    if start.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _decoding(raw: io.BufferedReader, encoding: str | None) -> io.TextIOWrapper:
    return io.TextIOWrapper(raw, encoding=codec_name(encoding), newline="")


def _begin(text: io.TextIOWrapper, path: Path, encoding: str | None, delimiter: str | None
           ) -> tuple[str, str, int]:
    """The header line, the delimiter, and how many lines came before the header.

    Excel may start a file with ``sep=;``, naming its delimiter: then the header
    is the next line, and a delimiter given otherwise must be the same one.
    """
    first = _first_line(text, path, encoding)
    hint = _SEP_HINT.fullmatch(first)
    if hint is None:
        return first, delimiter or sniff_delimiter(first), 0
    named = hint[1]
    if not usable_delimiter(named):
        raise CsvFileError(f"line 1 names the delimiter {named!r} ({first.strip()}), which "
                           "cannot be one: a tab or one punctuation character such as , ; |")
    if delimiter is not None and delimiter != named:
        raise CsvFileError(f"line 1 names the delimiter {named!r} ({first.strip()}), but "
                           f"{delimiter!r} was given: give {named!r}, or none")
    return _first_line(text, path, encoding, skipped=1), named, 1


def _first_line(text: io.TextIOWrapper, path: Path, encoding: str | None, skipped: int = 0
                ) -> str:
    """The header line, after ``skipped`` lines (a ``sep=`` line); blank lines are an error."""
    try:
        first = text.readline()
    except UnicodeError:
        raise _decode_error(path, encoding) from None
    if not _blank(first):
        return first
    blank = 1
    try:
        while (line := text.readline()) and _blank(line):
            blank += 1
    except UnicodeError:
        raise _decode_error(path, encoding) from None
    if not line:
        raise CsvFileError("the file is empty: the first line must name the columns" if
                           not skipped else "the file names no columns after its sep= line")
    start, end = skipped + 1, skipped + blank
    lines = f"line {start} is blank" if blank == 1 else f"lines {start} to {end} are blank"
    where = "the first line" if not skipped else f"line {start}, after the sep= line"
    raise CsvFileError(f"{lines}: the header naming the columns must be {where} "
                       f"(it seems to be line {end + 1}; remove the blank lines above it)")


def _blank(line: str) -> bool:
    """A line with nothing but spaces and delimiters: no header, whatever the delimiter."""
    return not line.strip(" \t\r\n" + "".join(DELIMITERS))


def _records(first: str, rest: io.TextIOWrapper, delimiter: str, path: Path,
             encoding: str | None, skipped: int = 0
             ) -> tuple[list[str], Iterator[tuple[int, list[str]]], _Lines]:
    """The header, the records after it with the line each starts on, and the lines.

    ``skipped`` lines came before the header (a ``sep=`` line): every line number
    reported counts them, so it is the file's own.
    """
    # Process-wide, but only ever raised: see FIELD_LIMIT.
    csv.field_size_limit(FIELD_LIMIT)
    lines = _Lines(first, rest, delimiter, skipped)
    reader = csv.reader(iter(lines), delimiter=delimiter)
    cells = _record(reader, lines, path, encoding)
    if cells is None:
        raise CsvFileError("the file is empty: the first line must name the columns")
    if isinstance(cells, Malformed):
        raise CsvFileError(f"line {skipped + 1}, the header: column {cells.cell + 1}: "
                           f"{cells.reason}")
    # A header protected like any cell (a rejects file's) reads as the name it protects.
    header = [unprotect(cell.strip()) for cell in cells]
    for index, name in enumerate(header, 1):
        # Column names end up in reports stored as JSON, which PostgreSQL refuses with NUL.
        if "\x00" in name:
            raise CsvFileError(f"the header holds a NUL character: column {index} ({name!r})")
    return header, _numbered(reader, lines, path, encoding), lines


class _Lines:
    """The file's lines, then one line break more, noting when they have run out.

    The extra line break ends a last record written without one, so a record the
    reader still returns after the lines ran out was inside quotes at the end of
    the file: a quote opened and never closed. (The csv module would return the
    rest of the file as that record's last cell, silently.)

    The lines of the record being read are kept (``taken``), so its quotes can be
    checked as written (``malformed``). ``skipped`` lines came before the first.
    """

    def __init__(self, first: str, rest: io.TextIOWrapper, delimiter: str, skipped: int = 0
                 ) -> None:
        self.first = first
        self.rest = rest
        self.delimiter = delimiter
        self.skipped = skipped
        self.done = False
        self.taken: list[str] = []
        # Records whose cells are all empty, counted by _numbered.
        self.blank = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._all():
            self.taken.append(line)
            yield line
        self.done = True

    def _all(self) -> Iterator[str]:
        yield self.first
        yield from self.rest
        yield "\n"

    def malformed(self, cells: list[str]) -> list[str]:
        """The record just read, as ``Malformed`` cells when its quotes are malformed."""
        if not any('"' in line for line in self.taken):
            return cells
        found = _quote_fault("".join(self.taken), self.delimiter)
        return cells if found is None else Malformed(cells, *found)


def _unclosed(line_num: int, cell: str) -> CsvFileError:
    """The error for a quote never closed; ``cell`` holds the text from it to the end.

    ``line_num`` counts the file's lines (a ``sep=`` line included) and the extra one.
    """
    text = cell[:-1]
    # Line ends in the file: the lines read, less the extra one, less an unended last line.
    ends = line_num - 1 - (0 if text.endswith(("\n", "\r")) else 1)
    line = 1 + ends - len(_LINE_END.findall(text))
    return CsvFileError(f"line {line}: a quote opens a cell that is never closed "
                        "(the rest of the file would be one cell)")


def _record(reader: Any, lines: _Lines, path: Path, encoding: str | None
            ) -> list[str] | None:
    """The next record's cells (None at the end), with file errors at their true line."""
    lines.taken = []
    try:
        cells: list[str] = next(reader)
    except StopIteration:
        return None
    except UnicodeError:
        raise _decode_error(path, encoding) from None
    except csv.Error as exc:
        raise _csv_error(reader.line_num + lines.skipped, exc) from None
    if lines.done:
        raise _unclosed(reader.line_num + lines.skipped, cells[-1])
    return lines.malformed(cells)


def _numbered(reader: Any, lines: _Lines, path: Path, encoding: str | None
              ) -> Iterator[tuple[int, list[str]]]:
    line = reader.line_num
    while True:
        cells = _record(reader, lines, path, encoding)
        if cells is None:
            return
        start, line = line + 1, reader.line_num
        # An empty line (often at the end of a file) is no record; a row of empty
        # cells is one, counted as blank rather than imported.
        if cells and any(cell.strip() for cell in cells):
            yield start + lines.skipped, cells
        elif cells:
            lines.blank += 1


@functools.cache
def _cell_patterns(delimiter: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A quoted cell (spaces may follow its closing quote) and a cell not quoted."""
    spaces = re.escape(" \t".replace(delimiter, ""))
    stop = re.escape(delimiter)
    quoted = re.compile(rf'"(?:[^"]|"")*"[{spaces}]*')
    # Not quoted: no quote after leading spaces, which would look quoted and is not.
    bare = re.compile(rf'(?! *")[^{stop}\r\n]*')
    return quoted, bare


def _quote_fault(record: str, delimiter: str) -> tuple[int, str] | None:
    """The first cell of a record (its text as written) whose quotes are malformed, and why.

    The csv module reads such a cell as something else, silently: ``"a"b"`` as
    ``ab"``, and `` "a,b"`` (a quote after spaces) as two cells `` "a`` and ``b"``.
    A quote inside a cell that does not start with one (``12" pipe``) is text.
    """
    quoted, bare = _cell_patterns(delimiter)
    # The line end that closes the record is no part of its last cell.
    end = len(record) - next((len(e) for e in ("\r\n", "\r", "\n") if record.endswith(e)), 0)
    position, index = 0, 0
    while True:
        found = quoted.match(record, position, end) or bare.match(record, position, end)
        if found is None:
            return index, ("spaces stand before the quote that opens the cell: a quoted "
                           "cell starts with its quote, right after the delimiter")
        position = found.end()
        if position == end:
            return None
        if record[position] != delimiter:
            return index, ('text follows the quote that closes the cell: inside a quoted '
                           'cell a quote is written twice ("")')
        position, index = position + 1, index + 1


def _csv_error(line: int, exc: csv.Error) -> CsvFileError:
    if "field limit" in str(exc):
        return CsvFileError(f"line {line}: a cell is longer than {FIELD_LIMIT:,} characters, "
                            "the most an import reads")
    return CsvFileError(f"line {line}: {exc}")


def _decode_error(path: Path, encoding: str | None) -> CsvFileError:
    name = codec_name(encoding)
    line, reason = _undecodable(path, name)
    utf8 = name == "utf-8-sig"
    hint = " (a file saved by Excel on Windows is often cp1252: give the encoding cp1252)" \
        if utf8 else ""
    # utf-8-sig is UTF-8 that may start with a byte-order mark: people call it UTF-8.
    return CsvFileError(f"line {line} is not valid {'utf-8' if utf8 else name}{hint}: {reason}")


def _undecodable(path: Path, codec: str) -> tuple[int, str]:
    """The physical line of the first bytes ``codec`` cannot decode, and why.

    The text layer decodes ahead of the CSV reader, so the reader's line count
    lags behind the bytes that failed; this reads the file again, counting
    line ends (CRLF, CR or LF, as the reader splits lines) in the decoded text.
    """
    decoder = codecs.getincrementaldecoder(codec)()
    ends, held = 0, ""
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 16):
            try:
                text = held + decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                good = exc.object[: exc.start].decode(exc.encoding, "replace")
                return ends + len(_LINE_END.findall(held + good)) + 1, exc.reason
            except UnicodeError as exc:
                # UTF-16 or UTF-32 without a byte-order mark: the byte order is unknown.
                return ends + 1, f"{exc}; name the byte order, as {codec}-le or {codec}-be"
            # A CR at the end of a chunk may be the first half of a CRLF.
            text, held = (text[:-1], "\r") if text.endswith("\r") else (text, "")
            ends += len(_LINE_END.findall(text))
    # Only reached when the file changed since the failure: the end is the best guess.
    return ends + 1, "undecodable bytes"


def writer(out: IO[str], header: list[str], delimiter: str = ",") -> Any:
    """A CSV writer on ``out`` with the header written (CRLF line ends, as RFC 4180)."""
    found = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    found.writerow(header)
    return found
