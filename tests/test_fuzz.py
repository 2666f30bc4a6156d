"""Property tests: whatever a sheet holds, validate ends in reports or one InputError.

(a) arbitrary cell text under known and unknown headers, as a real CSV and a real XLSX;
(b) arbitrary bytes as a .csv or .xlsx file; (c) a few of those through the console script.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest
from helpers import run_cli, write_text_xlsx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from importer.errors import InputError
from importer.pipeline import RunResult, validate_file
from schemas.text import header_key

HEADERS = [
    "host", "HOST ", "port", "Secret", "remotesecret", "auth", "transport", "Registration",
    "DTMF Mode", "session-expires", "Session_MinSE", "audio_codecs", "codec order", "old_name",
    "object_id", "extension", "defaultuser", "Max-Forwards", "t1min", "timert1", "timerb",
    "qualify", "Notes", "Password", "Comment 2", "_row", "_errors", "zzz",
]  # fmt: skip
NAME_HEADERS = ["name", "Name", "NAME"]
VALUES = [
    "", " ", "5060", "70000", "0", "-5", "+15551234", "dynamic", "203.0.113.7", "8.00556E+09",
    "8005555555", "0012", "=1+2", "@x", "\tx", "udp, tcp", "SCTP", "ulaw,alaw", "g729,ulaw",
    "********", "out", "in", "yes", "maybe", "1800", "90", "500ms", "x" * 81, "dup", "Dup",
]  # fmt: skip

header_lists = st.tuples(
    st.sampled_from(NAME_HEADERS),
    st.lists(st.sampled_from(HEADERS), max_size=5, unique_by=header_key),
    st.integers(min_value=0, max_value=5),
).map(lambda t: [*t[1][: t[2]], t[0], *t[1][t[2] :]])
cell_text = st.one_of(st.sampled_from(VALUES), st.text(max_size=12))
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def scratch() -> Iterator[Path]:
    # hypothesis reruns a test body many times; a function-scoped tmp_path would be shared.
    directory = Path(tempfile.mkdtemp(prefix="sip-fuzz-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def is_blank(row: Sequence[object]) -> bool:
    return all(value is None or (isinstance(value, str) and value.strip() == "") for value in row)


def check_reports(result: RunResult, rows: Sequence[Sequence[object]] | None) -> None:
    """Reports are whole: one results line per non-blank row, in order; counts add up."""
    with result.paths.results_csv.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["row", "sheet", "name", "outcome", "error_key", "message", "attempts"]
    summary = result.summary
    assert summary["rows"] == len(lines) - 1
    assert sum(summary["outcomes"].values()) == summary["rows"]
    assert {line[3] for line in lines[1:]} <= {"valid", "rejected"}
    rejected = sum(line[3] == "rejected" for line in lines[1:])
    assert result.exit_code == (1 if rejected else 0)
    with result.paths.rejections_csv.open(newline="", encoding="utf-8") as handle:
        assert len(list(csv.reader(handle))) == rejected + 1
    book = openpyxl.load_workbook(result.paths.rejections_xlsx)
    assert book["rejections"].max_row == rejected + 1
    assert all(c.data_type != "f" for ws in book.worksheets for r in ws.iter_rows() for c in r)
    if rows is not None:
        expected = [str(i + 2) for i, row in enumerate(rows) if not is_blank(row)]
        assert [line[0] for line in lines[1:]] == expected
        assert summary["blank"] == len(rows) - len(expected)


def run_validate(path: Path, rows: Sequence[Sequence[object]] | None) -> None:
    try:
        result = validate_file(path, report_dir=path.parent / "reports")
    except InputError as exc:
        message = str(exc)
        assert message and "\n" not in message
        if rows is not None and "has no data rows" not in message:
            # Cells alone can make a CSV unusable only by looking like binary (control bytes).
            assert "neither a CSV text file" in message, message
        return
    check_reports(result, rows)


def grids(cells: st.SearchStrategy[object]) -> st.SearchStrategy[tuple[list[str], list[list]]]:
    return header_lists.flatmap(
        lambda headers: st.tuples(
            st.just(headers),
            st.lists(
                st.lists(cells, min_size=len(headers), max_size=len(headers)),
                min_size=1,
                max_size=8,
            ),
        )
    )


# --- (a) arbitrary cells -------------------------------------------------------------------


@FUZZ
@given(grids(cell_text))
def test_arbitrary_cells_csv(grid: tuple[list[str], list[list[str]]]) -> None:
    headers, rows = grid
    with scratch() as directory:
        path = directory / "fuzz.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers)
            writer.writerows(rows)
        run_validate(path, rows)


xlsx_cell = st.one_of(
    cell_text.map(lambda text: ILLEGAL_CHARACTERS_RE.sub("", text)),
    st.integers(min_value=-(10**16), max_value=10**16),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)


@FUZZ
@given(grids(xlsx_cell))
def test_arbitrary_cells_xlsx(grid: tuple[list[str], list[list[object]]]) -> None:
    headers, rows = grid
    with scratch() as directory:
        path = write_text_xlsx(directory / "fuzz.xlsx", rows, headers)
        # Rows with no cell written at all after the last written one do not exist in the file.
        while rows and all(value is None or value == "" for value in rows[-1]):
            rows = rows[:-1]
        run_validate(path, rows)


# --- (b) arbitrary bytes -------------------------------------------------------------------

PREFIXES = [
    b"",
    b"name,host\n",
    b"\xef\xbb\xbfName;Host;Port\r\n",
    b"\xff\xfen\x00a\x00m\x00e\x00\n\x00",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
]
file_bytes = st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=400)).map(
    lambda t: t[0] + t[1]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=file_bytes, suffix=st.sampled_from([".csv", ".xlsx", ".xls", ".txt"]))
def test_arbitrary_bytes(data: bytes, suffix: str) -> None:
    with scratch() as directory:
        path = directory / f"input{suffix}"
        path.write_bytes(data)
        run_validate(path, None)


def test_truncated_workbook_at_every_tenth() -> None:
    with scratch() as directory:
        whole = directory / "whole.xlsx"
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["name", "host"])
        for i in range(50):
            sheet.append([f"t-{i}", "203.0.113.1"])
        book.save(whole)
        data = whole.read_bytes()
        for tenth in range(1, 10):
            path = directory / f"cut{tenth}" / "cut.xlsx"
            path.parent.mkdir()
            path.write_bytes(data[: len(data) * tenth // 10])
            run_validate(path, None)


# --- (c) through the console script ---------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(file_bytes, grids(cell_text).map(lambda g: _csv_bytes(*g))),
    suffix=st.sampled_from([".csv", ".xlsx"]),
)
def test_cli_never_tracebacks(data: bytes, suffix: str) -> None:
    with scratch() as directory:
        (directory / f"input{suffix}").write_bytes(data)
        proc = run_cli("validate", f"input{suffix}", "--report-dir", "r", cwd=directory)
        assert proc.returncode in (0, 1, 2), proc.stderr
        assert "Traceback" not in proc.stderr
        assert "internal error" not in proc.stderr
        if proc.returncode == 2:
            (line,) = proc.stderr.splitlines()
            assert line.startswith("error: ")
        else:
            assert proc.stdout.splitlines()[-1] == "reports: r"


def _csv_bytes(headers: list[str], rows: list[list[str]]) -> bytes:
    import io

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
