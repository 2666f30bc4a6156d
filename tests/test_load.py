"""importer.sheets.load: awkward real files (written with openpyxl, csv, zipfile or raw bytes)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import hashlib
import random
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.errors import InputError
from importer.sheets import guard
from importer.sheets.limits import DEFAULT_LIMITS
from importer.sheets.load import (
    CHUNK_ROWS,
    LoadedSheet,
    _cell_text,
    _Keys,
    _load_whole,
    header_key,
    join_chunks,
    load_sheet,
    open_sheet,
)

# --- fixtures -------------------------------------------------------------------------------


def write_xlsx(
    path: Path, sheets: Mapping[str, Sequence[Sequence[object]]], hidden: Sequence[str] = ()
) -> Path:
    """One worksheet per entry, in order; None leaves a cell empty."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    sheet.cell(row=r, column=c, value=value)
        if title in hidden:
            sheet.sheet_state = "hidden"
    book.save(path)
    return path


def write_ods(path: Path, rows: Sequence[Sequence[str]], sheet: str = "Endpoints") -> Path:
    """A minimal OpenDocument spreadsheet (what LibreOffice writes, minus styles)."""
    cells = "".join(
        "<table:table-row>"
        + "".join(
            '<table:table-cell office:value-type="string"><text:p>'
            + value
            + "</text:p></table:table-cell>"
            for value in row
        )
        + "</table:table-row>"
        for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{cells}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def records(loaded: LoadedSheet) -> dict[int, dict[str, str | None]]:
    """Row number -> {header: text or None}, so assertions read like the sheet."""
    frame = loaded.frame
    rows = zip(frame.index.tolist(), frame.to_numpy(dtype=object).tolist(), strict=True)
    return {
        int(row): {
            h: (None if pd.isna(v) else v) for h, v in zip(loaded.headers, values, strict=True)
        }
        for row, values in rows
    }


def assert_text_frame(loaded: LoadedSheet) -> None:
    """The contract every loader result keeps, whatever the input."""
    frame = loaded.frame
    assert tuple(frame.columns) == loaded.headers
    assert len(loaded.column_letters) == len(loaded.headers)
    assert all(isinstance(row, int) for row in frame.index.tolist())
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    for column in frame.columns:
        for value in frame[column].tolist():
            assert pd.isna(value) or isinstance(value, str), (column, value)
    assert loaded.sha256 == hashlib.sha256(loaded.path.read_bytes()).hexdigest()


# --- header_key -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Session Timers", "sessiontimers"),
        ("SESSION_EXPIRES", "sessionexpires"),
        ("DTMF Mode", "dtmfmode"),
        ("Max-Forwards", "maxforwards"),
        ("  name\t", "name"),
        ("Audio\nCodecs", "audiocodecs"),
        ("session - timers", "sessiontimers"),
    ],
)
def test_header_key(text: str, key: str) -> None:
    assert header_key(text) == key


# --- CSV: encodings and delimiters ----------------------------------------------------------

CSV_TEXT = "name,description\r\nalice,Café Zoë\r\nbob,naïve 5€\r\n"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (CSV_TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + CSV_TEXT.encode("utf-8"), "utf-8-sig"),
        (CSV_TEXT.encode("utf-16"), "utf-16"),  # BOM, little-endian
        (codecs.BOM_UTF16_BE + CSV_TEXT.encode("utf-16-be"), "utf-16"),
        (CSV_TEXT.encode("utf-16-le"), "utf-16"),  # no BOM: found by the NUL pattern
        (CSV_TEXT.encode("utf-16-be"), "utf-16"),
        (CSV_TEXT.encode("cp1252"), "cp1252"),  # 'é' and '€' are not valid UTF-8 here
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "cp1252"],
)
def test_csv_encodings(tmp_path: Path, raw: bytes, encoding: str) -> None:
    loaded = load_sheet(write(tmp_path / "carriers.csv", raw))
    assert loaded.encoding == encoding
    assert loaded.delimiter == ","
    assert loaded.headers == ("name", "description")  # no BOM glued to the first header
    assert records(loaded) == {
        2: {"name": "alice", "description": "Café Zoë"},
        3: {"name": "bob", "description": "naïve 5€"},
    }
    assert loaded.sheet == "carriers.csv"
    assert loaded.path == tmp_path / "carriers.csv"
    assert_text_frame(loaded)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters(tmp_path: Path, delimiter: str) -> None:
    d = delimiter
    text = f"Name{d}Host{d}Port\nalice{d}10.0.0.1{d}5060\nbob{d}sip.example.com{d}\n"
    loaded = load_sheet(write(tmp_path / "x.csv", text.encode()))
    assert loaded.delimiter == delimiter
    assert loaded.headers == ("Name", "Host", "Port")
    assert records(loaded) == {
        2: {"Name": "alice", "Host": "10.0.0.1", "Port": "5060"},
        3: {"Name": "bob", "Host": "sip.example.com", "Port": None},
    }


def test_delimiter_that_yields_a_name_column_wins_over_a_more_frequent_one(
    tmp_path: Path,
) -> None:
    text = "name;description;codecs\nalice;a, b, c, d;ulaw,alaw\n"
    loaded = load_sheet(write(tmp_path / "x.csv", text.encode()))
    assert loaded.delimiter == ";"
    assert records(loaded) == {
        2: {"name": "alice", "description": "a, b, c, d", "codecs": "ulaw,alaw"}
    }


def test_single_column_csv_ties_to_comma(tmp_path: Path) -> None:
    loaded = load_sheet(write(tmp_path / "x.csv", b"name\nalice;bob\n"))
    assert loaded.delimiter == ","
    assert records(loaded) == {2: {"name": "alice;bob"}}


def test_without_a_name_column_the_most_frequent_delimiter_splits_the_header(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "x.csv", b"host|port|a,b\n1|2|3\n")
    with pytest.raises(InputError) as caught:
        load_sheet(path)
    assert str(caught.value) == (
        f"{path} has no 'name' column (its header row, row 1, has 'host', 'port', 'a,b')"
    )


# --- CSV: cells and row numbers -------------------------------------------------------------


