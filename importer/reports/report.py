"""Report: results.csv, rejections.csv, rejections.xlsx and summary.json for one run.

Two promises hold for every file written here: a secret never appears in clear, and no cell can
run as a formula when a spreadsheet opens the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas import MASK, SECRET_FIELDS
from schemas.text import header_key

from ..errors import InputError
from ..sheets.normalize import NormalizedSheet
from ..validate import Problem
from .workbook import MARKED_ROWS, RejectedRows, WorkbookWriter, sheet_texts

__all__ = [
    "FLEET_RESULT_COLUMNS",
    "RESULT_COLUMNS",
    "ReportPaths",
    "ReportWriter",
    "default_report_dir",
    "mask_secrets",
    "neutralize",
    "write_reports",
    "write_summary",
]

RESULT_COLUMNS = ["row", "sheet", "name", "outcome", "error_key", "message", "attempts"]
#: A fleet run's results.csv: one line per (row, gateway), the gateway after the name.
FLEET_RESULT_COLUMNS = [
    "row",
    "sheet",
    "name",
    "gateway",
    "outcome",
    "error_key",
    "message",
    "attempts",
]
_REJECT_META = ["_row", "_sheet", "_outcome", "_error_key", "_errors"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
# Columns the sheet did not map to a parameter but whose header says they hold a credential.
_SECRET_HINTS = ("secret", "password", "passwd", "pwd", "auth", "token")
_OUTCOMES_TO_REPORT = ("rejected", "failed")
# The same two rules for whole Arrow columns (RE2: \A and \z are the text's ends, as fullmatch).
_TEXT = pa.large_string()
_FORMULA_START_RE2 = "\\A[=+\\-@\t\r]"
_PLAIN_NUMBER_RE2 = r"\A[+-]?[0-9]+(\.[0-9]+)?\z"
# The fields the csv module quotes as DataFrame.to_csv runs it (QUOTE_MINIMAL, lines ending in
# CRLF): those holding the delimiter, the quote or a character of the line terminator.
_CSV_QUOTED_RE2 = '[",\r\n]'
# The same characters as bytes (all ASCII: in UTF-8 no other character holds such a byte), to
# skip the regular expressions for the columns, most of them, with no such cell.
_FORMULA_BYTES = np.zeros(256, dtype=bool)
_FORMULA_BYTES[list(b"=+-@\t\r")] = True
_CSV_QUOTED_BYTES = (b'"', b",", b"\r", b"\n")
_EMPTY, _QUOTE, _COMMA, _CRLF = (pa.scalar(s, _TEXT) for s in ("", '"', ",", "\r\n"))


@dataclass(frozen=True)
class ReportPaths:
    directory: Path
    results_csv: Path
    rejections_csv: Path
    rejections_xlsx: Path
    summary_json: Path


def default_report_dir(base: Path = Path("reports")) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = base / stamp
    n = 1
    while candidate.exists():
        n += 1
        candidate = base / f"{stamp}-{n}"
    return candidate


def neutralize(text: str) -> str:
    """CSV form of a cell: a leading ``'`` stops spreadsheets from running it as a formula."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        text = values.astype(object)
        risky = text.notna() & text.astype(str).str.startswith(_FORMULA_START)
        if risky.any():
            out[column] = text.where(~risky, text[risky].astype(str).map(neutralize))
    return out


def _utf8(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A large_string array's bytes and offsets into them (its cells back to back, nulls as
    ''; a slice's own cells only)."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
    offsets = offsets[text.offset : text.offset + len(text) + 1]
    data = text.buffers()[2]
    if data is None or not len(text):
        return np.zeros(0, dtype=np.uint8), offsets - offsets[0]
    return np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]], offsets - offsets[0]


def _neutralize_column(text: pa.Array) -> pa.Array:
    """``neutralize`` over a whole column of text at once."""
    data, offsets = _utf8(text)
    starts = offsets[:-1][offsets[1:] > offsets[:-1]]
    if not _FORMULA_BYTES[data[starts]].any():
        return text
    risky = pc.and_(
        pc.match_substring_regex(text, _FORMULA_START_RE2),
        pc.invert(pc.match_substring_regex(text, _PLAIN_NUMBER_RE2)),
    )
    return pc.if_else(risky, pc.utf8_replace_slice(text, 0, 0, "'"), text)


