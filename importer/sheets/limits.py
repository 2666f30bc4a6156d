"""The limits a sheet is read under, so no file can take the machine's memory or hang a run.

Every limit is checked before or while the file is read, never after it is all in memory, and
each one exceeded is one ``InputError`` sentence that names the limit and how to raise it
(``--limit NAME=VALUE``). The defaults are the largest sheet a spreadsheet program can hold, so
they refuse only files that no person made by hand:

========== ============== ==============================================================
name       default        why
========== ============== ==============================================================
file-size  1 GiB          a million rows of 60 cells at about 16 bytes a cell
rows       1,048,576      Excel's row count; rejections.xlsx cannot hold more
cells      16,384         Excel's column count (cells in one row)
cell-chars 32,767         Excel's longest cell; no parameter allows more than 255
unzipped   8 GiB          an XLSX/ODS part inflated: a million rows of 60 inline strings
                          is about 3 GB of sheet XML
zip-ratio  100            inflated / stored size of one part; real sheet XML is 5-25x,
                          a zip bomb thousands
========== ============== ==============================================================
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from schemas.text import quote

from ..errors import InputError

__all__ = ["DEFAULT_LIMITS", "LIMIT_NAMES", "Limits", "exceeded", "parse_limits", "show_size"]


@dataclass(frozen=True)
class Limits:
    """What a sheet may hold; ``--limit NAME=VALUE`` overrides one (NAME with '-' for '_')."""

    #: Bytes of the file itself.
    file_size: int = 1 << 30
    #: Rows of the sheet, the header and blank rows included.
    rows: int = 1_048_576
    #: Cells in one row.
    cells: int = 16_384
    #: Characters in one cell.
    cell_chars: int = 32_767
    #: Bytes of one XLSX/ODS part once inflated.
    unzipped: int = 8 << 30
    #: Inflated size / stored size of one XLSX/ODS part (parts under 1 MiB inflated are exempt).
    zip_ratio: int = 100


DEFAULT_LIMITS: Final = Limits()
#: The names ``--limit`` takes, in the order ``--help`` lists them.
LIMIT_NAMES: Final = tuple(f.name.replace("_", "-") for f in dataclasses.fields(Limits))
_SIZES: Final = frozenset({"file-size", "unzipped"})
_VALUE: Final = re.compile(r"([0-9][0-9_]*)\s*([KMG]i?B?)?", re.IGNORECASE)
_UNIT: Final = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_limits(pairs: Iterable[str], base: Limits = DEFAULT_LIMITS) -> Limits:
    """``base`` with each ``NAME=VALUE`` of ``pairs`` applied; InputError for a bad one.

    Sizes take K, M or G (binary: 1K = 1024 bytes): ``file-size=2G``, ``unzipped=500M``.
    """
    changes: dict[str, int] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        name = name.strip().lower()
        if not equals or name not in LIMIT_NAMES:
            raise InputError(
                f"--limit {quote(pair, 40)} is not NAME=VALUE with NAME one of "
                f"{', '.join(LIMIT_NAMES)} (e.g. --limit rows=2000000)"
            )
        match = _VALUE.fullmatch(text.strip())
        if match is None or (match.group(2) and name not in _SIZES):
            example = "2G" if name in _SIZES else "2000000"
            raise InputError(
                f"--limit {name}={quote(text, 40)} is not a whole number such as {example}"
            )
        value = int(match.group(1).replace("_", ""))
        if match.group(2):
            value *= _UNIT[match.group(2)[0].lower()]
        if value < 1:
            raise InputError(f"--limit {name} must be at least 1")
        changes[name.replace("-", "_")] = value
    return dataclasses.replace(base, **changes)


def show_size(size: int) -> str:
    """Bytes in the unit a person reads: '1 GiB', '200.0 MiB', '512 bytes'."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value.is_integer() else f"{value:.1f} {unit}"
    return f"{size} bytes"


def exceeded(what: str, name: str, limits: Limits) -> InputError:
    """The sentence for a limit exceeded: ``what`` says what was found (``'x.csv is 2 GiB'``)."""
    value = getattr(limits, name.replace("-", "_"))
    shown = show_size(value) if name in _SIZES else f"{value:,}"
    return InputError(
        f"{what} (the {name} limit is {shown}; if the file is right, raise it with "
        f"--limit {name}=N)"
    )
