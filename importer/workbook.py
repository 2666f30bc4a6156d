"""rejections.xlsx, written by XlsxWriter in a child process while the run goes on.

Writing a spreadsheet cell costs microseconds of pure Python, and a long sheet's rejections hold
a million of them: on the run's own process that was a third of a million-row validate. Here
the main process hands each chunk's rejected rows over a bounded queue and goes on checking the
next chunk; a second core writes the workbook. The child imports only this module and
XlsxWriter (no pandas), so it starts in a fraction of a second and stays small.

Why XlsxWriter and not openpyxl: in constant-memory mode each finished row goes to disk, and
comments are kept as small tuples, where openpyxl builds every comment in memory at save (260 MB
and 5 s for 50,000 rejected rows) and writes cells 1.4x slower. Every value is written with
``write_string``: never a formula, a number or a link, whatever it looks like.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

__all__ = ["RejectedRow", "WorkbookWriter"]

_RED = "#FFC7CE"
_YELLOW = "#FFEB9C"
# The characters XML 1.0 cannot hold (the same set openpyxl refuses); shown as '\x01' instead.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ERROR_HEADERS = ("row", "sheet", "field", "code", "severity", "reason")
# Chunks in flight: the main process waits rather than queue a whole sheet's rejections.
_QUEUE_CHUNKS = 4
_COMMENT = {"author": "sip-import", "width": 320, "height": 120}


@dataclass(frozen=True)
class RejectedRow:
    """One line of the rejections sheet, ready to write (plain str and None only: picklable)."""

    cells: tuple[str | None, ...]
    #: column -> (is an error, the reason); the reason goes in a comment unless it is ''.
    notes: dict[int, tuple[bool, str]]
    #: The errors sheet's lines for this row: (row, sheet, field, code, severity, reason).
    errors: tuple[tuple[str, ...], ...]


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def _write(path: str, headers: Sequence[str], chunks: Any) -> None:
    """The child's whole job: rows from ``chunks`` (a queue; None ends it) into ``path``."""
    import xlsxwriter  # here, so that importing this module stays cheap for the parent

    book = xlsxwriter.Workbook(
        path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    try:
        main = book.add_worksheet("rejections")
        errors = book.add_worksheet("errors")
        red = book.add_format({"bg_color": _RED, "pattern": 1})
        yellow = book.add_format({"bg_color": _YELLOW, "pattern": 1})
        bold = book.add_format({"bold": True})
        main.freeze_panes(1, 5)
        for j, header in enumerate(headers):
            main.write_string(0, j, _text(header) or "", bold)
        for j, header in enumerate(_ERROR_HEADERS):
            errors.write_string(0, j, header, bold)
        write, write_error = main.write_string, errors.write_string
        r = e = 1
        while (rows := chunks.get()) is not None:
            for line in rows:
                for j, value in enumerate(line.cells):
                    text = _text(value)
                    note = line.notes.get(j)
                    if note is None:
                        if text:
                            write(r, j, text)
                        continue
                    style = red if note[0] else yellow
                    if text:
                        write(r, j, text, style)
                    else:
                        main.write_blank(r, j, None, style)
                    if note[1]:
                        main.write_comment(r, j, note[1], _COMMENT)
                r += 1
                for error in line.errors:
                    for j, value in enumerate(error):
                        if text := _text(value):
                            write_error(e, j, text)
                    e += 1
    finally:
        book.close()


class WorkbookWriter:
    """The parent's side: ``add`` chunks of RejectedRow, then ``close`` (or ``abort``).

    ``process=True`` writes in a child process (for long sheets: a second core does the work);
    otherwise in a thread, which costs nothing to start (for short ones).
    """

    def __init__(self, path: Path, headers: Sequence[str], *, process: bool = False) -> None:
        self._path = path
        self._error: BaseException | None = None
        args: tuple[Any, ...]
        if process:
            # spawn, not fork: the parent holds Arrow's thread pools, which a fork copies locked.
            context = multiprocessing.get_context("spawn")
            self._queue: Any = context.Queue(maxsize=_QUEUE_CHUNKS)
            args = (str(path), list(headers), self._queue)
            self._worker: BaseProcess | threading.Thread = context.Process(
                target=_write, args=args, name="sip-import rejections.xlsx", daemon=True
            )
        else:
            self._queue = queue.Queue(maxsize=_QUEUE_CHUNKS)
            args = (str(path), list(headers), self._queue)
            self._worker = threading.Thread(
                target=self._in_thread, args=args, name="rejections.xlsx", daemon=True
            )
        self._worker.start()

    def _in_thread(self, *args: Any) -> None:
        try:
            _write(*args)
        except BaseException as exc:  # handed to close(), which raises it in the caller
            self._error = exc

    def add(self, rows: list[RejectedRow] | None) -> None:
        """Queue one chunk's rows (None: no more rows); waits while the writer is behind."""
        while True:
            try:
                self._queue.put(rows, timeout=1.0)
                return
            except queue.Full:
                if not self._worker.is_alive():
                    raise self._failed() from None

    def close(self) -> None:
        """Finish the file; OSError if the writer could not."""
        self.add(None)
        self._worker.join()
        if self._error is not None:
            raise self._failed() from self._error
        if isinstance(self._worker, BaseProcess) and self._worker.exitcode != 0:
            raise self._failed()

    def abort(self) -> None:
        """Stop the writer without finishing the file (the run failed)."""
        if isinstance(self._worker, BaseProcess):
            if self._worker.is_alive():
                self._worker.terminate()
            self._worker.join()
            return
        # A thread cannot be killed: drain the queue so it is not blocked, then end it.
        while self._worker.is_alive():
            try:
                self._queue.put(None, timeout=0.1)
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
            self._worker.join(timeout=0.1)

    def _failed(self) -> OSError:
        reason = f": {self._error}" if self._error is not None else ""
        return OSError(f"could not write {self._path}{reason}")
