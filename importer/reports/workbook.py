"""rejections.xlsx, written by XlsxWriter; for long sheets in a child process beside the run.

Writing a spreadsheet cell costs microseconds of pure Python, and a long sheet's rejections hold
a million of them: on the run's own process that was a third of a million-row validate. Here
the main process hands each chunk's rejected rows over a pipe and goes on checking the next
chunk; a second core writes the workbook. The child imports only this module and XlsxWriter
(no pandas), so it starts in a fraction of a second and stays small. The parent prepares the
cells' text with Arrow (``sheet_texts``) and sends a chunk as one object of plain lists; the
child only writes. Comments, the dearest part, are limited to the first ``MARKED_ROWS`` rows.

Why XlsxWriter and not openpyxl: in constant-memory mode each finished row goes to disk, and
comments are kept as small tuples, where openpyxl builds every comment in memory at save (260 MB
and 5 s for 50,000 rejected rows) and writes cells 1.4x slower. Every value is written with
``write_string``: never a formula, a number or a link, whatever it looks like.
"""

from __future__ import annotations

import contextlib
import pickle
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["MARKED_ROWS", "RejectedRows", "WorkbookWriter", "sheet_texts"]

_RED = "#FFC7CE"
_YELLOW = "#FFEB9C"
# The characters XML 1.0 cannot hold (the same set openpyxl refuses); shown as '\x01' instead.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ILLEGAL_RE2 = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_ERROR_HEADERS = ("row", "sheet", "field", "code", "severity", "reason")
_COMMENT = {"author": "sip-import", "width": 320, "height": 120}
# The most characters an Excel cell holds.
_CELL_CHARS = 32_767
_CUT = "… [cut here: {:,} characters in all; rejections.csv has the whole value]"


#: Rejected rows that get coloured cells, comments and lines in the errors sheet. Rows past them
#: are written whole (they can be fixed and fed back) but plain, their reasons in the _errors
#: column only: a comment costs the writer ten times what a cell does, and 50,000 of them make
#: a workbook slow to open too.
MARKED_ROWS = 10_000
_ABOUT = (
    "Colours, comments and lines in the errors sheet mark the first {marked:,} of the {rows:,} "
    "rejected rows; the rows after them are whole but plain. The _errors column of the "
    "rejections sheet (and rejections.csv) gives every row's reasons."
)


@dataclass(frozen=True)
class RejectedRows:
    """One chunk's lines of the rejections sheet, ready to write (plain str, None, tuples and
    dicts only: cheap to pickle, one object a chunk rather than one a row)."""

    #: Each line's cells, as ``sheet_texts`` made them.
    cells: list[tuple[str | None, ...]]
    #: Of the first lines (as many as still get marks): column -> (is an error, the reason);
    #: the reason goes in a comment unless it is ''. Lines past the list are written plain.
    notes: list[dict[int, tuple[bool, str]]]
    #: The errors sheet's lines for the marked rows: (row, sheet, field, code, severity,
    #: reason).
    errors: list[tuple[str, ...]]


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    text = _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    if len(text) > _CELL_CHARS:
        # XlsxWriter would cut it silently; the cell says it was cut, and where the rest is.
        note = _CUT.format(len(text))
        text = text[: _CELL_CHARS - len(note)] + note
    return text


def sheet_texts(column: Any) -> list[str | None]:
    """A column of cells (an Arrow text array, null = empty) as the sheet writes them: control
    characters shown, overlong text cut. Arrow finds the few cells that need it."""
    import pyarrow.compute as pc  # here: the writer process never imports pyarrow

    texts: list[str | None] = column.to_pylist()
    odd = pc.or_(
        pc.match_substring_regex(column, _ILLEGAL_RE2),
        pc.greater(pc.utf8_length(column), _CELL_CHARS),
    )
    for i in pc.indices_nonzero(pc.fill_null(odd, False)).to_pylist():
        texts[i] = _text(texts[i])
    return texts