def _text_column(values: pd.Series) -> pa.Array | None:
    """A column's cells as Arrow text, spelled as ``DataFrame.to_csv`` spells them (missing =
    null); None for kinds of column it does not spell here (floats, booleans, dates)."""
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return pa.array(values.to_numpy()).cast(_TEXT)
    if dtype.kind != "O" and not isinstance(dtype, pd.StringDtype):
        return None
    try:
        text = pa.array(values, type=_TEXT, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers among the text: str() as to_csv
        return pa.array([_cell(v) for v in values], type=_TEXT)
    # A column pandas concatenated (a whole sheet's rows and its skipped rows) is in pieces.
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def _csv_column(text: pa.Array) -> pa.Array:
    """One column's CSV fields: quoted (quotes doubled) only where the csv module would."""
    text = pc.fill_null(text, _EMPTY)
    raw = _utf8(text)[0].tobytes()
    if not any(byte in raw for byte in _CSV_QUOTED_BYTES):  # memchr, not a regex per cell
        return text
    needs = pc.match_substring_regex(text, _CSV_QUOTED_RE2)
    quoted = pc.binary_join_element_wise(
        _QUOTE, pc.replace_substring(text, '"', '""'), _QUOTE, _EMPTY
    )
    return pc.if_else(needs, quoted, text)


def _csv_bytes(frame: pd.DataFrame, *, neutralized: bool) -> bytes | memoryview:
    """``frame`` as CSV lines (no header), byte for byte what ``DataFrame.to_csv`` writes, of
    ``_neutralize_frame(frame)`` when ``neutralized``.

    Built column by column with Arrow kernels: per-row Python work was most of a big run's
    report stage. Frames with columns spelled otherwise (floats, ...) go through pandas.
    """

    def through_pandas() -> bytes:
        slow = _neutralize_frame(frame) if neutralized else frame
        return slow.to_csv(index=False, header=False, lineterminator="\r\n").encode()

    if frame.shape[1] < 2:  # the csv module writes a lone empty field as ""
        return through_pandas()
    fields = []
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j]
        text = _text_column(values)
        if text is None:
            return through_pandas()
        if neutralized and values.dtype.kind not in "iu":
            text = _neutralize_column(text)
        fields.append(_csv_column(text))
    if not len(frame):
        return b""
    lines = pc.binary_join_element_wise(*fields, _COMMA)
    lines = pc.binary_join_element_wise(lines, _CRLF, _EMPTY)
    # The lines are one fresh array: its text buffer holds them back to back.
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=len(lines) + 1)
    return memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]]