def test_quoted_delimiters_and_newlines_keep_row_numbers(tmp_path: Path) -> None:
    text = (
        'name,description,port\r\n"a,1","line one\r\nline two",5060\r\n'
        'b,"say ""hi""",\r\n\r\nc,"x\ny\nz",5061\r\n'
    )
    loaded = load_sheet(write(tmp_path / "x.csv", text.encode()))
    assert records(loaded) == {
        2: {"name": "a,1", "description": "line one\r\nline two", "port": "5060"},
        3: {"name": "b", "description": 'say "hi"', "port": None},
        5: {"name": "c", "description": "x\ny\nz", "port": "5061"},
    }
    assert loaded.blank_rows == 1


def test_only_empty_cells_are_missing(tmp_path: Path) -> None:
    text = 'name,a,b,c,d,e,f,g,h\nNA,null,None,nan,N/A,#N/A,"",, x \n'
    loaded = load_sheet(write(tmp_path / "x.csv", text.encode()))
    assert records(loaded)[2] == {
        "name": "NA",
        "a": "null",
        "b": "None",
        "c": "nan",
        "d": "N/A",
        "e": "#N/A",
        "f": None,  # quoted empty is still empty
        "g": None,
        "h": " x ",  # not stripped
    }


def test_leading_zeros_survive_csv(tmp_path: Path) -> None:
    loaded = load_sheet(write(tmp_path / "x.csv", b"name,extension\n0012,007\n"))
    assert records(loaded) == {2: {"name": "0012", "extension": "007"}}


def test_blank_rows_are_counted_skipped_and_never_end_the_data(tmp_path: Path) -> None:
    text = "name,port\n\n\na,1\n\n ,  \n,\nb,2\n\t\n\n\n\nc,3\n\n"
    loaded = load_sheet(write(tmp_path / "x.csv", text.encode()))
    assert list(loaded.frame.index) == [4, 8, 13]
    assert loaded.frame["name"].tolist() == ["a", "b", "c"]
    # rows 2, 3, 5, 6, 7, 9, 10, 11, 12 and 14 (the trailing empty line before EOF)
    assert loaded.blank_rows == 10


def test_leading_blank_lines_move_the_header_down(tmp_path: Path) -> None:
    loaded = load_sheet(write(tmp_path / "x.csv", b"\n,,\nname,port\na,1\n"))
    assert records(loaded) == {4: {"name": "a", "port": "1"}}
    assert loaded.blank_rows == 0  # lines above the header are not data rows


def test_rows_with_fewer_fields_are_missing_not_shifted(tmp_path: Path) -> None:
    loaded = load_sheet(write(tmp_path / "x.csv", b"name,host,port\na\nb,h\n"))
    assert records(loaded) == {
        2: {"name": "a", "host": None, "port": None},
        3: {"name": "b", "host": "h", "port": None},
    }
    assert loaded.extra_cells == {}


def test_extra_cells_are_recorded_and_the_row_kept(tmp_path: Path) -> None:
    wide = ",".join(["c", "3"] + [f"x{i}" for i in range(40)])
    text = f"name,port\na,1,x,y\nb,2,\nd,4,,,  ,\n{wide}\ne,5\n"
    loaded = load_sheet(write(tmp_path / "x.csv", text.encode()))
    # Row 3's trailing delimiter and row 4's empty/blank extras are not cells.
    assert loaded.extra_cells == {2: 2, 5: 40}
    assert loaded.headers == ("name", "port")
    assert records(loaded) == {
        2: {"name": "a", "port": "1"},
        3: {"name": "b", "port": "2"},
        4: {"name": "d", "port": "4"},
        5: {"name": "c", "port": "3"},
        6: {"name": "e", "port": "5"},
    }


def test_a_first_line_wider_than_the_header_loses_nothing(tmp_path: Path) -> None:
    # pandas cuts an over-long *first* row with only a warning; the loader must widen instead.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_sheet(write(tmp_path / "x.csv", b",,,,,\nname,port\nx,1,,\ny,2,3\n"))
    assert records(loaded) == {3: {"name": "x", "port": "1"}, 4: {"name": "y", "port": "2"}}
    assert loaded.extra_cells == {4: 1}


def test_unnamed_csv_columns_get_letters_or_are_dropped(tmp_path: Path) -> None:
    text = "name,,port,,\na,note,1,,\nb,,2,,\n"
    loaded = load_sheet(write(tmp_path / "x.csv", text.encode()))
    assert loaded.headers == ("name", "(column B)", "port")
    assert loaded.column_letters == ("A", "B", "C")
    assert records(loaded)[2] == {"name": "a", "(column B)": "note", "port": "1"}
    assert loaded.extra_cells == {}


def test_header_texts_are_stripped_values_are_not(tmp_path: Path) -> None:
    loaded = load_sheet(write(tmp_path / "x.csv", b" Name ,\tPort\n a ,5060\n"))
    assert loaded.headers == ("Name", "Port")
    assert records(loaded) == {2: {"Name": " a ", "Port": "5060"}}


def test_report_columns_do_not_collide_with_parameters(tmp_path: Path) -> None:
    text = "_row,_sheet,_errors,name,row\n2,x.csv,port: too big,a,r\n"
    loaded = load_sheet(write(tmp_path / "rejections.csv", text.encode()))
    assert loaded.headers == ("_row", "_sheet", "_errors", "name", "row")


