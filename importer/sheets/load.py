"""Load one sheet (a CSV file or one worksheet of a workbook) as a frame of cell texts.

Downstream stages rely on three promises made here: every cell is the text the user typed (or
missing when the cell is empty), the index is the row number the user sees in a spreadsheet, and
an unusable file ends as one ``InputError`` sentence, never as any other exception.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import gc
import hashlib
import io
import os
import re
import time
import warnings
import weakref
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from python_calamine import (
    CalamineSheet,
    CalamineWorkbook,
    PasswordError,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from schemas.text import clip, column_letter, header_key, quote

from ..errors import InputError
from . import guard
from .limits import DEFAULT_LIMITS, Limits, exceeded

__all__ = [
    "CHUNK_ROWS",
    "HEADER_SEARCH_ROWS",
    "LoadedSheet",
    "SheetReader",
    "join_chunks",
    "load_sheet",
    "open_sheet",
]

Cell = int | float | str | bool | dt.time | dt.date | dt.datetime | dt.timedelta
Format = Literal["xlsx", "ods", "ole", "zip", "text"]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

_DELIMITERS: Final = (",", ";", "\t", "|")  # order breaks ties: ',' wins
_WORKBOOK_SUFFIXES: Final = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
# Zip-based formats can never legitimately hold plain text; a '.xls' often does (web portals
# export TSV or CSV under that name), so text inside a '.xls' is read as CSV.
_ZIP_SUFFIXES: Final = frozenset({".xlsx", ".xlsm", ".xlsb", ".ods"})
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE: Final = "EncryptedPackage".encode("utf-16-le")  # OLE stream of a locked xlsx
# BOF record (0x0809, 16 bytes) of BIFF8 workbook globals: version 0x0600, type 0x0005.
_BIFF8_GLOBALS_BOF: Final = b"\x09\x08\x10\x00\x00\x06\x05\x00"
_PASSWORD_WORDS: Final = re.compile(r"password|encrypt", re.IGNORECASE)
_SNIFF_BYTES: Final = 1 << 16
#: Rows per chunk when a sheet is read in pieces. Measured on a million-row CSV (validate, peak
#: RSS of the run plus its rejections.xlsx writer): 16k rows 357 MB / 48 s, 24k 382 MB / 39 s,
#: 32k 408 MB / 34 s; pandas and pandera cost about 4 KB a row while a chunk is checked.
CHUNK_ROWS: Final = 49_152
# Arrow parses a CSV in blocks of this many bytes; small blocks keep its read-ahead small.
_BLOCK_BYTES: Final = 1 << 18
# Characters of each value a message lists (sheets, headers).
_LISTED_CHARS: Final = 20
# Characters of the file's path a message shows (a path can be as long as the OS allows).
_SHOWN_PATH: Final = 100
# Excel keeps 15 significant digits: a whole number at or beyond this has already lost digits, so
# it is shown the way Excel shows it (scientific) for validation to flag, not as a wrong integer.
_EXACT_LIMIT: Final = 1e15
_CONTROL_BYTES: Final = bytes(range(0x00, 0x09)) + bytes(range(0x0E, 0x20))
_CONTROL_CHARS: Final = re.compile("[\x00-\x08\x0e-\x1f]")
_UNPRINTABLE: Final = re.compile("[\x00-\x1f\x7f\u2028\u2029]")
_ONLY_SEPARATORS: Final = re.compile(r"[\s,;|]*")
#: The header is the first row, among this many non-blank rows, that has a 'name' column; the
#: rows above it are a title block (carrier sheets often open with a title and a version line).
HEADER_SEARCH_ROWS: Final = 50
_SAW_FIELDS: Final = re.compile(r"Expected \d+ fields in line \d+, saw (\d+)")
_OPEN_QUOTE: Final = re.compile(r"EOF inside string starting at row (\d+)")


@dataclass(frozen=True, eq=False)  # eq=False: field-wise == on a DataFrame is ambiguous
class LoadedSheet:
    path: Path
    #: Worksheet name; for CSV the file name (e.g. 'carriers.csv').
    sheet: str
    #: Header texts (stripped) in column order; unnamed columns holding data are '(column F)'.
    headers: tuple[str, ...]
    #: columns == headers; cells are str or missing, not stripped; index = spreadsheet row numbers.
    frame: pd.DataFrame
    #: Data rows without a non-whitespace cell: skipped, counted, never the end of the data.
    blank_rows: int
    #: Row number -> non-empty cells beyond the header width (the row stays in frame, truncated).
    extra_cells: dict[int, int]
    sha256: str
    #: CSV: 'utf-8', 'utf-8-sig', 'utf-16' or 'cp1252'; None for workbooks.
    encoding: str | None
    #: CSV: the detected delimiter; None for workbooks.
    delimiter: str | None
    #: Spreadsheet letter of each header's column (headers skip dropped columns, so their
    #: positions are not letters).
    column_letters: tuple[str, ...] = ()
    #: Non-blank rows above the header (a title block; in CSV '#' comment lines too): never data.
    title_rows: int = 0
    #: Spreadsheet row number of the header.
    header_row: int = 1


@dataclass(frozen=True)
class _Keys:
    """Which header keys (``header_key``) locate the header row, and which may not repeat."""

    #: Keys of the 'name' column: the header row is the first row holding one.
    name: frozenset[str]
    #: Keys of parameter columns: only these may not appear twice. None: no key may.
    parameters: frozenset[str] | None = None


def load_sheet(
    path: str | Path,
    sheet: str | None = None,
    *,
    name_aliases: Iterable[str] = (),
    limits: Limits = DEFAULT_LIMITS,
    name_keys: Iterable[str] | None = None,
    parameter_keys: Iterable[str] | None = None,
) -> LoadedSheet:
    """Read ``path`` (CSV, XLSX/XLSM/XLSB, XLS or ODS, told apart by content) into a LoadedSheet.

    ``sheet`` picks a worksheet (ignored for CSV, which has one); by default the first worksheet
    whose header row has a 'name' column. The header row is the first row (among the first
    ``HEADER_SEARCH_ROWS`` non-blank ones) that has a 'name' column; rows above it are title rows.
    ``name_aliases`` are extra headers (e.g. from a mapping file) that also count as the 'name'
    column; ``name_keys`` (``header_key``s) replaces the set of 'name' headers instead. With
    ``parameter_keys``, only headers with those keys must not repeat (other repeated headers are
    kept apart as 'text (column G)'). Raises InputError for any unusable input, ``limits``
    exceeded included.
    """
    reader = open_sheet(
        path,
        sheet,
        name_aliases=name_aliases,
        name_keys=name_keys,
        parameter_keys=parameter_keys,
        limits=limits,
    )
    if reader.whole is not None:
        return reader.whole
    return join_chunks(reader)


def join_chunks(reader: SheetReader) -> LoadedSheet:
    """Every chunk of ``reader`` as one LoadedSheet; InputError if no row holds data."""
    chunks = list(reader.chunks())
    if not any(len(chunk.frame) for chunk in chunks):
        raise InputError(f"{reader.shown} has no data rows")
    if len(chunks) == 1:
        return chunks[0]
    extra: dict[int, int] = {}
    for chunk in chunks:
        extra.update(chunk.extra_cells)
    return _with_rows(
        chunks[0],
        pd.concat([chunk.frame for chunk in chunks]),
        blank_rows=sum(chunk.blank_rows for chunk in chunks),
        extra_cells=extra,
    )


class SheetReader:
    """One sheet, opened: its header and identity at once, its rows chunk by chunk.

    A well-formed UTF-8 CSV is streamed by Arrow's CSV reader, so no more than a chunk of it is
    ever in memory; anything else (workbooks, other encodings, ragged rows, blank lines) is read
    whole by ``load_sheet``'s careful path and then handed out in chunks. A streamed CSV that
    turns out ragged halfway switches to the careful path for the rest, so both paths give the
    same rows, row numbers and counts.
    """

    def __init__(
        self,
        meta: LoadedSheet,
        *,
        whole: LoadedSheet | None,
        shown: str,
        keys: _Keys,
        chunk_rows: int = CHUNK_ROWS,
        ends_with_newline: bool = True,
        limits: Limits = DEFAULT_LIMITS,
        shape: guard.TextShape | None = None,
    ) -> None:
        self.meta = meta  # path, sheet, headers, sha256, encoding, ... (its frame is empty)
        self.whole = whole
        self.shown = shown
        self.keys = keys
        self.chunk_rows = chunk_rows
        self.block_bytes = _BLOCK_BYTES  # tests lower it to cross block boundaries in a small file
        self.ends_with_newline = ends_with_newline
        self.limits = limits
        self.shape = shape  # what the guard's scan found; None: check every chunk

    def chunks(self, headers: Sequence[str] | None = None) -> Iterator[LoadedSheet]:
        """Every data row once, in order, as LoadedSheets of about ``chunk_rows`` rows.

        ``headers`` keeps only those columns (all by default). Each chunk's ``blank_rows`` and
        ``extra_cells`` are its own; summed over the chunks they are the sheet's. A streamed
        chunk may still hold blank rows when only some columns are read.
        """
        wanted = list(self.meta.headers if headers is None else headers)
        if self.whole is not None:
            yield from self._slices(self.whole, wanted, after=0, blank_rows=self.whole.blank_rows)
            return
        done = self.meta.header_row  # row number of the last row handed out
        blank = 0
        try:
            for frame, rows_read, blank_rows in self._stream(wanted):
                done += rows_read
                blank += blank_rows
                if len(frame) or blank_rows:
                    yield _with_rows(self.meta, frame, blank_rows=blank_rows, extra_cells={})
        except pa.ArrowInvalid:
            # A ragged row, an empty line or a runaway quote: the careful path reads the file
            # again and says what is wrong, or goes on from the row after the last one given.
            whole = _load_whole(self.meta.path, self.shown, None, self.keys, self.limits)
            if whole.headers != self.meta.headers:
                raise InputError(f"{self.shown} changed while it was being read") from None
            yield from self._slices(whole, wanted, after=done, blank_rows=whole.blank_rows - blank)

    def _slices(
        self, whole: LoadedSheet, wanted: list[str], *, after: int, blank_rows: int
    ) -> Iterator[LoadedSheet]:
        frame = whole.frame[wanted] if wanted != list(whole.headers) else whole.frame
        if after:
            frame = frame[frame.index > after]
        if not len(frame):
            if blank_rows:
                yield _with_rows(whole, frame, blank_rows=blank_rows, extra_cells={})
            return
        for start in range(0, len(frame), self.chunk_rows):
            part = frame.iloc[start : start + self.chunk_rows]
            low, high = int(part.index[0]), int(part.index[-1])
            extra = {row: n for row, n in whole.extra_cells.items() if low <= row <= high}
            yield _with_rows(
                whole, part, blank_rows=blank_rows if start == 0 else 0, extra_cells=extra
            )

    def _stream(self, wanted: list[str]) -> Iterator[tuple[pd.DataFrame, int, int]]:
        """(frame without blank rows, records read, blank rows among them), chunk by chunk."""
        meta = self.meta
        # Arrow reads a quote still open at the end of the file as running to the end, where
        # pandas (the careful path) says the file is broken. A last line of our own tells them
        # apart: if it does not come back as its own row, a quote swallowed it.
        width = len(meta.headers)
        end = (b"" if self.ends_with_newline else b"\n") + (
            (meta.delimiter or ",").encode().join([_SENTINEL.encode()] * width) + b"\n"
        )
        with guard.open_regular(os.fspath(meta.path), self.shown, self.limits) as file:
            # Only Arrow holds the source (see _batches): no frame of ours keeps it alive.
            yield from self._batches(_WithLastLine(file, end), wanted)

    def _batches(
        self, source: _WithLastLine, wanted: list[str]
    ) -> Iterator[tuple[pd.DataFrame, int, int]]:
        meta = self.meta
        positions = [meta.headers.index(h) for h in wanted]
        names = [f"c{i}" for i in range(len(meta.headers))]
        released = weakref.ref(source)
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(
                column_names=names,
                skip_rows=meta.header_row,  # the title lines and the header
                block_size=self.block_bytes,
                use_threads=False,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=meta.delimiter or ",",
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,  # an empty line is a row: it must switch paths
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={names[i]: pa.large_string() for i in positions},
                include_columns=[names[i] for i in positions],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],  # only truly empty cells are missing: 'NA', 'null' stay text
            ),
        )
        del source
        first = meta.header_row + 1
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        checks = _BatchChecks(self)
        # A limit exceeded is raised once the reader has reached the end, so its read-ahead
        # is over (see below); the rest is only read, never kept.
        failed: InputError | None = None
        try:
            for batch in reader:
                if failed is None:
                    failed = checks.check(batch)
                if failed is not None:
                    continue
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows <= self.chunk_rows:
                    continue
                table = pa.Table.from_batches(pending)
                start = 0
                # '>' keeps at least the last row back: it must be the sentinel line.
                while pending_rows - start > self.chunk_rows:
                    yield self._frame(table.slice(start, self.chunk_rows), wanted, first)
                    first += self.chunk_rows
                    start += self.chunk_rows
                pending = table.slice(start).to_batches()
                pending_rows -= start
            if failed is not None:
                raise failed
            table = pa.Table.from_batches(pending, schema=reader.schema)
            if not table.num_rows or any(
                table.column(i)[-1].as_py() != _SENTINEL for i in range(table.num_columns)
            ):
                raise pa.ArrowInvalid("a quoted value runs to the end of the file")
            if table.num_rows > 1:
                yield self._frame(table.slice(0, table.num_rows - 1), wanted, first)
        finally:
            # Arrow's read-ahead thread lets go of the source (a Python object, so under the
            # GIL) after the last batch; a process that exits before it has is aborted by
            # std::terminate (exit 134, apache/arrow#34314). Once the source is gone no Arrow
            # thread calls into Python again.
            reader.close()
            del reader
            deadline = time.monotonic() + _RELEASE_WAIT
            while released() is not None and time.monotonic() < deadline:
                time.sleep(0.001)

    def _frame(
        self, table: pa.Table, wanted: list[str], first: int
    ) -> tuple[pd.DataFrame, int, int]:
        # No combine_chunks(): the frame reads the batches in place instead of a copy of them.
        count = table.num_rows
        columns = [pd.Series(column, dtype="str") for column in table.columns]
        rows = np.arange(first, first + count, dtype=np.int64)
        # Blank rows cannot be told apart from a few columns: with a subset, keep them all.
        keep: BoolArray = np.ones(count, dtype=bool)
        if len(wanted) == len(self.meta.headers):
            keep = _any_filled(columns)
        if not keep.all():
            taken = np.flatnonzero(keep)
            columns = [column.take(taken) for column in columns]
            rows = rows[taken]
        frame = pd.DataFrame(
            {h: column.array for h, column in zip(wanted, columns, strict=True)},
            index=pd.Index(rows, dtype="int64"),
        )
        return frame, count, int(count - keep.sum())


_SENTINEL: Final = "\x01sip-import end\x01"
# Seconds to wait for Arrow to let go of a streamed CSV's source (see SheetReader._batches).
_RELEASE_WAIT: Final = 5.0


class _BatchChecks:
    """The row count and cell lengths of a streamed CSV, checked batch by batch, when the
    guard's scan could not rule out that they exceed their limits."""

    def __init__(self, reader: SheetReader) -> None:
        self.reader = reader
        limits, shape = reader.limits, reader.shape
        self.count_rows = shape is None or shape.lines > limits.rows
        self.measure_cells = shape is None or shape.longest_line > limits.cell_chars
        # Records after the header, the sentinel line among them: as many as the sheet's rows.
        self.records = 0

    def check(self, batch: pa.RecordBatch) -> InputError | None:
        """The limit ``batch`` takes the sheet past, if any."""
        limits, shown = self.reader.limits, self.reader.shown
        if self.count_rows:
            self.records += batch.num_rows
            if self.records > limits.rows:
                return exceeded(f"{shown} has more than {limits.rows:,} rows", "rows", limits)
        if self.measure_cells:
            for column in batch.columns:
                longest = pc.max(pc.utf8_length(column)).as_py()
                if longest is not None and longest > limits.cell_chars:
                    return _cell_too_long(shown, limits)
        return None


