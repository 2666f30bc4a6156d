"""What a sheet file must pass before any parser sees it (see ``importer.sheets.limits``).

Parsers allocate by what they find: pandas builds a column per cell of the widest line, calamine
holds every cell of an inflated sheet, and ``read()`` on ``/dev/zero`` never ends. So the file
is opened here first, without blocking, and must be a regular file within ``file-size``; a zip
is judged by its central directory (each part's inflated size and ratio) before it is inflated;
a text file is scanned block by block for lines with too many cells and cells too long, which
costs a pass over the bytes but never more memory than a block.
"""

from __future__ import annotations

import codecs
import io
import os
import stat
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Final

import numpy as np
import numpy.typing as npt

from schemas.text import quote

from ..errors import InputError
from .limits import Limits, exceeded, show_size

__all__ = [
    "TextShape",
    "check_zip",
    "open_regular",
    "read_all",
    "scan_text",
    "text_codec",
    "utf16_order",
]

_BLOCK: Final = 1 << 20
# A zip's end record, its comment (at most 64 KiB) and a Zip64 end record and locator.
_TAIL: Final = 22 + 0xFFFF + 56 + 20
# A workbook lists tens of parts, a big one thousands (one per sheet, drawing, comment): 8 MiB
# of directory is some 100,000 of them.
_MAX_DIRECTORY: Final = 8 << 20
# Parts this small cannot hurt whatever their ratio (an empty sheet of styles compresses 50x).
_RATIO_FLOOR: Final = 1 << 20
# Candidate delimiters (load.py's) and the line feed, as code units.
_DELIMITERS: Final = tuple(ord(c) for c in ",;\t|")
_NEWLINE: Final = ord("\n")
_RETURN: Final = ord("\r")

UnitArray = npt.NDArray[np.uint8] | npt.NDArray[np.uint16]


def _open_fd(path: str, flags: int) -> int:
    return os.open(path, flags)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"  # character or block


def open_regular(path: str, shown: str, limits: Limits) -> io.BufferedReader:
    """``path`` opened for reading, if it is a regular file (or a link to one) within limits.

    Opened without blocking, so a pipe is refused at once instead of waiting for a writer.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = _open_fd(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{shown} does not exist") from None
    except PermissionError:
        raise InputError(f"{shown} cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise InputError(f"{shown} is a directory, not a sheet file") from None
    except OSError as exc:
        raise InputError(f"{shown} cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{shown} is a directory, not a sheet file")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                f"{shown} is {_kind(info.st_mode)}, not a file; give the sheet's own file"
            )
        if info.st_size > limits.file_size:
            raise exceeded(f"{shown} is {show_size(info.st_size)}", "file-size", limits)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_all(path: str, shown: str, limits: Limits) -> bytes:
    """The whole file, read under ``open_regular``'s checks (and never past ``file-size``)."""
    with open_regular(path, shown, limits) as stream:
        try:
            data = stream.read(limits.file_size + 1)
        except OSError as exc:
            raise InputError(
                f"{shown} cannot be read ({exc.strerror or type(exc).__name__})"
            ) from None
    if len(data) > limits.file_size:  # it grew since it was opened
        raise exceeded(f"{shown} is over {show_size(limits.file_size)}", "file-size", limits)
    return data


def _directory_size(stream: BinaryIO) -> int:
    """Bytes of a zip's central directory, from its end record (0 when there is none)."""
    end = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, end - _TAIL))
    tail = stream.read()
    stream.seek(0)
    found = tail.rfind(b"PK\x05\x06")
    if found < 0 or len(tail) - found < 22:
        return 0
    size: int = struct.unpack_from("<I", tail, found + 12)[0]
    zip64 = tail.rfind(b"PK\x06\x06", 0, found)
    if size == 0xFFFFFFFF and zip64 >= 0 and found - zip64 >= 56:
        size = struct.unpack_from("<Q", tail, zip64 + 40)[0]
    return size


def check_zip(stream: BinaryIO, shown: str, limits: Limits) -> bool:
    """Refuse a zip whose parts would inflate past ``unzipped`` or ``zip-ratio``.

    Only the central directory is read, and only once its size shows it lists no more parts
    than a workbook has (zipfile keeps a Python object per part). False when zipfile cannot
    read it: no zip, or a damaged one that the workbook reader will call unreadable.
    """
    directory = _directory_size(stream)
    if directory > _MAX_DIRECTORY:
        raise InputError(
            f"{shown} is no workbook: its zip directory takes {show_size(directory)}, room for "
            "more parts than any workbook has"
        )
    try:
        with zipfile.ZipFile(stream) as archive:
            parts = archive.infolist()
    except Exception:  # untrusted bytes: any failure is the workbook reader's to word
        return False
    for part in parts:
        name = quote(part.filename, 40)
        if part.file_size > limits.unzipped:
            raise exceeded(
                f"{shown} holds a part ({name}) of {show_size(part.file_size)} once inflated",
                "unzipped",
                limits,
            )
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size >= _RATIO_FLOOR and ratio > limits.zip_ratio:
            raise exceeded(
                f"{shown} holds a part ({name}) that inflates {ratio:,.0f} times, from "
                f"{show_size(part.compress_size)} to {show_size(part.file_size)}",
                "zip-ratio",
                limits,
            )
    return True


@dataclass(frozen=True)
class TextShape:
    """What ``scan_text`` found: upper bounds the readers use to skip their exact checks."""

    #: Line feeds in the file, plus one for a last line without one (rows can only be fewer).
    lines: int
    #: Code units of the longest line (no cell can be longer).
    longest_line: int