class _Workbook:
    """rejections.xlsx itself: the two sheets, written row after row."""

    def __init__(self, path: str, headers: Sequence[str]) -> None:
        import xlsxwriter  # here: the parent of a writer process never needs it

        self.book = xlsxwriter.Workbook(
            path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        self.main = self.book.add_worksheet("rejections")
        self.errors = self.book.add_worksheet("errors")
        self.red = self.book.add_format({"bg_color": _RED, "pattern": 1})
        self.yellow = self.book.add_format({"bg_color": _YELLOW, "pattern": 1})
        bold = self.book.add_format({"bold": True})
        self.main.freeze_panes(1, 5)
        for j, header in enumerate(headers):
            self.main.write_string(0, j, _text(header) or "", bold)
        for j, header in enumerate(_ERROR_HEADERS):
            self.errors.write_string(0, j, header, bold)
        self.main_row = self.errors_row = 1
        #: Lines written without colours and comments (past ``MARKED_ROWS``).
        self.plain = 0

    def add(self, rows: RejectedRows) -> None:
        main, write, write_error = self.main, self.main.write_string, self.errors.write_string
        r, e = self.main_row, self.errors_row
        marks = rows.notes
        for i, cells in enumerate(rows.cells):
            notes = marks[i] if i < len(marks) else None
            if notes is None:
                self.plain += 1
                for j, text in enumerate(cells):
                    if text:
                        write(r, j, text)
                r += 1
                continue
            for j, text in enumerate(cells):
                note = notes.get(j)
                if note is None:
                    if text:
                        write(r, j, text)
                    continue
                style = self.red if note[0] else self.yellow
                if text:
                    write(r, j, text, style)
                else:
                    main.write_blank(r, j, None, style)
                if note[1]:
                    main.write_comment(r, j, note[1], _COMMENT)
            r += 1
        for error in rows.errors:
            for j, value in enumerate(error):
                if text := _text(value):
                    write_error(e, j, text)
            e += 1
        self.main_row, self.errors_row = r, e

    def close(self) -> None:
        if self.plain:
            # Said on a sheet of its own: a line above or below the rows would be read back
            # as a row when the file is fixed and fed back.
            about = self.book.add_worksheet("about")
            about.set_column(0, 0, 120)
            rows = self.main_row - 1
            about.write_string(0, 0, _ABOUT.format(marked=rows - self.plain, rows=rows))
        self.book.close()


def _serve(path: str, stream: BinaryIO) -> None:
    """The writer process: the pickled headers, then pickled chunks of rows from ``stream``
    until it ends."""
    book = _Workbook(path, pickle.load(stream))
    try:
        while True:
            try:
                rows: RejectedRows = pickle.load(stream)
            except EOFError:
                break
            book.add(rows)
    finally:
        book.close()


class WorkbookWriter:
    """Writes rejections.xlsx: ``add`` chunks of RejectedRows, then ``close`` (or ``abort``).

    ``process=True`` writes in a child process (long sheets: a second core does the work);
    otherwise right here (short sheets: nothing to start). The child is
    ``python -m importer.reports.workbook OUT.xlsx`` reading the headers and then chunks, pickled,
    from its stdin (never the headers as arguments: a wide header outgrows the kernel's argument
    size, E2BIG): a plain subprocess rather than multiprocessing, whose spawn would re-import the
    parent's main module (the whole command line) in the child.
    """

    def __init__(
        self, path: Path, headers: Sequence[str] | None = None, *, process: bool = False
    ) -> None:
        self._path = path
        self._book: _Workbook | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._begun = False
        if process:
            self._child = subprocess.Popen(
                [sys.executable, "-m", __name__, str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            # A chunk's rows pickle to about 0.5 MB, and a 64 KB pipe made the run wait for the
            # writer at every chunk the writer was behind on; a 1 MB pipe (Linux) lets the run
            # keep a chunk or two ahead and the writer catch up on the next ones.
            with contextlib.suppress(ImportError, AttributeError, OSError):
                import fcntl

                assert self._child.stdin is not None
                fcntl.fcntl(self._child.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        if headers is not None:
            self.begin(headers)

    def begin(self, headers: Sequence[str]) -> None:
        """Start the file with its header row. A writer process may be started before the
        headers are known: it starts up while the run reads the first rows."""
        if self._child is not None:
            self._send(list(headers))
        else:
            self._book = _Workbook(str(self._path), headers)
        self._begun = True

    def add(self, rows: RejectedRows) -> None:
        """Write (or hand over) one chunk's rows; waits while a writer process is behind."""
        if self._book is not None:
            self._book.add(rows)
            return
        self._send(rows)

    def _send(self, item: object) -> None:
        assert self._child is not None and self._child.stdin is not None
        try:
            pickle.dump(item, self._child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError:  # the child is gone (BrokenPipeError); close() says why
            self.close()
            raise self._failed("it stopped") from None

    def close(self) -> None:
        """Finish the file; OSError if the writer process could not. Never begun: no file."""
        if not self._begun:
            self.abort()
            return
        if self._book is not None:
            self._book.close()
            return
        assert self._child is not None and self._child.stderr is not None
        if self._child.stdin is not None:
            with contextlib.suppress(OSError):
                self._child.stdin.close()  # the end of the rows
        complaint = self._child.stderr.read().decode("utf-8", "replace").strip()
        self._child.stderr.close()
        if self._child.wait() != 0:
            raise self._failed(complaint.splitlines()[-1] if complaint else "it stopped")

    def abort(self) -> None:
        """Stop without finishing the file (the run failed)."""
        if self._book is not None:
            with contextlib.suppress(Exception):
                self._book.close()  # frees XlsxWriter's temporary files; the caller removes the file
            return
        if self._child is None:
            return
        self._child.kill()
        self._child.wait()
        for stream in (self._child.stdin, self._child.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _failed(self, reason: str) -> OSError:
        return OSError(f"could not write {self._path}: {reason}")


if __name__ == "__main__":
    _serve(sys.argv[1], sys.stdin.buffer)