class _WithLastLine(io.RawIOBase):
    """A file, then a few more bytes (see ``SheetReader._stream``)."""

    def __init__(self, file: io.BufferedReader, end: bytes) -> None:
        self._file = file
        self._end = end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._file.readinto(buffer)
        if count:
            return count
        part, self._end = self._end[: len(buffer)], self._end[len(buffer) :]
        buffer[: len(part)] = part
        return len(part)

    def close(self) -> None:
        self._file.close()
        super().close()


def open_sheet(
    path: str | Path,
    sheet: str | None = None,
    *,
    name_aliases: Iterable[str] = (),
    name_keys: Iterable[str] | None = None,
    parameter_keys: Iterable[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    limits: Limits = DEFAULT_LIMITS,
) -> SheetReader:
    """Open ``path`` to read it chunk by chunk (see ``SheetReader``); arguments as ``load_sheet``.

    Header problems, unreadable files and files past ``limits`` raise InputError here, before
    any row is read (a streamed CSV's exact row count, when the scan could not bound it, is
    checked as its rows are read).
    """
    shown = _shown_path(path)
    file = Path(path)
    keys = _Keys(
        frozenset({"name", *(_column_key(alias) for alias in name_aliases)})
        if name_keys is None
        else frozenset(name_keys),
        None if parameter_keys is None else frozenset(parameter_keys),
    )
    digest = _TextDigest()
    shape = _check_input(file, shown, limits, digest)
    streamed = _streamable_csv(file, shown, keys, digest if shape is not None else None)
    if streamed is not None:
        ends_with_newline, meta = streamed
        return SheetReader(
            meta,
            whole=None,
            shown=shown,
            keys=keys,
            chunk_rows=chunk_rows,
            ends_with_newline=ends_with_newline,
            limits=limits,
            shape=shape,
        )
    whole = _load_whole(file, shown, sheet, keys, limits, shape)
    return SheetReader(
        whole, whole=whole, shown=shown, keys=keys, chunk_rows=chunk_rows, limits=limits
    )


def _shown_path(path: str | Path) -> str:
    """The path as the user typed it, on one line; a long one keeps its end, the file name."""
    text = _UNPRINTABLE.sub("?", os.fspath(path))
    if len(text) <= _SHOWN_PATH:
        return text
    return "…" + text[len(text) - _SHOWN_PATH + 1 :]


class _TextDigest:
    """What the guard's pass over a text file also tells the CSV reader: the first bytes, the
    last one, NUL bytes, UTF-8 validity and the SHA-256 (so the file is read once for all)."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.head = b""
        self.last = b""
        self.nul = False
        self.valid_utf8 = True

    def __call__(self, block: bytes) -> None:
        if not self.head:
            self.head = block[:_SNIFF_BYTES]
        self.nul = self.nul or b"\x00" in block
        self.sha256.update(block)
        if self.valid_utf8:
            try:
                self.utf8.decode(block)
            except UnicodeDecodeError:
                self.valid_utf8 = False
        self.last = block[-1:]

    def utf8_ends_well(self) -> bool:
        try:
            self.utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
        return self.valid_utf8


def _check_input(
    file: Path, shown: str, limits: Limits, digest: _TextDigest | None = None
) -> guard.TextShape | None:
    """The guard's checks (see ``importer.sheets.guard``) before any parser sees the file; for a
    text file, what its scan found (and ``digest`` saw its bytes)."""
    with guard.open_regular(os.fspath(file), shown, limits) as stream:
        head = stream.read(_SNIFF_BYTES)
        stream.seek(0)
        if head.startswith(b"PK"):
            is_zip = guard.check_zip(stream, shown, limits)
            if is_zip or head.startswith(b"PK\x03\x04"):
                return None  # a zip, or a damaged one, which the workbook reader will word
            stream.seek(0)  # text that starts with 'PK'
        if head.startswith(_OLE_MAGIC):
            return None  # .xls: its size is its limit (calamine reads no compressed parts)
        return guard.scan_text(stream, shown, limits, guard.text_codec(head), digest)


def _with_rows(
    meta: LoadedSheet, frame: pd.DataFrame, *, blank_rows: int, extra_cells: dict[int, int]
) -> LoadedSheet:
    """``meta`` (a sheet's identity) with these rows; the headers follow the frame's columns."""
    headers = tuple(str(h) for h in frame.columns)
    letters = meta.column_letters
    if headers != meta.headers and letters:
        letters = tuple(letters[meta.headers.index(h)] for h in headers)
    return LoadedSheet(
        path=meta.path,
        sheet=meta.sheet,
        headers=headers,
        frame=frame,
        blank_rows=blank_rows,
        extra_cells=extra_cells,
        sha256=meta.sha256,
        encoding=meta.encoding,
        delimiter=meta.delimiter,
        column_letters=letters,
        title_rows=meta.title_rows,
        header_row=meta.header_row,
    )


def _load_whole(
    file: Path,
    shown: str,
    sheet: str | None,
    keys: _Keys,
    limits: Limits,
    shape: guard.TextShape | None = None,
) -> LoadedSheet:
    data = _read_bytes(file, shown, limits)
    digest = hashlib.sha256(data).hexdigest()
    suffix = file.suffix.lower()
    kind = _sniff_format(data)
    if kind != "text":
        # A zip whose parts are not where Excel puts them may still be a package calamine
        # reads: it decides, and only its failure is an error.
        with _cyclic_gc_paused():
            return _load_workbook(file, shown, data, digest, sheet, keys, kind, suffix, limits)
    if suffix in _ZIP_SUFFIXES:
        raise _unreadable_workbook(shown, kind, suffix)
    return _load_csv(
        file, shown, data, digest, keys, limits, shape, excel_name=suffix in _WORKBOOK_SUFFIXES
    )


def _streamable_csv(
    file: Path, shown: str, keys: _Keys, scanned: _TextDigest | None
) -> tuple[bool, LoadedSheet] | None:
    """(the file ends with a line break, the sheet's identity) for a plain UTF-8 CSV with a
    clean one-line header, from what the guard's pass saw (``scanned``; None: no text scan).

    None sends the file down the careful whole-file path (which also words every error).
    """
    if scanned is None or file.suffix.lower() in _ZIP_SUFFIXES:
        return None
    head, last, digest = scanned.head, scanned.last, scanned.sha256
    if head.startswith((b"PK", _OLE_MAGIC)) or scanned.nul or not scanned.utf8_ends_well():
        return None
    bom = head.startswith(codecs.BOM_UTF8)
    body = head[len(codecs.BOM_UTF8) :] if bom else head
    if not body or guard.utf16_order(body):
        return None
    controls = len(body) - len(body.translate(None, _CONTROL_BYTES))
    if controls * 100 > len(body):
        return None
    text = body.decode("utf-8", errors="ignore")
    found = _sniff_header(text, keys)
    lines = io.StringIO(text, newline="").readlines()[: found.line + 2]
    if len(lines) < found.line + 2 or found.quoted_title:
        return None  # a one-line file, or a title with quotes: rare, and the careful path knows
    line = lines[found.line].rstrip("\r\n")
    if '"' in line:
        return None  # a quoted header: rare, and the careful path knows
    delimiter, width = found.delimiter, found.width
    fields = line.split(delimiter)
    headers = tuple(field.strip() for field in fields)
    header_keys = [_column_key(h) for h in headers]
    if (
        len(fields) != width
        or not all(headers)
        or len(set(header_keys)) != len(header_keys)
        or not keys.name & set(header_keys)
    ):
        return None
    return last in (b"\n", b"\r"), LoadedSheet(
        path=file,
        sheet=file.name,
        headers=headers,
        frame=pd.DataFrame(),
        blank_rows=0,
        extra_cells={},
        sha256=digest.hexdigest(),
        encoding="utf-8-sig" if bom else "utf-8",
        delimiter=delimiter,
        column_letters=tuple(column_letter(i + 1) for i in range(width)),
        title_rows=found.title_lines,
        header_row=found.line + 1,
    )


# --- shared ---------------------------------------------------------------------------------


def _column_key(text: str) -> str:
    # '_'-prefixed columns are a rejections report's own (_row, _errors) when it is fed back in;
    # keying them apart keeps '_row' from colliding with a sheet's 'row' or counting as 'name'.
    if text.startswith("_"):
        return "_" + header_key(text[1:])
    return header_key(text)


def _listing(items: Sequence[str], limit: int = 8) -> str:
    # Shorter quotes than a lone value's: eight 80-character headers would make a 700-character
    # line, where a few words of each tell them apart.
    shown = ", ".join(quote(item, _LISTED_CHARS) for item in items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def _read_bytes(file: Path, shown: str, limits: Limits) -> bytes:
    data = guard.read_all(os.fspath(file), shown, limits)
    if not data:
        raise InputError(f"{shown} is empty (0 bytes)")
    return data


def _sniff_format(data: bytes) -> Format:
    if data.startswith(_OLE_MAGIC):
        return "ole"
    if not data.startswith(b"PK"):
        return "text"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:80] if "mimetype" in names else b""
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        # A truncated zip has lost its directory (at the end), but its first members' names
        # still tell a workbook; text that merely starts with "PK" lands here too.
        if not data.startswith(b"PK\x03\x04"):
            return "text"
        head = data[:_SNIFF_BYTES]
        if b"opendocument" in head[:200]:
            return "ods"
        return "xlsx" if b"[Content_Types].xml" in head or b"xl/" in head else "zip"
    except Exception:  # the zip module is parsing untrusted bytes; any failure = not a workbook
        return "zip"
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if "content.xml" in names and (not mimetype or b"opendocument" in mimetype):
        return "ods"
    return "zip"


def _not_excel(shown: str) -> InputError:
    return InputError(f"{shown} is not an Excel file (nor a CSV text file with a 'name' column)")


def _not_a_sheet(shown: str) -> InputError:
    return InputError(f"{shown} is neither a CSV text file nor a spreadsheet workbook")


def _password_protected(shown: str) -> InputError:
    return InputError(f"{shown} is password-protected (save a copy without a password)")


def _encrypted(data: bytes, kind: Format) -> bool:
    """Whether a workbook is encrypted, in any of the three ways the formats have."""
    if kind == "ole":
        # An encrypted .xlsx is an OLE file with an EncryptedPackage stream; an encrypted .xls
        # has a FILEPASS record (0x002F) right after the BOF of its workbook globals.
        if _ENCRYPTED_PACKAGE in data:
            return True
        at = data.find(_BIFF8_GLOBALS_BOF)
        return at >= 0 and data[at + 20 : at + 22] == b"\x2f\x00"
    if kind in ("ods", "zip"):
        # An encrypted .ods keeps its manifest in clear, with encryption data for each part.
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                manifest = archive.read("META-INF/manifest.xml")[: 1 << 20]
        except Exception:  # not a readable zip or no manifest: not an encrypted .ods
            return False
        return b"encryption-data" in manifest
    return False


def _unreadable_workbook(shown: str, kind: Format, suffix: str) -> InputError:
    if kind == "zip" and suffix not in _WORKBOOK_SUFFIXES:
        return _not_a_sheet(shown)  # a zip that calamine cannot read, not named as a workbook
    if suffix == ".ods" or (kind == "ods" and suffix not in _WORKBOOK_SUFFIXES):
        return InputError(
            f"{shown} is not a readable OpenDocument spreadsheet "
            "(it may be truncated or not really .ods)"
        )
    really = suffix if suffix in _WORKBOOK_SUFFIXES else (".xls" if kind == "ole" else ".xlsx")
    return InputError(
        f"{shown} is not a readable Excel workbook (it may be truncated or not really {really})"
    )


def _nonblank(column: pd.Series) -> BoolArray:
    filled = column.notna() & ~column.str.isspace().fillna(False).astype(bool)
    return filled.to_numpy(dtype=bool)


def _any_filled(columns: Sequence[pd.Series]) -> BoolArray:
    """Rows with at least one filled cell.

    Each column is read only for the rows still blank: most sheets fill their first column, so
    the other columns are looked at for a few rows instead of every row.
    """
    keep = _nonblank(columns[0]).copy()  # to_numpy may hand back a read-only view
    for column in columns[1:]:
        blank = np.flatnonzero(~keep)
        if not blank.size:
            break
        keep[blank] = _nonblank(column.iloc[blank])
    return keep


@dataclass(frozen=True, eq=False)
class _Table:
    headers: tuple[str, ...]
    letters: tuple[str, ...]
    frame: pd.DataFrame
    blank_rows: int
    extra_cells: dict[int, int]
    title_rows: int
    header_row: int


def _assemble(
    columns: Sequence[pd.Series],
    row_numbers: IntArray,
    *,
    first_column: int,
    min_width: int,
    where: str,
    keys: _Keys,
) -> _Table:
    """Find the header row, name the columns, drop blank rows and count cells past the header.

    ``columns`` are str-dtype Series, missing where a cell is empty, one per column of the
    parsed grid (which may be wider than the header); ``row_numbers`` label the grid's rows.
    """
    filled = np.column_stack([_nonblank(column) for column in columns])
    used_rows = np.flatnonzero(filled.any(axis=1))
    if used_rows.size == 0:
        raise InputError(f"{where} has no header row (it is blank)")
    top = _header_position(columns, filled, used_rows[:HEADER_SEARCH_ROWS], keys)
    title_rows = int((used_rows < top).sum())
    header_row = int(row_numbers[top])
    named = np.flatnonzero(filled[top])
    width = min(max(min_width, int(named[-1]) + 1), len(columns))
    body = filled[top + 1 :]
    holds_data: BoolArray = np.asarray(body[:, :width].any(axis=0))

    headers: list[str] = []
    letters: list[str] = []
    positions: list[int] = []
    for j in range(width):
        letter = column_letter(first_column + j + 1)
        text = str(columns[j].iloc[top]).strip() if filled[top, j] else ""
        if not text:
            if not holds_data[j]:
                continue  # an unnamed, empty column (e.g. from a trailing delimiter)
            text = f"(column {letter})"
        headers.append(text)
        letters.append(letter)
        positions.append(j)

    first_seen: dict[str, int] = {}
    texts: set[str] = set()
    for i, text in enumerate(headers):
        key = _column_key(text)
        if key in first_seen and (keys.parameters is None or key in keys.parameters):
            j = first_seen[key]
            raise InputError(
                f"columns {letters[j]} and {letters[i]} of {where} both mean "
                f"{quote(key, _LISTED_CHARS)} ({quote(headers[j], _LISTED_CHARS)} and "
                f"{quote(text, _LISTED_CHARS)})"
            )
        if text in texts:  # a repeated column that is no parameter: kept, under its own label
            headers[i] = text = f"{text} (column {letters[i]})"
        texts.add(text)
        first_seen.setdefault(key, i)
    if not keys.name & first_seen.keys():
        raise InputError(
            f"{where} has no 'name' column (its header row, row {header_row}, has "
            f"{_listing(headers)})"
        )

    keep = body.any(axis=1)
    kept = np.flatnonzero(keep) + (top + 1)
    if kept.size == 0:
        raise InputError(f"{where} has no data rows")
    extra_cells: dict[int, int] = {}
    if len(columns) > width:
        counts = filled[kept, width:].sum(axis=1)
        hits = np.flatnonzero(counts)
        extra_cells = dict(
            zip(row_numbers[kept[hits]].tolist(), counts[hits].tolist(), strict=True)
        )

    # Keeping a contiguous tail avoids a gather per column in the usual no-blank-rows case.
    contiguous = kept.size == len(row_numbers) - top - 1
    frame = pd.DataFrame(
        {
            text: (columns[j].iloc[top + 1 :] if contiguous else columns[j].take(kept)).array
            for text, j in zip(headers, positions, strict=True)
        },
        index=pd.Index(row_numbers[kept], dtype="int64"),
    )
    return _Table(
        headers=tuple(headers),
        letters=tuple(letters),
        frame=frame,
        blank_rows=int(body.shape[0] - kept.size),
        extra_cells=extra_cells,
        title_rows=title_rows,
        header_row=header_row,
    )


def _header_position(
    columns: Sequence[pd.Series], filled: npt.NDArray[np.bool_], candidates: IntArray, keys: _Keys
) -> int:
    """Grid position of the first candidate row with a 'name' cell; the first row without one
    (the error then quotes it as the header row)."""
    for position in candidates.tolist():
        for j in np.flatnonzero(filled[position]).tolist():
            if _column_key(str(columns[j].iloc[position]).strip()) in keys.name:
                return int(position)
    return int(candidates[0])


# --- CSV ------------------------------------------------------------------------------------


def _load_csv(
    file: Path,
    shown: str,
    data: bytes,
    digest: str,
    keys: _Keys,
    limits: Limits,
    shape: guard.TextShape | None,
    *,
    excel_name: bool = False,
) -> LoadedSheet:
    """``excel_name``: the file is named .xls: text is read only if it has a 'name' header (web
    portals export CSV or TSV under that name); other bytes are no Excel file at all."""
    try:
        text, encoding, utf8 = _decode(data, shown)
    except InputError:
        if excel_name:
            raise _not_excel(shown) from None
        raise
    header = _sniff_header(text, keys)
    if excel_name and not header.found:
        raise _not_excel(shown)
    delimiter, header_width = header.delimiter, header.width
    text, utf8 = _blank_comments(text, utf8, header)
    grid = _parse_csv(utf8, delimiter, header_width, shown, limits)
    if len(grid) > limits.rows:
        raise exceeded(f"{shown} has more than {limits.rows:,} rows", "rows", limits)
    if shape is None or shape.longest_line > limits.cell_chars:
        for column in grid.columns:
            if grid[column].str.len().max() > limits.cell_chars:
                raise _cell_too_long(shown, limits)
    table = _assemble(
        [grid[column] for column in grid.columns],
        np.arange(1, len(grid) + 1, dtype=np.int64),
        first_column=0,
        min_width=header_width,
        where=shown,
        keys=keys,
    )
    return LoadedSheet(
        path=file,
        sheet=file.name,
        headers=table.headers,
        frame=table.frame,
        blank_rows=table.blank_rows,
        extra_cells=table.extra_cells,
        sha256=digest,
        encoding=encoding,
        delimiter=delimiter,
        column_letters=table.letters,
        title_rows=table.title_rows + len(header.comments),
        header_row=table.header_row,
    )


def _decode(data: bytes, shown: str) -> tuple[str, str, bytes]:
    """Return (text, encoding name, the text as UTF-8 bytes without BOM for the C parser)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_utf16(data, "utf-16", shown)
    if not data.startswith(codecs.BOM_UTF8) and (order := guard.utf16_order(data)):
        return _decode_utf16(data, order, shown)
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    sample = body[:_SNIFF_BYTES]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if b"\x00" in body or controls * 100 > len(sample):
        raise _not_a_sheet(shown)
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8", body
    except UnicodeDecodeError as exc:
        if bom:
            raise InputError(
                f"{shown} is not readable text (it is marked as UTF-8 but byte "
                f"0x{body[exc.start]:02X} at offset {exc.start + 3} is not UTF-8)"
            ) from None
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError:
        raise InputError(
            f"{shown} is not readable text (it is neither UTF-8, UTF-16 nor Windows-1252)"
        ) from None
    return text, "cp1252", text.encode("utf-8")


def _decode_utf16(data: bytes, codec: str, shown: str) -> tuple[str, str, bytes]:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        raise InputError(
            f"{shown} is not readable text (it looks like UTF-16 but is not valid UTF-16)"
        ) from None
    sample = text[:_SNIFF_BYTES]
    if "\x00" in text or len(_CONTROL_CHARS.findall(sample)) * 100 > len(sample):
        raise _not_a_sheet(shown)
    return text, "utf-16", text.encode("utf-8")


@dataclass(frozen=True)
class _CsvHeader:
    delimiter: str
    #: Fields of the header record.
    width: int
    #: 0-based line of the header; 0 when no line has a 'name' column (the first is shown).
    line: int
    #: Character spans (start, end) of the '#' comment lines above the header, line breaks
    #: excluded: they are blanked before parsing, so a stray quote in one cannot eat the data.
    comments: tuple[tuple[int, int], ...]
    #: Whether a line above the header holds a '"' (it may then span several records).
    quoted_title: bool
    #: Non-blank lines above the header, comments included.
    title_lines: int
    #: Whether a line with a 'name' column was found (if not, the first record stands in).
    found: bool = True


def _sniff_header(text: str, keys: _Keys) -> _CsvHeader:
    """Find the header line (the first with a 'name' column) and the delimiter it uses.

    Lines above it are a title block, '#' lines among them comments. Without such a line within
    the first HEADER_SEARCH_ROWS non-blank lines, the first record decides, as it always did.
    """
    sample = text[:_SNIFF_BYTES]
    comments: list[tuple[int, int]] = []
    above: list[str] = []
    quoted = False
    position = seen = 0
    for number, line in enumerate(io.StringIO(sample, newline="")):
        start, position = position, position + len(line)
        body = line.rstrip("\r\n")
        above.append(body)
        if _ONLY_SEPARATORS.fullmatch(body):
            continue
        best: tuple[int, str] | None = None
        for delimiter in _DELIMITERS:
            fields = _first_record(body, delimiter) or []
            named = any(_column_key(f.strip()) in keys.name for f in fields)
            # '>' keeps the earlier delimiter on a tie.
            if named and (best is None or len(fields) > best[0]):
                best = (len(fields), delimiter)
        if best is not None:
            # Counted as the parser will see them: ';' is a cell when ',' delimits.
            titles = sum(
                1
                for text_line in above[:-1]
                if any(field.strip() for field in text_line.split(best[1]))
            )
            return _CsvHeader(best[1], best[0], number, tuple(comments), quoted, titles)
        if body.lstrip().startswith("#"):
            comments.append((start, start + len(body)))
        quoted = quoted or '"' in body
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    delimiter, width = _sniff_delimiter(sample)
    return _CsvHeader(delimiter, width, 0, (), False, 0, found=False)


def _sniff_delimiter(sample: str) -> tuple[str, int]:
    """Pick the delimiter from the first record; return it and the record's field count."""
    best: int | None = None
    chosen = ","
    for delimiter in _DELIMITERS:
        fields = _first_record(sample, delimiter)
        if fields is None:
            continue
        if best is None or len(fields) > best:  # strict '>' keeps the earlier delimiter on a tie
            best, chosen = len(fields), delimiter
    return chosen, best or 0


def _blank_comments(text: str, utf8: bytes, header: _CsvHeader) -> tuple[str, bytes]:
    """``text`` and its UTF-8 bytes with the comment lines above the header blanked."""
    if not header.comments:
        return text, utf8
    end = header.comments[-1][1]
    head = text[:end]
    parts: list[str] = []
    done = 0
    for start, stop in header.comments:
        # A space, not nothing: a '\r' before and a '\n' after an emptied line would read
        # as one line break and shift every row number below.
        parts.append(head[done:start] + " ")
        done = stop
    parts.append(head[done:])
    blanked = "".join(parts)
    return blanked + text[end:], blanked.encode("utf-8") + utf8[len(head.encode("utf-8")) :]


def _first_record(sample: str, delimiter: str) -> list[str] | None:
    try:
        for record in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            # A line of only delimiters (',,,' or ';;') is blank whichever delimiter is right.
            if not all(_ONLY_SEPARATORS.fullmatch(field) for field in record):
                return record
    except csv.Error:
        return None  # e.g. a runaway quoted field; pandas will say what is wrong
    return None


def _parse_csv(utf8: bytes, delimiter: str, width: int, shown: str, limits: Limits) -> pd.DataFrame:
    # A row longer than `names` makes the C parser stop with "Expected N fields ... saw M" (or,
    # for the very first row, cut it with a ParserWarning). Rather than lose such cells, retry
    # wider (growing fast, so a few retries cover any file); the placeholder columns past the
    # header then reveal the extra cells.
    if width > limits.cells:
        raise _too_wide(shown, limits)
    fields = max(width, 1)
    while True:
        needed = 2 * fields
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return pd.read_csv(
                    io.BytesIO(utf8),
                    sep=delimiter,
                    header=None,
                    names=list(range(fields)),
                    index_col=False,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[""],  # only truly empty cells are missing: 'NA', 'null' stay text
                    skip_blank_lines=False,  # blank lines stay rows so row numbers stay right
                    engine="c",
                    encoding="utf-8",
                    quotechar='"',
                    doublequote=True,
                    skipinitialspace=False,
                )
        except pd.errors.ParserWarning:
            pass  # the first row is wider than `names`, by an unknown amount
        except pd.errors.EmptyDataError:
            raise InputError(f"{shown} has no header row (it is blank)") from None
        except pd.errors.ParserError as exc:
            message = str(exc)
            if saw := _SAW_FIELDS.search(message):
                if int(saw.group(1)) > limits.cells:
                    raise _too_wide(shown, limits) from None
                needed = max(int(saw.group(1)), needed)
            elif quote := _OPEN_QUOTE.search(message):
                raise InputError(
                    f"{shown} has a quoted value that never ends (its opening '\"' is on row "
                    f"{int(quote.group(1)) + 1})"
                ) from None
            else:
                raise InputError(
                    f"{shown} is not a readable CSV file ({_first_line(message)})"
                ) from None
        except (ValueError, UnicodeError, OverflowError, MemoryError) as exc:
            raise InputError(
                f"{shown} is not a readable CSV file ({_first_line(str(exc))})"
            ) from None
        if fields >= limits.cells:
            raise _too_wide(shown, limits)
        fields = min(needed, limits.cells)


def _too_wide(where: str, limits: Limits) -> InputError:
    return exceeded(f"{where} has a row of more than {limits.cells:,} cells", "cells", limits)


def _cell_too_long(where: str, limits: Limits) -> InputError:
    return exceeded(
        f"{where} has a cell of more than {limits.cell_chars:,} characters", "cell-chars", limits
    )


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return clip(line.removeprefix("Error tokenizing data. ").removeprefix("C error: "))


# --- workbooks ------------------------------------------------------------------------------


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a workbook's cells are Python objects. calamine
    gives a list per row (100,000 lists of 15 cells for a 100,000-row sheet), and the collector
    walked the growing heap of them again and again, 0.13 s of a 1.35 s read, though lists of
    cell values can hold no cycle. Reference counting still frees everything at once."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_workbook(
    file: Path,
    shown: str,
    data: bytes,
    digest: str,
    sheet: str | None,
    keys: _Keys,
    kind: Format,
    suffix: str,
    limits: Limits,
) -> LoadedSheet:
    if _encrypted(data, kind):
        raise _password_protected(shown)
    try:
        name, rows, origin = _read_worksheet(data, shown, sheet, keys, limits)
    except InputError:
        raise
    except PasswordError:
        raise _password_protected(shown) from None
    except Exception as exc:  # native code parsing untrusted bytes: any failure = unreadable
        if _PASSWORD_WORDS.search(str(exc)) or _encrypted(data, kind):
            raise _password_protected(shown) from None
        raise _unreadable_workbook(shown, kind, suffix) from None
    except BaseException as exc:
        # A Rust panic in calamine surfaces as pyo3's PanicException, a BaseException.
        if type(exc).__name__ != "PanicException":
            raise
        raise _unreadable_workbook(shown, kind, suffix) from None

    where = f"sheet {quote(name)} of {shown}"
    if not rows:
        raise InputError(f"{where} has no header row (it is blank)")
    grid = np.array(rows, dtype=object)  # one C-level pass; columns are then cheap views
    if grid.ndim != 2:
        raise _unreadable_workbook(shown, kind, suffix)
    # Columns as contiguous arrays: Arrow converts a strided column of a 2-D object array a
    # hundred times slower than a contiguous one.
    by_column = np.ascontiguousarray(grid.T)
    columns = [_column_series(by_column[j]) for j in range(grid.shape[1])]
    for column in columns:
        longest = pc.max(pc.utf8_length(pa.array(column))).as_py()  # the Arrow kernel, as-is
        if longest is not None and longest > limits.cell_chars:
            raise _cell_too_long(where, limits)
    table = _assemble(
        columns,
        np.arange(origin[0] + 1, origin[0] + 1 + len(rows), dtype=np.int64),
        first_column=origin[1],
        min_width=0,
        where=where,
        keys=keys,
    )
    return LoadedSheet(
        path=file,
        sheet=name,
        headers=table.headers,
        frame=table.frame,
        blank_rows=table.blank_rows,
        extra_cells=table.extra_cells,
        sha256=digest,
        encoding=None,
        delimiter=None,
        column_letters=table.letters,
        title_rows=table.title_rows,
        header_row=table.header_row,
    )


def _read_worksheet(
    data: bytes, shown: str, sheet: str | None, keys: _Keys, limits: Limits
) -> tuple[str, list[list[Cell]], tuple[int, int]]:
    """Return (sheet name, its cells from the top-left used cell, that cell's 0-based position)."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        if sheet is not None:
            name = _match_sheet(sheet, book.sheet_names)
            if name is None:
                raise InputError(
                    f"{shown} has no sheet named {quote(sheet)} (its sheets are "
                    f"{_listing(book.sheet_names, limit=20)})"
                )
            chosen = book.get_sheet_by_name(name)
        else:
            name, chosen = _default_sheet(book, shown, keys)
        # Python objects cost ten times calamine's cells: the sheet's size is checked first.
        where = f"sheet {quote(name)} of {shown}"
        if chosen.height > limits.rows:
            raise exceeded(f"{where} has {chosen.height:,} rows", "rows", limits)
        if chosen.width > limits.cells:
            raise exceeded(f"{where} has rows of {chosen.width:,} cells", "cells", limits)
        rows: list[list[Cell]] = chosen.to_python(skip_empty_area=True)
        return name, rows, chosen.start or (0, 0)
    finally:
        book.close()


def _match_sheet(wanted: str, names: Sequence[str]) -> str | None:
    if wanted in names:
        return wanted
    folded = [name for name in names if name.strip().casefold() == wanted.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def _default_sheet(book: CalamineWorkbook, shown: str, keys: _Keys) -> tuple[str, CalamineSheet]:
    # Visible worksheets first: a hidden lookup sheet with a 'name' column should not win.
    sheets = [meta for meta in book.sheets_metadata if meta.typ == SheetTypeEnum.WorkSheet]
    sheets.sort(key=lambda meta: meta.visible != SheetVisibleEnum.Visible)
    for meta in sheets:
        candidate = book.get_sheet_by_name(meta.name)
        if _has_name_row(candidate.iter_rows(), keys):
            return meta.name, candidate
    if not sheets:
        raise InputError(f"{shown} has no worksheets")
    raise InputError(
        f"{shown} has no sheet with a 'name' column (looked at "
        f"{_listing([meta.name for meta in sheets], limit=20)})"
    )


def _has_name_row(rows: Iterator[list[Cell]], keys: _Keys) -> bool:
    """Whether one of the first HEADER_SEARCH_ROWS non-blank rows has a 'name' cell."""
    seen = 0
    for row in rows:
        texts = [_cell_text(cell).strip() for cell in row]
        if not any(texts):
            continue
        if any(_column_key(text) in keys.name for text in texts):
            return True
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    return False


def _column_series(column: npt.NDArray[np.object_]) -> pd.Series:
    # Most columns hold only strings (calamine gives '' for empty cells): those go straight to
    # Arrow; the per-cell conversion runs only for columns that hold numbers, booleans or dates.
    try:
        # Arrow refuses anything that is not a str, which is the cheapest way to find out.
        texts = pa.array(column, type=pa.large_string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        texts = pa.array(_mixed_texts(column), type=pa.large_string())
    return pd.Series(pc.if_else(pc.equal(texts, ""), _NULL_TEXT, texts), dtype="str")


def _mixed_texts(column: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """The cells of a column holding more than strings, each as text.

    Whole numbers in number cells (ports, timers, extensions: most of what is not text) are
    written by numpy and Arrow for the whole column at once; other cells one at a time.
    """
    kinds = np.fromiter(map(type, column), dtype=object, count=len(column))
    values = column.copy()
    floats = kinds == float  # noqa: E721 (element-wise, over an array of types)
    if floats.any():
        numbers = column[floats].astype(np.float64)
        whole = np.isfinite(numbers) & (np.floor(numbers) == numbers)
        whole &= np.abs(numbers) < _EXACT_LIMIT
        at = np.flatnonzero(floats)[whole]
        values[at] = pc.cast(pa.array(numbers[whole].astype(np.int64)), pa.string()).to_pylist()
        kinds[at] = str
    for i in np.flatnonzero(kinds != str).tolist():  # noqa: E721 (element-wise)
        cell = values[i]
        values[i] = _TEXT_OF.get(type(cell), _cell_text)(cell)
    return values


def _cell_text(cell: Cell) -> str:
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):  # before int: bool is an int subclass
        return "1" if cell else "0"
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        return _float_text(cell)
    if isinstance(cell, dt.date | dt.time):  # datetime is a date subclass; isoformat covers all
        return cell.isoformat()
    if isinstance(cell, dt.timedelta):  # a duration cell ([h]:mm:ss)
        seconds = int(cell.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return str(cell)


def _float_text(number: float) -> str:
    if number.is_integer():
        # IDs and phone numbers typed into number cells: 8005555555.0 -> '8005555555'.
        if abs(number) < _EXACT_LIMIT:
            return str(int(number))
        return format(number, ".15g")
    return repr(number)


def _bool_text(flag: bool) -> str:
    return "1" if flag else "0"


# Type -> converter for the common cell types, looked up once per cell instead of an isinstance
# chain; anything else (dates, durations) goes through _cell_text.
_TEXT_OF: Final[dict[type, Callable[[Any], str]]] = {float: _float_text, int: str, bool: _bool_text}
_NULL_TEXT: Final = pa.scalar(None, pa.large_string())