def test_name_aliases_count_as_the_name_column(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", b"Trunk Name;Port\na;1\n")
    loaded = load_sheet(path, name_aliases=["trunk_name"])
    assert loaded.delimiter == ";"
    assert records(loaded) == {2: {"Trunk Name": "a", "Port": "1"}}
    with pytest.raises(InputError, match="has no 'name' column"):
        load_sheet(path)


def test_sheet_argument_is_ignored_for_csv(tmp_path: Path) -> None:
    loaded = load_sheet(write(tmp_path / "x.csv", b"name\na\n"), sheet="Endpoints")
    assert loaded.sheet == "x.csv"


def test_csv_frame_contract(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", b"name,port\na,1\n\nb,\n")
    loaded = load_sheet(str(path))
    assert loaded.path == path
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert_text_frame(loaded)


# --- workbooks ------------------------------------------------------------------------------


def test_xlsx_cells_become_text(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["name", "extension", "port", "ratio", "flag", "off", "date", "stamp", "big", "neg"],
        ["0012", 8005555555, 5060, 1.5, True, False, dt.date(2024, 1, 2)],
        ["b", 8005555555.0, 5060.0, 0.25, None, None, None, dt.datetime(2024, 1, 2, 3, 4, 5)],
        ["c", None, None, None, None, None, None, None, 1e20, -3.0],
    ]
    loaded = load_sheet(write_xlsx(tmp_path / "x.xlsx", {"Endpoints": rows}))
    assert loaded.encoding is None and loaded.delimiter is None
    assert records(loaded) == {
        2: {
            "name": "0012",
            "extension": "8005555555",
            "port": "5060",
            "ratio": "1.5",
            "flag": "1",
            "off": "0",
            "date": "2024-01-02",
            "stamp": None,
            "big": None,
            "neg": None,
        },
        3: {
            "name": "b",
            "extension": "8005555555",
            "port": "5060",
            "ratio": "0.25",
            "flag": None,
            "off": None,
            "date": None,
            "stamp": "2024-01-02T03:04:05",
            "big": None,
            "neg": None,
        },
        4: {
            "name": "c",
            "extension": None,
            "port": None,
            "ratio": None,
            "flag": None,
            "off": None,
            "date": None,
            "stamp": None,
            # Beyond Excel's 15 digits: shown as Excel shows it, so validation can flag it.
            "big": "1e+20",
            "neg": "-3",
        },
    }
    assert_text_frame(loaded)


def test_xlsx_times_durations_and_the_15_digit_limit_become_text(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["name", "a", "b", "c", "d", "e", "f"],
        ["x", dt.time(13, 5), dt.timedelta(hours=26, minutes=3, seconds=4),
         999_999_999_999_999.0, 1e15, -1e15, -2.5],
        ["y", 1e-7, True, False, -0.0, 123_456_789_012_345_678, dt.datetime(2024, 1, 2, 0, 0)],
        ["z", "0012", 5060, "", 0.1, -7, "text"],
    ]  # fmt: skip
    loaded = load_sheet(write_xlsx(tmp_path / "x.xlsx", {"S": rows}))
    assert records(loaded) == {
        2: {"name": "x", "a": "13:05:00", "b": "26:03:04", "c": "999999999999999",
            "d": "1e+15", "e": "-1e+15", "f": "-2.5"},
        3: {"name": "y", "a": "1e-07", "b": "1", "c": "0", "d": "0",
            "e": "1.23456789012346e+17", "f": "2024-01-02"},
        4: {"name": "z", "a": "0012", "b": "5060", "c": None, "d": "0.1", "e": "-7",
            "f": "text"},
    }  # fmt: skip
    assert_text_frame(loaded)


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        ("0012", "0012"),
        (True, "1"),
        (False, "0"),
        (8005555555, "8005555555"),
        (8005555555.0, "8005555555"),
        (999_999_999_999_999.0, "999999999999999"),
        (-0.0, "0"),  # as a column of numbers writes it (_mixed_texts)
        (1e15, "1e+15"),
        (-1e15, "-1e+15"),
        (0.25, "0.25"),
        (dt.date(2024, 1, 2), "2024-01-02"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (dt.time(7, 8, 9), "07:08:09"),
        (dt.timedelta(hours=26, minutes=3, seconds=4), "26:03:04"),
        (dt.timedelta(seconds=-3661), "-1:01:01"),
        (dt.timedelta(seconds=59), "0:00:59"),
        (dt.timedelta(minutes=58), "0:58:00"),
        (dt.timedelta(seconds=-1), "-0:00:01"),
        (dt.timedelta(0), "0:00:00"),
    ],
)
def test_cell_text_of_each_cell_type(cell: object, text: str) -> None:
    # Headers and the first filled row are read cell by cell through this too.
    assert _cell_text(cell) == text  # type: ignore[arg-type]


def test_xlsx_text_cells_are_unchanged(tmp_path: Path) -> None:
    rows = [["name", "secret"], [" a ", "NA"], ["null", "0012"]]
    loaded = load_sheet(write_xlsx(tmp_path / "x.xlsx", {"S": rows}))
    assert records(loaded) == {
        2: {"name": " a ", "secret": "NA"},
        3: {"name": "null", "secret": "0012"},
    }


@pytest.mark.parametrize("enabled", [True, False], ids=["gc-on", "gc-off"])
def test_reading_a_workbook_leaves_the_garbage_collector_as_it_was(
    tmp_path: Path, enabled: bool
) -> None:
    # The loader pauses cyclic collection while calamine's cells are Python objects.
    good = write_xlsx(tmp_path / "x.xlsx", {"S": [["name"], ["a"]]})
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good.read_bytes()[:200])
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        assert records(load_sheet(good)) == {2: {"name": "a"}}
        assert gc.isenabled() is enabled
        with pytest.raises(InputError):
            load_sheet(broken)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_xlsx_physical_rows_letters_blank_rows_and_extra_cells(tmp_path: Path) -> None:
    # Header at C3; D holds data but no header; F is unnamed and empty; H lies past the header.
    grid: list[list[object]] = [[None] * 8 for _ in range(12)]
    grid[2][2:7] = ["Name", None, "Port", None, "Host"]
    grid[3][2:7] = ["a", "note", 5060, None, "h1"]
    grid[5][2:8] = [None, None, None, None, None, "   "]  # blank: whitespace only
    grid[8][2:8] = ["b", None, 5061, None, None, "stray"]
    grid[11][2:7] = ["c", None, None, None, "h3"]
    loaded = load_sheet(write_xlsx(tmp_path / "x.xlsx", {"Endpoints": grid}))
    assert loaded.headers == ("Name", "(column D)", "Port", "Host")
    assert loaded.column_letters == ("C", "D", "E", "G")
    assert records(loaded) == {
        4: {"Name": "a", "(column D)": "note", "Port": "5060", "Host": "h1"},
        9: {"Name": "b", "(column D)": None, "Port": "5061", "Host": None},
        12: {"Name": "c", "(column D)": None, "Port": None, "Host": "h3"},
    }
    assert loaded.blank_rows == 6  # rows 5, 6, 7, 8, 10, 11
    assert loaded.extra_cells == {9: 1}


