"""How every message shows a value it quotes: as typed, on one line, and never too long.

One function for the importer's messages, the reports and the gateway's error texts, so a
200 MB cell or a header holding a newline cannot make an unbounded or broken line anywhere.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["SHOWN_CHARS", "clip", "column_letter", "header_key", "quote"]

#: Characters of a value a message shows before it cuts the rest off with '…'.
SHOWN_CHARS: Final = 80
# C0 and C1 controls, DEL and the Unicode line and paragraph separators: each would break the
# line or hide what is there. Everything else (accents, CJK, emoji) is shown as typed.
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_KEY_JUNK: Final = re.compile(r"[\s_-]+")


def _shown(ch: str) -> str:
    if not _CONTROL.match(ch):
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` with control characters escaped, cut to ``limit`` characters with a '…'.

    An escape is never cut in half; only the first ``limit`` characters are looked at, so a
    200 MB value costs no more than a short one.
    """
    head = text[: limit + 1]
    if not _CONTROL.search(head):
        # The usual value: nothing to escape, so only the length decides.
        return text if len(text) <= limit else head[: limit - 1] + "…"
    pieces = [_shown(ch) for ch in head]
    if len(text) <= limit and sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    room = limit - 1
    for piece in pieces:
        room -= len(piece)
        if room < 0:
            break
        kept.append(piece)
    return "".join(kept) + "…"


def quote(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as a message shows it: ``'société-trunk'``, ``'bad\\x01name'``, ``'xxx…'``."""
    return "'" + clip(str(value), limit) + "'"


def header_key(text: str) -> str:
    """Header matching key: lowercase, with '-', '_' and whitespace removed. The loader finds
    the header row by it, the mapping and normalize match columns by it, the reports spot
    secret columns by it.

    'Session Timers' -> 'sessiontimers'; 'SESSION_EXPIRES' -> 'sessionexpires'.
    """
    return _KEY_JUNK.sub("", text.lower())


def column_letter(number: int) -> str:
    """A spreadsheet column's letters from its 1-based number (1 -> A, 27 -> AA).

    openpyxl's ``get_column_letter`` says the same, but importing openpyxl takes a tenth of a
    second, and checking a sheet needs no workbook (tests hold the two equal).
    """
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