def _csv_header(cells: Iterable[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().encode()


def _is_secret_header(header: str, param: str | None) -> bool:
    if param is not None:
        return param in SECRET_FIELDS
    key = header_key(header)
    return any(hint in key for hint in _SECRET_HINTS)


def mask_secrets(frame: pd.DataFrame, header_to_param: Mapping[str, str]) -> pd.DataFrame:
    """A copy of the sheet's original columns with every credential cell replaced by the mask."""
    out = frame.copy()
    for header in out.columns:
        if _is_secret_header(str(header), header_to_param.get(str(header))):
            column = out[header].astype(object)
            out[header] = column.where(column.isna() | (column.astype(str).str.strip() == ""), MASK)
    return out


def _join_errors(problems: Iterable[Problem]) -> str:
    return "; ".join(
        p.message if p.severity == "error" else f"warning: {p.message}" for p in problems
    )


def _rejections_frame(
    sheet: NormalizedSheet, results: pd.DataFrame, by_row: Mapping[int, list[Problem]]
) -> pd.DataFrame:
    bad = results[results["outcome"].isin(_OUTCOMES_TO_REPORT)]
    if "gateway" in bad.columns:
        # A fleet's row failed on several gateways is one line; its errors name each gateway.
        bad = bad.drop_duplicates("row")
    header_to_param = {h: p for p, h in sheet.source_headers.items()}
    original = mask_secrets(sheet.loaded.frame.loc[bad["row"].to_numpy()], header_to_param)
    original = original[_rejection_headers(sheet)[len(_REJECT_META) :]]
    meta = pd.DataFrame(
        {
            "_row": bad["row"].to_numpy(),
            "_sheet": bad["sheet"].to_numpy(),
            "_outcome": bad["outcome"].to_numpy(),
            "_error_key": bad["error_key"].to_numpy(),
            "_errors": [
                _join_errors(by_row.get(int(r), [])) or str(m)
                for r, m in zip(bad["row"].tolist(), bad["message"].tolist(), strict=True)
            ],
        },
        index=original.index,
    )
    return pd.concat([meta, original], axis=1)


def _cell(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _rejected_rows(
    rejections: pd.DataFrame,
    by_row: Mapping[int, list[Problem]],
    field_column: Mapping[str, int],
    sheet_name: str,
    marked: int,
) -> RejectedRows:
    """The rejections sheet's lines: cells as text; for the first ``marked`` lines which cells
    to colour and annotate, and their lines of the errors sheet."""
    errors_column = list(rejections.columns).index("_errors")
    columns = []
    for j in range(rejections.shape[1]):
        text = _text_column(rejections.iloc[:, j])
        if text is None:  # not a kind of column these frames hold; spelled one by one
            text = pa.array([_cell(v) for v in rejections.iloc[:, j]], type=_TEXT)
        columns.append(sheet_texts(text))
    rows = [int(r) for r in rejections["_row"]]
    notes = []
    for row in rows[:marked]:
        found: dict[int, list[Problem]] = defaultdict(list)
        for problem in by_row.get(row, []):
            found[field_column.get(problem.field, errors_column)].append(problem)
        notes.append(
            {
                j: (
                    any(p.severity == "error" for p in here),
                    "" if j == errors_column else "\n".join(p.message for p in here),
                )
                for j, here in found.items()
            }
        )
    return RejectedRows(
        cells=list(zip(*columns, strict=True)),
        notes=notes,
        errors=[
            (str(p.row), sheet_name, p.field, p.code, p.severity, p.message)
            for row in rows[:marked]
            for p in by_row.get(row, [])
        ],
    )


def _rejection_headers(sheet: NormalizedSheet) -> list[str]:
    return [*_REJECT_META, *(str(h) for h in sheet.loaded.headers if not str(h).startswith("_"))]


class ReportWriter:
    """results.csv, rejections.csv and rejections.xlsx, written one chunk of rows at a time.

    A million-row sheet is validated in chunks; its reports are never whole in memory either.
    No file is created before the first ``add``. ``workbook_process`` writes rejections.xlsx in
    a child process (see ``importer.reports.workbook``), started at once: worth its start-up
    cost for long sheets only; ``close`` or ``abort`` ends it. Only the first ``marked_rows`` rejected rows get colours, comments and lines in the
    errors sheet (``importer.reports.workbook.MARKED_ROWS``).
    """

    def __init__(
        self, directory: Path, *, workbook_process: bool = False, marked_rows: int | None = None
    ) -> None:
        #: How many more rejected rows get colours, comments and errors-sheet lines in
        #: rejections.xlsx (``MARKED_ROWS`` unless given).
        self._marks_left = MARKED_ROWS if marked_rows is None else marked_rows
        self.paths = ReportPaths(
            directory=directory,
            results_csv=directory / "results.csv",
            rejections_csv=directory / "rejections.csv",
            rejections_xlsx=directory / "rejections.xlsx",
            summary_json=directory / "summary.json",
        )
        self._stack = ExitStack()
        self._results: IO[bytes] | None = None
        self._rejections: IO[bytes] | None = None
        # A writer process starts now: it is ready by the time the first rows are checked.
        self._workbook = (
            WorkbookWriter(self.paths.rejections_xlsx, process=True) if workbook_process else None
        )
        self._field_column: dict[str, int] = {}
        self._columns = RESULT_COLUMNS
        self._sheet_name = ""
        self._made_directory = False

    def _open(self, sheet: NormalizedSheet, columns: list[str]) -> None:
        try:
            self._open_files(sheet, columns)
        except OSError as exc:
            self._stack.close()
            raise InputError(
                f"cannot write the reports in {self.paths.directory} "
                f"({exc.strerror or exc.__class__.__name__})"
            ) from None

    def _open_files(self, sheet: NormalizedSheet, columns: list[str]) -> None:
        self._made_directory = not self.paths.directory.exists()
        self.paths.directory.mkdir(parents=True, exist_ok=True)
        # UTF-8 bytes with CRLF line ends (RFC 4180); a field holding a CR or LF is quoted, or
        # such a cell would split its row in two.
        self._results = self._stack.enter_context(self.paths.results_csv.open("wb"))
        self._rejections = self._stack.enter_context(self.paths.rejections_csv.open("wb"))
        headers = _rejection_headers(sheet)
        self._columns = columns
        self._results.write(_csv_header(columns))
        # Headers are cells too: a header '=cmd|...' must not run when the CSV is opened.
        self._rejections.write(_csv_header(neutralize(h) for h in headers))
        column_of = {header: i for i, header in enumerate(headers)}
        self._field_column = {
            param: column_of[h] for param, h in sheet.source_headers.items() if h in column_of
        }
        self._sheet_name = sheet.loaded.sheet
        if self._workbook is None:
            self._workbook = WorkbookWriter(self.paths.rejections_xlsx, headers)
        else:
            self._workbook.begin(headers)

    def add(
        self, sheet: NormalizedSheet, results: pd.DataFrame, problems: Iterable[Problem]
    ) -> None:
        """Append the rows of one chunk; ``results`` has ``RESULT_COLUMNS`` (a fleet's also a
        ``gateway`` column: ``FLEET_RESULT_COLUMNS``)."""
        if self._results is None:
            fleet = "gateway" in results.columns
            self._open(sheet, FLEET_RESULT_COLUMNS if fleet else RESULT_COLUMNS)
        assert self._results is not None and self._rejections is not None and self._workbook
        by_row: dict[int, list[Problem]] = defaultdict(list)
        for p in problems:
            by_row[p.row].append(p)
        rejections = _rejections_frame(sheet, results, by_row)
        if len(rejections):
            # The workbook first: a writer process gets on with these rows while the CSV files
            # are written here (after the last chunk, its work is what the run waits for).
            lines = _rejected_rows(
                rejections, by_row, self._field_column, self._sheet_name, self._marks_left
            )
            self._marks_left -= len(lines.notes)
            self._workbook.add(lines)
            self._rejections.write(_csv_bytes(rejections, neutralized=True))
        self._results.write(_csv_bytes(results[self._columns], neutralized=True))

    def close(self) -> ReportPaths:
        """Finish every file (the workbook last: its writer may still be catching up)."""
        try:
            self._stack.close()
        finally:
            if self._workbook is not None:
                self._workbook.close()
        return self.paths

    def abort(self) -> None:
        """The run failed or was interrupted: stop the writers and remove what they wrote.

        A half-written results.csv looks like a whole one to a script reading it, and a report
        directory must never hold rows that are not all there; only the files this writer
        opened are removed, and its directory only if this writer made it and it is empty.
        """
        try:
            self._stack.close()
        finally:
            if self._workbook is not None:
                self._workbook.abort()
            if self._results is not None:
                for path in (
                    self.paths.results_csv,
                    self.paths.rejections_csv,
                    self.paths.rejections_xlsx,
                ):
                    with suppress(OSError):
                        path.unlink(missing_ok=True)
                if self._made_directory:
                    with suppress(OSError):
                        self.paths.directory.rmdir()


def write_reports(
    directory: Path,
    sheet: NormalizedSheet,
    results: pd.DataFrame,
    problems: Iterable[Problem],
) -> ReportPaths:
    """Write results.csv and the rejections files for a whole sheet at once.

    summary.json comes last, from ``write_summary``, so its timings include the reports.
    """
    writer = ReportWriter(directory)
    try:
        writer.add(sheet, results, problems)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def write_summary(paths: ReportPaths, summary: Mapping[str, Any]) -> dict[str, Any]:
    """Write summary.json; returns the summary as written (with the report paths)."""
    written = {**summary, "reports": {k: str(v) for k, v in vars(paths).items()}}
    paths.summary_json.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    return written