def test_default_sheet_is_the_first_with_a_name_column(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "x.xlsx",
        {
            "Instructions": [["Fill one row per trunk"], ["name = the trunk name"]],
            "Lookup": [["Name"], ["hidden"]],
            "Endpoints": [[None], ["Trunk", "NAME"], ["t1", "alice"]],
            "Later": [["name"], ["bob"]],
        },
        hidden=["Lookup"],
    )
    loaded = load_sheet(path)
    assert loaded.sheet == "Endpoints"
    assert records(loaded) == {3: {"Trunk": "t1", "NAME": "alice"}}
    assert load_sheet(path, sheet="Later").sheet == "Later"
    assert load_sheet(path, sheet="later").sheet == "Later"  # unique case-insensitive match
    assert load_sheet(path, sheet="Lookup").sheet == "Lookup"


def test_xlsx_content_decides_not_the_extension(tmp_path: Path) -> None:
    real = write_xlsx(tmp_path / "real.xlsx", {"S": [["name"], ["a"]]})
    for name in ("export.xls", "export.csv", "export.dat"):
        loaded = load_sheet(write(tmp_path / name, real.read_bytes()))
        assert loaded.sheet == "S" and records(loaded) == {2: {"name": "a"}}
    # Web portals often export CSV/TSV text under an .xls name.
    loaded = load_sheet(write(tmp_path / "portal.xls", b"name\tport\na\t1\n"))
    assert loaded.delimiter == "\t" and records(loaded) == {2: {"name": "a", "port": "1"}}


def test_ods(tmp_path: Path) -> None:
    loaded = load_sheet(write_ods(tmp_path / "x.ods", [["name", "port"], ["alice", "0012"]]))
    assert loaded.sheet == "Endpoints"
    assert records(loaded) == {2: {"name": "alice", "port": "0012"}}


def test_xlsx_frame_contract(tmp_path: Path) -> None:
    rows: list[list[object]] = [["name", "n", "b"], ["a", 1.0, True], [None] * 3, ["c", 2.5, False]]
    loaded = load_sheet(write_xlsx(tmp_path / "x.xlsx", {"S": rows}))
    assert loaded.blank_rows == 1
    assert list(loaded.frame.index) == [2, 4]
    assert_text_frame(loaded)


# --- input errors: exact messages -----------------------------------------------------------


def expect(path: Path | str, message: str, sheet: str | None = None) -> None:
    with pytest.raises(InputError) as caught:
        load_sheet(path, sheet=sheet)
    assert str(caught.value) == message


def test_missing_file(tmp_path: Path) -> None:
    expect(tmp_path / "nope.csv", f"{tmp_path / 'nope.csv'} does not exist")


def test_directory(tmp_path: Path) -> None:
    expect(tmp_path, f"{tmp_path} is a directory, not a sheet file")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "x.csv", b"name\na\n")

    def refuse(path: str, flags: int) -> int:
        raise PermissionError(13, "Permission denied", path)

    # chmod 000 does not stop root (CI containers), so the refusal is simulated where every
    # way of reading a sheet opens it.
    monkeypatch.setattr(guard, "_open_fd", refuse)
    expect(path, f"{path} cannot be read (permission denied)")


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", b"")
    expect(path, f"{path} is empty (0 bytes)")


@pytest.mark.parametrize(
    "raw",
    [
        random.Random(7).randbytes(4096),
        b"name,port\nalice,5060\x00\x00\x00\n",
        b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4,
    ],
    ids=["random", "nul-bytes", "executable"],
)
def test_binary_garbage(tmp_path: Path, raw: bytes) -> None:
    path = write(tmp_path / "x.csv", raw)
    expect(path, f"{path} is neither a CSV text file nor a spreadsheet workbook")