@dataclass(frozen=True)
class _Line:
    """The line the scan is in, which may have begun blocks ago."""

    number: int = 1
    units: int = 0
    #: Delimiters seen so far on this line, per candidate.
    delimiters: tuple[int, ...] = (0,) * len(_DELIMITERS)
    #: Characters since the last delimiter (or the line's start).
    gap: int = 0


def _units(data: bytes, codec: str) -> UnitArray:
    if codec == "utf-16-le":
        return np.frombuffer(data, dtype="<u2", count=len(data) // 2)
    if codec == "utf-16-be":
        return np.frombuffer(data, dtype=">u2", count=len(data) // 2)
    return np.frombuffer(data, dtype=np.uint8)


def _starts_character(units: UnitArray) -> npt.NDArray[np.bool_]:
    """False for units that continue a character: UTF-8 continuation bytes, low surrogates."""
    if units.dtype.itemsize == 1:
        return np.asarray((units & 0xC0) != 0x80)
    return np.asarray((units & 0xFC00) != 0xDC00)


def _line_breaks(units: UnitArray) -> npt.NDArray[np.intp]:
    """Positions of LF, and of CR not followed by LF (old Mac files end lines with CR alone)."""
    lf = units == _NEWLINE
    cr = units == _RETURN
    if cr.any():
        cr[:-1] &= ~lf[1:]
        return np.flatnonzero(lf | cr)
    return np.flatnonzero(lf)


def _advance(segment: UnitArray, line: _Line, shown: str, limits: Limits) -> _Line:
    """``line`` after ``segment`` (part of it, no line break inside); raises past a limit."""
    counts = tuple(
        seen + int(np.count_nonzero(segment == d))
        for seen, d in zip(line.delimiters, _DELIMITERS, strict=True)
    )
    if max(counts) + 1 > limits.cells:
        raise exceeded(
            f"line {line.number:,} of {shown} has more than {limits.cells:,} cells", "cells", limits
        )
    cuts = np.flatnonzero(np.isin(segment, _DELIMITERS))
    # chars[i]: characters in segment[:i].
    chars = np.concatenate(([0], np.cumsum(_starts_character(segment))))
    begins = np.concatenate(([0], cuts + 1))
    ends = np.concatenate((cuts, [len(segment)]))
    gaps = chars[ends] - chars[begins]
    gaps[0] += line.gap
    if int(gaps.max()) > limits.cell_chars:
        raise exceeded(
            f"line {line.number:,} of {shown} has a cell of more than {limits.cell_chars:,} "
            "characters",
            "cell-chars",
            limits,
        )
    return _Line(line.number, line.units + len(segment), counts, int(gaps[-1]))


def scan_text(
    stream: BinaryIO,
    shown: str,
    limits: Limits,
    codec: str,
    observe: Callable[[bytes], None] | None = None,
) -> TextShape:
    """Refuse a text file with a line of more than ``cells`` cells or a cell of more than
    ``cell-chars`` characters, reading it block by block from the start.

    Every candidate delimiter counts, and quotes are not followed: what this refuses is certain
    (a quoted cell holding delimiters is only longer), and what it cannot see (a long quoted
    cell full of commas) the readers check exactly, told by ``TextShape`` when they must.
    ``codec`` is 'utf-16-le' or 'utf-16-be' for UTF-16, anything else for a byte encoding.
    ``observe`` sees every block read, in order.
    """
    # Only lines long enough to break a limit are looked at unit by unit: real sheets have
    # none, so a block costs a comparison and a few array operations.
    threshold = min(limits.cells, limits.cell_chars)
    line = _Line()
    lines = longest = 0
    tail = b""  # half a UTF-16 unit left over from the last block
    while block := stream.read(_BLOCK):
        if observe is not None:
            observe(block)  # the loader's digest of the same bytes: one read of the file
        block = tail + block
        units = _units(block, codec)
        tail = block[units.nbytes :]
        breaks = _line_breaks(units)
        if not breaks.size:
            line = _advance(units, line, shown, limits)
            continue
        starts = np.concatenate(([0], breaks[:-1] + 1))
        lengths = breaks - starts
        lengths[0] += line.units
        longest = max(longest, int(lengths.max()))
        for k in np.flatnonzero(lengths >= threshold).tolist():
            begun = line if k == 0 else _Line(number=line.number + k)
            _advance(units[starts[k] : breaks[k]], begun, shown, limits)
        lines += len(breaks)
        line = _advance(units[breaks[-1] + 1 :], _Line(line.number + len(breaks)), shown, limits)
    if line.units:
        lines += 1
        longest = max(longest, line.units)
    return TextShape(lines=lines, longest_line=longest)


def utf16_order(head: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when ``head`` (a file's first bytes, without a BOM) looks
    like UTF-16: NUL bytes in every other position, as ASCII headers give."""
    pairs = min(len(head), 4096) // 2
    if pairs == 0:
        return None
    even = head[0 : 2 * pairs : 2].count(0)
    odd = head[1 : 2 * pairs : 2].count(0)
    if odd >= 0.3 * pairs and even <= 0.05 * pairs:
        return "utf-16-le"
    if even >= 0.3 * pairs and odd <= 0.05 * pairs:
        return "utf-16-be"
    return None


def text_codec(head: bytes) -> str:
    """'utf-16-le' / 'utf-16-be' when ``head`` (the file's first bytes) is UTF-16, else 'bytes'."""
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    if head.startswith(codecs.BOM_UTF8):
        return "bytes"
    return utf16_order(head) or "bytes"