def test_zip_that_is_no_workbook(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    expect(path, f"{path} is neither a CSV text file nor a spreadsheet workbook")


def fake_workbooks(tmp_path: Path) -> list[tuple[Path, str]]:
    real = write_xlsx(tmp_path / "real.xlsx", {"S": [["name"], *[[f"n{i}"] for i in range(50)]]})
    data = real.read_bytes()
    not_workbook = tmp_path / "zip.xlsx"
    with zipfile.ZipFile(not_workbook, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    corrupt = tmp_path / "corrupt.xlsm"
    with zipfile.ZipFile(real) as source, zipfile.ZipFile(corrupt, "w") as target:
        for member in source.namelist():
            body = source.read(member)
            if member.startswith("xl/worksheets/"):
                body = body[: len(body) // 2]  # cut mid-element: malformed XML
            target.writestr(member, body)
    return [
        (write(tmp_path / "text.xlsx", b"name,port\na,1\n"), ".xlsx"),
        (write(tmp_path / "truncated.xlsx", data[: len(data) // 2]), ".xlsx"),
        (corrupt, ".xlsm"),
        (not_workbook, ".xlsx"),
        (write(tmp_path / "ole.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000)), ".xls"),
        (write(tmp_path / "ole.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000)), ".xls"),
        (write(tmp_path / "half.dat", data[: len(data) // 2]), ".xlsx"),
    ]


def test_fake_or_truncated_workbooks(tmp_path: Path) -> None:
    for path, really in fake_workbooks(tmp_path):
        expect(
            path,
            f"{path} is not a readable Excel workbook (it may be truncated or not really {really})",
        )


def test_fake_ods(tmp_path: Path) -> None:
    path = write(tmp_path / "x.ods", b"name\na\n")
    expect(
        path,
        f"{path} is not a readable OpenDocument spreadsheet "
        "(it may be truncated or not really .ods)",
    )


def test_password_protected_workbook(tmp_path: Path) -> None:
    # What Excel writes for a locked .xlsx: an OLE2 container holding an EncryptedPackage stream.
    raw = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(500)
        + "EncryptedPackage".encode("utf-16-le")
        + bytes(500)
    )
    path = write(tmp_path / "locked.xlsx", raw)
    expect(path, f"{path} is password-protected (save a copy without a password)")


@pytest.mark.parametrize(
    "raw",
    [b"\n\n", b"  \r\n\t\n,,,\n\n", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\n"],
    ids=["newlines", "whitespace-and-delimiters", "bom-only", "bom-newline"],
)
def test_csv_without_header_row(tmp_path: Path, raw: bytes) -> None:
    path = write(tmp_path / "x.csv", raw)
    expect(path, f"{path} has no header row (it is blank)")


def test_csv_without_name_column(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", b"\nhost,port\n10.0.0.1,5060\n")
    expect(path, f"{path} has no 'name' column (its header row, row 2, has 'host', 'port')")


def test_csv_without_name_column_lists_at_most_eight_headers(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", (",".join(f"h{i}" for i in range(11)) + "\n").encode())
    expect(
        path,
        f"{path} has no 'name' column (its header row, row 1, has 'h0', 'h1', 'h2', 'h3', "
        "'h4', 'h5', 'h6', 'h7' and 3 more)",
    )


@pytest.mark.parametrize(
    "raw",
    [b"name,port\n", b"name,port", b"name,port\n\n \n,\n\t,\n"],
    ids=["header-only", "no-final-newline", "only-blank-rows"],
)
def test_csv_without_data_rows(tmp_path: Path, raw: bytes) -> None:
    path = write(tmp_path / "x.csv", raw)
    expect(path, f"{path} has no data rows")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"Name,port,x,y,name", "columns A and E of {} both mean 'name' ('Name' and 'name')"),
        (
            b"name,Session Timers,session_timers",
            "columns B and C of {} both mean 'sessiontimers' ('Session Timers' and "
            "'session_timers')",
        ),
        (b"name,port,port", "columns B and C of {} both mean 'port' ('port' and 'port')"),
    ],
)
def test_duplicate_headers(tmp_path: Path, header: bytes, message: str) -> None:
    path = write(tmp_path / "x.csv", header + b"\na,1,2,3,4\n")
    expect(path, message.format(path))


def test_duplicate_headers_in_a_workbook(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", {"S": [[None, "Name", "DTMF Mode", "dtmf_mode"]]})
    expect(
        path,
        f"columns C and D of sheet 'S' of {path} both mean 'dtmfmode' ('DTMF Mode' and "
        "'dtmf_mode')",
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b"name\nab\x81c\n",
            "{} is not readable text (it is neither UTF-8, UTF-16 nor Windows-1252)",
        ),
        (
            codecs.BOM_UTF8 + b"name\nd\xe9j\xe0\n",
            "{} is not readable text "
            "(it is marked as UTF-8 but byte 0xE9 at offset 9 is not UTF-8)",
        ),
        (
            codecs.BOM_UTF16_LE + "name\na\n".encode("utf-16-le") + b"\x00",
            "{} is not readable text (it looks like UTF-16 but is not valid UTF-16)",
        ),
    ],
    ids=["not-utf8-nor-cp1252", "bom-then-latin1", "odd-length-utf16"],
)
def test_undecodable_text(tmp_path: Path, raw: bytes, message: str) -> None:
    path = write(tmp_path / "x.csv", raw)
    expect(path, message.format(path))


def test_row_wider_than_any_spreadsheet(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", b"name\n" + b",x" * 20000 + b"\n")
    expect(
        path,
        f"line 2 of {path} has more than 16,384 cells (the cells limit is 16,384; if the file "
        "is right, raise it with --limit cells=N)",
    )


def test_unterminated_quote(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", b'name,port\na,1\n\n"b,2\nc,3\n')
    expect(path, f"{path} has a quoted value that never ends (its opening '\"' is on row 4)")


def test_workbook_sheet_errors(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "x.xlsx",
        {
            "Intro": [["Read me"]],
            "Empty": [],
            "Header": [[None], ["name", "port"]],
            "Blank": [["name", "port"], [None, " "], ["  ", None]],
        },
    )
    expect(
        path,
        f"{path} has no sheet named 'Endpoints' (its sheets are 'Intro', 'Empty', "
        "'Header', 'Blank')",
        sheet="Endpoints",
    )
    expect(path, f"sheet 'Empty' of {path} has no header row (it is blank)", sheet="Empty")
    expect(path, f"sheet 'Header' of {path} has no data rows", sheet="Header")
    expect(path, f"sheet 'Blank' of {path} has no data rows", sheet="Blank")
    expect(
        path,
        f"sheet 'Intro' of {path} has no 'name' column (its header row, row 1, has 'Read me')",
        sheet="Intro",
    )
    # By default 'Header' is chosen (first sheet with a 'name' column), even without data.
    expect(path, f"sheet 'Header' of {path} has no data rows")


def test_workbook_without_any_name_column(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "x.xlsx", {"Intro": [["Read me"]], "Data": [["host"], ["h"]], "Empty": []}
    )
    expect(path, f"{path} has no sheet with a 'name' column (looked at 'Intro', 'Data', 'Empty')")


# --- robustness -----------------------------------------------------------------------------


def _load_or_input_error(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            loaded = load_sheet(path)
        except InputError as exc:
            message = str(exc)
            assert message and "\n" not in message and str(path) in message
        else:
            assert_text_frame(loaded)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.text(alphabet=st.sampled_from('name,;|\t"\r\n aé0\x00NA'), max_size=300).map(str.encode),
    ),
    suffix=st.sampled_from([".csv", ".xlsx", ".xls", ".ods", ".txt"]),
)
def test_arbitrary_bytes_load_or_raise_input_error(data: bytes, suffix: str) -> None:
    _load_or_input_error(data, suffix)


@pytest.fixture(scope="module")
def real_xlsx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("xlsx") / "real.xlsx"
    rows: list[list[object]] = [["name", "port", "flag"]]
    rows += [[f"n{i}", 5060 + i, i % 2 == 0] for i in range(30)]
    return write_xlsx(path, {"Endpoints": rows}).read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=1), flips=st.lists(st.tuples(st.integers(0), st.integers(0, 255))))
def test_damaged_xlsx_loads_or_raises_input_error(
    real_xlsx: bytes, cut: int, flips: list[tuple[int, int]]
) -> None:
    damaged = bytearray(real_xlsx[: max(1, cut % (len(real_xlsx) + 1))])
    for offset, value in flips:
        damaged[offset % len(damaged)] = value
    _load_or_input_error(bytes(damaged), ".xlsx")


# --- streamed vs whole ------------------------------------------------------------------------
# A plain UTF-8 CSV is streamed in chunks by Arrow; every other file is read whole by pandas. Both
# must give the same rows, row numbers, blank count, extra cells and errors.


def _outcome(run: Callable[[], LoadedSheet]) -> tuple[object, ...]:
    try:
        loaded = run()
    except InputError as exc:
        return ("error", str(exc))
    return (
        "rows",
        loaded.headers,
        loaded.column_letters,
        records(loaded),
        loaded.blank_rows,
        loaded.extra_cells,
        loaded.sha256,
        loaded.encoding,
        loaded.delimiter,
        loaded.title_rows,
        loaded.header_row,
    )


def _whole(path: Path) -> LoadedSheet:
    return _load_whole(path, str(path), None, _Keys(frozenset({"name"})), DEFAULT_LIMITS)


def _streamed(path: Path, chunk_rows: int) -> LoadedSheet:
    reader = open_sheet(path, chunk_rows=chunk_rows)
    reader.block_bytes = 16  # Arrow's blocks then end inside rows and quoted values
    assert all(len(chunk.frame) <= chunk_rows for chunk in reader.chunks())
    return join_chunks(reader)


STREAM_CASES = {
    "plain": b"name,host,port\na,h1,5060\nb,h2,5061\nc,h3,5062\nd,h4,5063\n",
    "crlf and bom": codecs.BOM_UTF8 + b"name;host\r\na;x\r\nb;y\r\nc;z\r\n",
    "blank rows of delimiters": b"name,host\na,x\n,\n , \nb,y\n,\nc,z\n,\n",
    "quoted newlines and empties": b'name,note\na,"two\nlines"\n"b",""\nc,"x,""y"""\nd,NA\n',
    "wider row midway": b"name,host\na,x\nb,y\nc,z,extra,more\nd,w\ne,v\n",
    "shorter row midway": b"name,host,port\na,x,1\nb,y,2\nc\nd,w,4\n",
    "empty line midway": b"name,host\na,x\nb,y\n\nc,z\nd,w\n",
    "empty lines at the end": b"name,host\na,x\nb,y\n\n\n",
    "only blank data rows": b"name,host\n,\n ,\n",
    "no newline at the end": b"name,host\na,x\nb,y",
    "runaway quote": b'name,host\na,x\nb,y\nc,"z\nd,w\n',
    "runaway quote after a quote in a cell": b'name,host\n;","',
    "runaway quote without a last line break": b'name,host\na,"x',
    "quote after text": b'name,host\na,x"y\nb,"q"r\n',
    "cp1252": b"name,host\nb\xe9,x\nc,y\n",
    "tab delimited": b"name\thost\na\tx\nb\t \n",
    "single column": b"name\na\n\nb\n",
    "title block": b"ACME onboarding\nversion 3;2026\n\nname,host\na,x\n\nb,y\nc,z\n",
    "comment lines": b"# clean this data!\n#, really\nname,host\na,x\nb,y\n",
    "title block, then a ragged row": b"Title\n\nname,host\na,x\nb,y,z\nc,w\n",
    "quote in a title line": b'Title "draft, v2\nname,host\na,x\nb,y\n',
}


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
@pytest.mark.parametrize("case", list(STREAM_CASES))
def test_streamed_csv_equals_the_whole_file_read(
    tmp_path: Path, case: str, chunk_rows: int
) -> None:
    path = write(tmp_path / "sheet.csv", STREAM_CASES[case])
    whole = _outcome(lambda: _whole(path))
    assert _outcome(lambda: _streamed(path, chunk_rows)) == whole
    assert _outcome(lambda: load_sheet(path)) == whole


def test_plain_csv_is_streamed_and_odd_ones_are_read_whole(tmp_path: Path) -> None:
    assert open_sheet(write(tmp_path / "a.csv", STREAM_CASES["plain"])).whole is None
    assert open_sheet(write(tmp_path / "b.csv", STREAM_CASES["cp1252"])).whole is not None


def test_chunks_of_some_columns_keep_row_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b"name,host\na,x\n,\nb,y\n,z\n")
    chunks = list(open_sheet(path, chunk_rows=2).chunks(["name"]))
    names = pd.concat([chunk.frame["name"] for chunk in chunks])
    # Blank rows cannot be told from one column, so they come too (their name is missing).
    assert names.index.tolist() == [2, 3, 4, 5]
    assert [None if pd.isna(v) else v for v in names.tolist()] == ["a", None, "b", None]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(alphabet=st.sampled_from('abé,;"\r\n \t'), max_size=200),
    chunk_rows=st.integers(1, 4),
)
def test_streamed_and_whole_agree_on_arbitrary_text(text: str, chunk_rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(b"name,host\n" + text.encode())
        whole = _outcome(lambda: _whole(path))
        assert _outcome(lambda: _streamed(path, chunk_rows)) == whole


def test_a_long_path_is_shown_by_its_end(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)
    deep.mkdir()
    path = deep / "sheet.csv"
    with pytest.raises(InputError) as caught:
        load_sheet(path)
    message = str(caught.value)
    assert message == "…" + str(path)[-99:] + " does not exist"


@pytest.mark.parametrize(
    ("device", "message"),
    [("/dev/null", "{} is a device, not a file; give the sheet's own file")],
)
def test_only_regular_files_are_read(tmp_path: Path, device: str, message: str) -> None:
    link = tmp_path / "x.csv"
    link.symlink_to(device)
    expect(link, message.format(link))


def test_limits_are_checked_on_both_csv_paths_and_in_workbooks(tmp_path: Path) -> None:
    from importer.sheets.limits import parse_limits

    limits = parse_limits(["rows=3", "cell-chars=5"])
    streamed = write(tmp_path / "s.csv", b"name,host\na,b\nc,d\ne,f\n")
    careful = write(tmp_path / "c.csv", b"name;host\na;b\n\nc;d\n")
    quoted = write(tmp_path / "q.csv", b'name,host\na,"1,2,3,4,5,6"\n')
    book = tmp_path / "b.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (["name", "host"], ["a", "b"], ["c", "d"], ["e", "f"]):
        sheet.append(row)
    workbook.save(book)
    hint = "if the file is right, raise it with --limit"
    for path in (streamed, careful):
        with pytest.raises(InputError) as caught:
            load_sheet(path, limits=limits)
        assert (
            str(caught.value) == f"{path} has more than 3 rows (the rows limit is 3; {hint} rows=N)"
        )
    with pytest.raises(InputError) as caught:
        load_sheet(quoted, limits=limits)
    assert str(caught.value) == (
        f"{quoted} has a cell of more than 5 characters (the cell-chars limit is 5; {hint} "
        "cell-chars=N)"
    )
    with pytest.raises(InputError) as caught:
        load_sheet(book, limits=limits)
    assert str(caught.value) == (
        f"sheet 'Sheet' of {book} has 4 rows (the rows limit is 3; {hint} rows=N)"
    )


def test_a_zip_directory_listing_too_many_parts_is_refused_before_it_is_parsed(
    tmp_path: Path,
) -> None:
    # zipfile builds an object per part listed; a directory of 9 MiB (some 100,000 parts) is
    # refused from its end record alone, which is all this one has of it.
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 12 : end + 16] = (9 << 20).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    expect(
        path,
        f"{path} is no workbook: its zip directory takes 9 MiB, room for more parts than any "
        "workbook has",
    )


# --- header detection: title rows and comments above the header ------------------------------

TITLED_ROWS = [
    ["ACME Telecom: SIP trunk onboarding"],
    ["version 3", "2026-01-05"],
    [],
    ["name", "host", "port"],
    ["trunk-1", "203.0.113.1", "5060"],
    [],
    ["trunk-2", "sip.example.com", "5061"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_csv_title_block_and_comments_are_not_data(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "titled.csv"
    with path.open("w", newline="", encoding=encoding) as handle:
        handle.write('# clean this data! "soon", é\n')
        csv.writer(handle, delimiter=";").writerows(TITLED_ROWS)
    loaded = load_sheet(path)
    assert loaded.headers == ("name", "host", "port")
    assert loaded.header_row == 5
    assert loaded.title_rows == 3  # the comment, the title and the version line
    assert loaded.blank_rows == 1
    assert records(loaded) == {
        6: {"name": "trunk-1", "host": "203.0.113.1", "port": "5060"},
        8: {"name": "trunk-2", "host": "sip.example.com", "port": "5061"},
    }


def test_a_comment_line_that_holds_the_name_column_is_the_header(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b"#,name,host\n1,a,x\n")
    loaded = load_sheet(path)
    assert loaded.headers == ("#", "name", "host")
    assert loaded.title_rows == 0


def test_big_csv_with_a_title_block_is_streamed(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b"Carrier sheet\n# v2\nname,host\na,x\nb,y\n")
    reader = open_sheet(path, chunk_rows=1)
    assert reader.whole is None
    assert (reader.meta.header_row, reader.meta.title_rows) == (3, 2)
    assert list(records(join_chunks(reader))) == [4, 5]


def _titled_workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "trunks"
    for row in TITLED_ROWS:
        sheet.append(row)
    book.save(path)
    return path


def _titled_ods(path: Path) -> Path:
    width = max(len(row) for row in TITLED_ROWS)
    frame = pd.DataFrame([row + [None] * (width - len(row)) for row in TITLED_ROWS])
    frame.to_excel(path, engine="odf", sheet_name="trunks", header=False, index=False)
    return path


@pytest.mark.parametrize("writer", [_titled_workbook, _titled_ods], ids=["xlsx", "ods"])
def test_workbook_title_block_is_not_data(tmp_path: Path, writer: Callable[[Path], Path]) -> None:
    path = writer(tmp_path / ("t.xlsx" if writer is _titled_workbook else "t.ods"))
    loaded = load_sheet(path)
    assert (loaded.sheet, loaded.header_row, loaded.title_rows) == ("trunks", 4, 2)
    assert list(records(loaded)) == [5, 7]
    assert loaded.blank_rows == 1


def test_default_sheet_looks_past_a_title_block(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    intro = book.active
    assert intro is not None
    intro.title = "Intro"
    intro.append(["Read me"])
    data = book.create_sheet("data")
    data.append(["Carrier: ACME"])
    data.append(["Name", "Host"])
    data.append(["a", "x"])
    book.save(tmp_path / "b.xlsx")
    loaded = load_sheet(tmp_path / "b.xlsx")
    assert (loaded.sheet, loaded.header_row, loaded.title_rows) == ("data", 2, 1)


def test_header_is_looked_for_in_the_first_50_non_blank_rows(tmp_path: Path) -> None:
    lines = [f"note {i}" for i in range(50)]
    path = write(tmp_path / "a.csv", "\n".join([*lines, "name,host", "a,x", ""]).encode())
    with pytest.raises(InputError) as caught:
        load_sheet(path)
    assert str(caught.value) == (
        f"{path} has no 'name' column (its header row, row 1, has 'note 0')"
    )
    path = write(tmp_path / "b.csv", "\n".join([*lines[:49], "", "name,host", "a,x", ""]).encode())
    assert load_sheet(path).header_row == 51


def test_repeated_columns_that_are_no_parameter_are_kept_apart(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", b"name,chanunavail_cid,chanunavail_cid\na,1,2\n")
    loaded = load_sheet(path, parameter_keys={"name", "host"})
    assert loaded.headers == ("name", "chanunavail_cid", "chanunavail_cid (column C)")
    with pytest.raises(InputError, match="both mean 'chanunavailcid'"):
        load_sheet(path)


# --- workbook edge cases: calamine decides; encryption in every format; no Excel at all -------


def test_package_with_parts_at_unusual_paths_opens(tmp_path: Path) -> None:
    # A valid package needs no 'xl/' folder: _rels/.rels says where the workbook is.
    original = write_xlsx(tmp_path / "orig.xlsx", {"S": [["name", "host"], ["a", "dynamic"]]})
    moved = tmp_path / "minimal.xlsx"
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(moved, "w") as target:
        for member in source.namelist():
            body = source.read(member).replace(b"/xl/", b"/book/")
            body = body.replace(b'Target="xl/', b'Target="book/')
            target.writestr(member.replace("xl/", "book/", 1), body)
    assert "xl/workbook.xml" not in zipfile.ZipFile(moved).namelist()
    loaded = load_sheet(moved)
    assert (loaded.sheet, records(loaded)) == ("S", {2: {"name": "a", "host": "dynamic"}})


def _encrypted_xls(path: Path) -> Path:
    import xlwt  # type: ignore[import-untyped]

    book = xlwt.Workbook()
    book.add_sheet("S").write(0, 0, "name")
    book.save(str(path))
    data = path.read_bytes()
    # Excel marks an encrypted .xls with a FILEPASS record (0x002F) right after the BOF of the
    # workbook globals; xlwt cannot encrypt, so its next record's type is changed to that one.
    at = data.find(b"\x09\x08\x10\x00\x00\x06\x05\x00")
    assert at >= 0
    return write(path, data[: at + 20] + b"\x2f\x00" + data[at + 22 :])


def _encrypted_ods(path: Path) -> Path:
    plain = path.with_name("plain.ods")
    pd.DataFrame({"name": ["a"]}).to_excel(plain, engine="odf", index=False)
    # What LibreOffice writes with a password: the manifest in clear, with encryption data for
    # each part, and the parts themselves as ciphertext.
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for member in source.namelist():
            body = source.read(member)
            if member == "META-INF/manifest.xml":
                body = re.sub(
                    rb'(<manifest:file-entry[^>]*manifest:full-path="content.xml"[^>]*)/>',
                    rb"\1><manifest:encryption-data manifest:checksum-type="
                    rb'"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha256-1k" '
                    rb'manifest:checksum="AAAA"><manifest:algorithm manifest:algorithm-name='
                    rb'"http://www.w3.org/2001/04/xmlenc#aes256-cbc" '
                    rb'manifest:initialisation-vector="AAAA"/></manifest:encryption-data>'
                    rb"</manifest:file-entry>",
                    body,
                )
                assert b"encryption-data" in body
            elif member == "content.xml":
                body = random.Random(1).randbytes(len(body))
            target.writestr(member, body)
    return path


def _encrypted_xlsx(path: Path) -> Path:
    # An encrypted .xlsx is an OLE file holding an EncryptedPackage stream.
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    return write(path, header + "EncryptedPackage".encode("utf-16-le") + bytes(2000))


@pytest.mark.parametrize(
    ("name", "maker"),
    [
        ("locked.xls", _encrypted_xls),
        ("locked.ods", _encrypted_ods),
        ("locked.xlsx", _encrypted_xlsx),
    ],
)
def test_password_protected_workbook_of_any_format(
    tmp_path: Path, name: str, maker: Callable[[Path], Path]
) -> None:
    path = maker(tmp_path / name)
    expect(path, f"{path} is password-protected (save a copy without a password)")


@pytest.mark.parametrize(
    "raw",
    [
        b"This file is not an Excel workbook; it only has this sentence in it.\n",
        bytes(range(256)) * 4,
    ],
    ids=["68 bytes of text", "binary"],
)
def test_no_excel_at_all_under_an_excel_name(tmp_path: Path, raw: bytes) -> None:
    path = write(tmp_path / "fake.xls", raw)
    expect(path, f"{path} is not an Excel file (nor a CSV text file with a 'name' column)")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.text(alphabet=st.sampled_from('ab#,; \r\n"'), max_size=40),
    text=st.text(alphabet=st.sampled_from('ab,"\n'), max_size=60),
    chunk_rows=st.integers(1, 3),
)
def test_streamed_and_whole_agree_below_any_title_block(
    title: str, text: str, chunk_rows: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(title.encode() + b"\nname,host\n" + text.encode())
        whole = _outcome(lambda: _whole(path))
        assert _outcome(lambda: _streamed(path, chunk_rows)) == whole


# Arrow infers a column's type from the first block it parses. Digits-only columns read as
# numbers there lose their leading zeros ('00000000' -> '0') in every row handed out before a
# later block (or the end-of-file line) fails to convert and sends the rest down the careful
# path; so the streamed reader must read every column as text, whatever the first block holds.


def _zero_padded(rows: int, short_row: int | None = None) -> tuple[bytes, list[list[str | None]]]:
    """A CSV whose every column is digits with leading zeros, and its expected cells (the
    ``short_row``-th data row has only its first two cells)."""
    lines = ["name,extension,defaultuser,pin,zero"]
    expected: list[list[str | None]] = []
    for i in range(rows):
        cells = [f"{i:08d}", f"{i % 1000:04d}", f"00{i:06d}", "00000000", "0"]
        if i == short_row:
            cells = cells[:2]
        lines.append(",".join(cells))
        expected.append([*cells, *[None] * (5 - len(cells))])
    return ("\n".join(lines) + "\n").encode(), expected


def _columns(loaded: LoadedSheet) -> list[list[str | None]]:
    rows = loaded.frame.to_numpy(dtype=object).tolist()
    return [[None if pd.isna(v) else v for v in row] for row in rows]


@pytest.mark.parametrize(("chunk_rows", "block_bytes"), [(1, 64), (3, 64), (7, 128), (50, 1024)])
def test_digits_only_columns_keep_leading_zeros_across_blocks_and_chunks(
    tmp_path: Path, chunk_rows: int, block_bytes: int
) -> None:
    data, expected = _zero_padded(200)
    reader = open_sheet(write(tmp_path / "zeros.csv", data), chunk_rows=chunk_rows)
    assert reader.whole is None  # streamed
    reader.block_bytes = block_bytes
    loaded = join_chunks(reader)
    assert loaded.frame.index.tolist() == list(range(2, 202))
    assert _columns(loaded) == expected


@pytest.mark.parametrize(
    ("chunk_rows", "short_row"), [(CHUNK_ROWS, None), (5_000, None), (5_000, 27_000)]
)
def test_a_30000_row_csv_keeps_leading_zeros_in_every_chunk(
    tmp_path: Path, chunk_rows: int, short_row: int | None
) -> None:
    # Arrow's default block size. With a short row at row 27,002, the chunks of 5,000 rows before
    # it are streamed and the rows after the last whole chunk come from the careful path.
    data, expected = _zero_padded(30_000, short_row)
    reader = open_sheet(write(tmp_path / "zeros.csv", data), chunk_rows=chunk_rows)
    assert reader.whole is None
    loaded = join_chunks(reader)
    assert loaded.frame.index.tolist() == list(range(2, 30_002))
    assert _columns(loaded) == expected
