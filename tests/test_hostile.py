"""Hostile and careless input, through the real CLI: every case ends quickly, in bounded memory,
with a report or one plain ``error:`` line.

Each case runs ``sip-import`` in its own process group under a watchdog that sums the resident
memory of the whole group (the rejections.xlsx writer process included) from /proc: past 1 GiB,
or past 30 s, the group is killed and the case fails instead of taking the machine down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from conftest import TEST_PASSWORD, TEST_USER
from helpers import SIP_IMPORT, _cli_env, read_csv

from importer.sheets.limits import show_size
from schemas import PARAMETERS

MEMORY_CAP = 1 << 30
TIME_CAP = 30.0
LINE_CAP = 300
PAGE = os.sysconf("SC_PAGE_SIZE")
LIMIT_HINT = "if the file is right, raise it with --limit"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_rss: int
    seconds: float


def _group_rss(group: int) -> int:
    """Resident bytes of every process in process group ``group``."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # it ended meanwhile
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[2]) == group:  # pgrp
            total += int(fields[21]) * PAGE  # rss, in pages
    return total


def run_watched(*args: str, cwd: Path, env: dict[str, str | None] | None = None) -> Run:
    """``sip-import ARGS`` as a user runs it, killed past MEMORY_CAP or TIME_CAP (then fail)."""
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    started = time.monotonic()
    peak = 0
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [SIP_IMPORT, *args], cwd=cwd, env=_cli_env(env), stdin=subprocess.DEVNULL,
            stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
        try:
            while proc.poll() is None:
                peak = max(peak, _group_rss(proc.pid))
                elapsed = time.monotonic() - started
                if peak > MEMORY_CAP or elapsed > TIME_CAP:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    pytest.fail(f"killed: {peak >> 20} MiB after {elapsed:.1f} s")
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # A writer process left behind in the group would be a leak too.
        with_children = _group_rss(proc.pid)
    assert with_children == 0, "a process of the run outlived it"
    return Run(
        proc.returncode,
        out.read_text(encoding="utf-8", errors="replace"),
        err.read_text(encoding="utf-8", errors="replace"),
        peak,
        time.monotonic() - started,
    )


def check_bounded(run: Run) -> None:
    """What every case must show, whatever its outcome."""
    assert run.returncode in (0, 1, 2), run
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout
    assert all(len(line) <= LINE_CAP for line in run.stderr.splitlines()), run.stderr[:2000]
    assert all(len(line) <= LINE_CAP for line in run.stdout.splitlines()), run.stdout[:2000]


def expect_error(run: Run, message: str) -> None:
    check_bounded(run)
    assert run.returncode == 2, run
    assert run.stderr.splitlines() == [f"error: {message}"]
    assert run.stdout == ""


def validate(tmp_path: Path, sheet: str, *flags: str) -> Run:
    return run_watched("validate", sheet, "--report-dir", "reports", *flags, cwd=tmp_path)


def results(tmp_path: Path) -> dict[str, dict[str, str]]:
    return {line["row"]: line for line in read_csv(tmp_path / "reports" / "results.csv")}


# --- memory and hangs -----------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_at_once(tmp_path: Path, device: str) -> None:
    (tmp_path / "z.csv").symlink_to(device)
    run = validate(tmp_path, "z.csv")
    expect_error(run, "z.csv is a device, not a file; give the sheet's own file")


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f.csv")
    run = validate(tmp_path, "f.csv")
    expect_error(run, "f.csv is a pipe, not a file; give the sheet's own file")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    expect_error(validate(tmp_path, "d.csv"), "d.csv is a directory, not a sheet file")


def test_a_link_to_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("name,host,secret\nt1,dynamic,s3cret!\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    run = validate(tmp_path, "link.csv")
    check_bounded(run)
    assert run.returncode == 0, run
    assert results(tmp_path)["2"]["outcome"] == "valid"


def test_a_20_mb_first_line_is_refused_before_pandas_builds_columns(tmp_path: Path) -> None:
    (tmp_path / "w.csv").write_bytes(b"name,host," + b"x," * (10 << 20))
    expect_error(
        validate(tmp_path, "w.csv"),
        f"line 1 of w.csv has more than 16,384 cells (the cells limit is 16,384; {LIMIT_HINT} "
        "cells=N)",
    )


def _inflating_xlsx(path: Path, sheet_xml_bytes: int, row: bytes) -> Path:
    """A real workbook whose sheet XML repeats ``row`` to about ``sheet_xml_bytes``."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "host"])
    book.save(path.with_suffix(".seed.xlsx"))
    with (
        zipfile.ZipFile(path.with_suffix(".seed.xlsx")) as seed,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in seed.infolist():
            data = seed.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info, data)
                continue
            head, end, tail = data.partition(b"</sheetData>")
            block = row * ((1 << 20) // len(row))
            part = zipfile.ZipInfo(info.filename, info.date_time)
            part.compress_type = zipfile.ZIP_DEFLATED
            with out.open(part, "w", force_zip64=True) as stream:
                stream.write(head)
                for _ in range(sheet_xml_bytes // len(block)):
                    stream.write(block)
                stream.write(end + tail)
    return path


@pytest.mark.parametrize(
    ("row", "what"),
    [
        (b'<row><c t="inlineStr"><is><t>x</t></is></c></row>', "rows"),
        (b" " * 64, "whitespace"),
    ],
)
def test_an_xlsx_that_inflates_hugely_is_refused_before_it_is_inflated(
    tmp_path: Path, row: bytes, what: str
) -> None:
    _inflating_xlsx(tmp_path / "bomb.xlsx", 300 << 20, row)
    with zipfile.ZipFile(tmp_path / "bomb.xlsx") as book:
        part = book.getinfo("xl/worksheets/sheet1.xml")
    ratio = part.file_size / part.compress_size
    assert (tmp_path / "bomb.xlsx").stat().st_size < 4 << 20 and ratio > 100, what
    run = validate(tmp_path, "bomb.xlsx")
    expect_error(
        run,
        f"bomb.xlsx holds a part ('xl/worksheets/sheet1.xml') that inflates {ratio:,.0f} times, "
        f"from {show_size(part.compress_size)} to {show_size(part.file_size)} "
        f"(the zip-ratio limit is 100; {LIMIT_HINT} zip-ratio=N)",
    )


def test_a_workbook_part_over_the_unzipped_limit_is_refused(tmp_path: Path) -> None:
    _inflating_xlsx(tmp_path / "big.xlsx", 3 << 20, b"<!-- padding -->" * 4)
    run = validate(tmp_path, "big.xlsx", "--limit", "unzipped=2M")
    expect_error(
        run,
        "big.xlsx holds a part ('xl/worksheets/sheet1.xml') of 3.0 MiB once inflated (the "
        f"unzipped limit is 2 MiB; {LIMIT_HINT} unzipped=N)",
    )


def one_field(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        block = b"x" * (1 << 20)
        for _ in range(size >> 20):
            handle.write(block)
    return path


ONE_FIELD_ERROR = (
    "line 1 of one.csv has a cell of more than 32,767 characters (the cell-chars limit is "
    f"32,767; {LIMIT_HINT} cell-chars=N)"
)


def test_a_one_field_file_is_refused_with_a_short_line(tmp_path: Path) -> None:
    # Over cell-chars after its first 32 KB, so 4 MB is the 200 MB file of the issue in small.
    one_field(tmp_path / "one.csv", 4 << 20)
    expect_error(validate(tmp_path, "one.csv"), ONE_FIELD_ERROR)


@pytest.mark.slow
def test_a_200_mb_one_field_file_is_refused_with_a_short_line(tmp_path: Path) -> None:
    one_field(tmp_path / "one.csv", 200 << 20)
    expect_error(validate(tmp_path, "one.csv"), ONE_FIELD_ERROR)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    one_field(tmp_path / "one.csv", 3 << 20)
    expect_error(
        validate(tmp_path, "one.csv", "--limit", "file-size=2M"),
        f"one.csv is 3 MiB (the file-size limit is 2 MiB; {LIMIT_HINT} file-size=N)",
    )


def test_rows_over_the_limit_are_refused(tmp_path: Path) -> None:
    lines = "".join(f"t{i},203.0.113.1\n" for i in range(20))
    (tmp_path / "rows.csv").write_text("name,host\n" + lines)
    expect_error(
        validate(tmp_path, "rows.csv", "--limit", "rows=10"),
        f"rows.csv has more than 10 rows (the rows limit is 10; {LIMIT_HINT} rows=N)",
    )


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (
            "rows",
            "--limit 'rows' is not NAME=VALUE with NAME one of file-size, rows, cells, "
            "cell-chars, unzipped, zip-ratio (e.g. --limit rows=2000000)",
        ),
        ("rows=1G", "--limit rows='1G' is not a whole number such as 2000000"),
        ("file-size=0", "--limit file-size must be at least 1"),
    ],
)
def test_a_bad_limit_flag_is_one_error_line(tmp_path: Path, flag: str, message: str) -> None:
    (tmp_path / "x.csv").write_text("name\nt1\n")
    expect_error(validate(tmp_path, "x.csv", "--limit", flag), message)


@pytest.mark.slow
def test_a_header_over_128_kib_in_a_file_over_4_mb_still_gets_its_reports(
    tmp_path: Path,
) -> None:
    # Five unknown columns of 30,000 characters each: a 150 KB header (over what one command
    # line argument may hold) that once reached the rejections.xlsx writer as argv.
    wide = [f"{c}" * 30_000 for c in "abcde"]
    rows = [f"t{i},dynamic,{'x' * 100},,,,\n" for i in range(40_000)]
    (tmp_path / "wide.csv").write_text(",".join(["name", "host", *wide]) + "\n" + "".join(rows))
    assert (tmp_path / "wide.csv").stat().st_size > 4 << 20
    run = validate(tmp_path, "wide.csv")
    check_bounded(run)
    assert run.returncode == 1, run
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text())
    assert summary["outcomes"] == {"rejected": 40_000}
    book = openpyxl.load_workbook(tmp_path / "reports" / "rejections.xlsx", read_only=True)
    header = next(book["rejections"].iter_rows(max_row=1, values_only=True))
    assert list(header[5:]) == ["name", "host", *wide]
    first, second = ("'" + c * 79 + "…'" for c in "ab")
    assert (
        f"warning: columns C ({first}), D ({second}) and 3 more are not sip_endpoint parameters "
        "and were ignored"
    ) in run.stdout.splitlines()


def test_long_headers_without_a_name_column_make_a_short_line(tmp_path: Path) -> None:
    headers = [c * 30_000 for c in "abcdefghij"]
    (tmp_path / "h.csv").write_text(",".join(headers) + "\n" + ",".join("x" * 10) + "\n")
    listed = ", ".join("'" + c * 19 + "…'" for c in "abcdefgh")
    expect_error(
        validate(tmp_path, "h.csv"),
        f"h.csv has no 'name' column (its header row, row 1, has {listed} and 2 more)",
    )


# --- values ---------------------------------------------------------------------------------


def test_reserved_section_names_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "names.csv").write_text(
        "name,host,secret\ngeneral,dynamic,s3cret!\nAUTHENTICATION,dynamic,s3cret!\n"
        "generals,dynamic,s3cret!\n"
    )
    run = validate(tmp_path, "names.csv")
    check_bounded(run)
    assert run.returncode == 1
    lines = results(tmp_path)
    assert lines["2"]["message"] == (
        "name: 'general' is reserved: chan_sip reads a [general] section as its own settings, "
        "not as an endpoint"
    )
    assert lines["3"]["message"] == (
        "name: 'AUTHENTICATION' is reserved: chan_sip reads a [authentication] section as its "
        "own settings, not as an endpoint"
    )
    assert lines["4"]["outcome"] == "valid"


def test_import_sends_no_reserved_name(shared_gateway) -> None:  # type: ignore[no-untyped-def]
    cwd = shared_gateway.db.parent / "hostile-import"
    cwd.mkdir()
    (cwd / "names.csv").write_text(
        "name,host,secret\ngeneral,dynamic,s3cret!\nAuthentication,dynamic,s3cret!\n"
        "hostile-general-ok,dynamic,s3cret!\n"
    )
    run = run_watched(
        "import", "names.csv", "--gateway", shared_gateway.url, "--report-dir", "reports",
        cwd=cwd, env={"SIP_IMPORT_USER": TEST_USER, "SIP_IMPORT_PASSWORD": TEST_PASSWORD},
    )  # fmt: skip
    check_bounded(run)
    assert run.returncode == 1, run
    outcomes = [line["outcome"] for line in read_csv(cwd / "reports" / "results.csv")]
    assert outcomes == ["rejected", "rejected", "created"]
    stored = {name.lower() for name in shared_gateway.endpoints()}
    assert "hostile-general-ok" in stored and not {"general", "authentication"} & stored


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            {"name": "General"},
            "name: 'General' is reserved: chan_sip reads a [general] section as its own "
            "settings, not as an endpoint (allowed: 1-80 ASCII letters, digits or . _ - +, not "
            "general or authentication)",
        ),
        (
            {"name": "hostile-gw-1", "extension": "7" * 81},
            "extension: is 81 characters long; at most 80 are allowed (allowed: text without "
            "control characters, at most 80 characters)",
        ),
        (
            {"name": "hostile-gw-2", "timert1": "1" * 20},
            f"timert1: '{'1' * 20}' is too large; at most 2147483647 is allowed (allowed: a "
            "whole number from 200 to 2147483647)",
        ),
    ],
)
def test_the_gateway_refuses_what_the_parameter_table_refuses(  # type: ignore[no-untyped-def]
    shared_gateway, params: dict[str, str], error: str
) -> None:
    answer = shared_gateway.call("sip_endpoint.save", params).json()
    assert (answer["error_key"], answer["error"]) == ("INVALID_PARAMETER", error)
    assert params["name"] not in shared_gateway.endpoints()


def test_a_formula_header_is_neutralised_in_rejections_csv(tmp_path: Path) -> None:
    header = "=cmd|' /C calc'!A0"
    (tmp_path / "f.csv").write_text(f'name,host,"{header}"\nt1,dynamic,x\n')
    run = validate(tmp_path, "f.csv")
    check_bounded(run)
    assert run.returncode == 1
    first = (tmp_path / "reports" / "rejections.csv").read_text().splitlines()[0]
    assert first == "_row,_sheet,_outcome,_error_key,_errors,name,host,'=cmd|' /C calc'!A0"


def test_a_10_mb_extension_value_is_refused_with_a_short_line(tmp_path: Path) -> None:
    (tmp_path / "ext.csv").write_bytes(b"name,host,extension\nt1,dynamic," + b"7" * (10 << 20))
    expect_error(
        validate(tmp_path, "ext.csv"),
        "line 2 of ext.csv has a cell of more than 32,767 characters (the cell-chars limit is "
        f"32,767; {LIMIT_HINT} cell-chars=N)",
    )


def test_a_value_longer_than_an_excel_cell_says_where_rejections_xlsx_cut_it(
    tmp_path: Path,
) -> None:
    value = "7" * 40_000
    (tmp_path / "ext.csv").write_text(f"name,host,secret,extension\nt1,dynamic,s3cret!,{value}\n")
    run = validate(tmp_path, "ext.csv", "--limit", "cell-chars=50000")
    check_bounded(run)
    assert run.returncode == 1
    assert results(tmp_path)["2"]["message"] == (
        "extension: is 40000 characters long; at most 80 are allowed"
    )
    assert read_csv(tmp_path / "reports" / "rejections.csv")[0]["extension"] == value
    book = openpyxl.load_workbook(tmp_path / "reports" / "rejections.xlsx")
    cell = str(book["rejections"]["I2"].value)
    note = "… [cut here: 40,000 characters in all; rejections.csv has the whole value]"
    assert len(cell) == 32_767 and cell == value[: 32_767 - len(note)] + note


def test_free_text_past_its_length_is_rejected_with_a_capped_quote(tmp_path: Path) -> None:
    long_user = "u" * 81
    (tmp_path / "long.csv").write_text(
        "name,host,secret,extension,fromuser,auth\n"
        f"t1,dynamic,s3cret!,{'7' * 81},ok,a:b@c\n"
        f"t2,dynamic,s3cret!,100,{long_user},a:b@c\n"
        f"t3,dynamic,s3cret!,100,ok,{'a' * 593}\n"
        f"{'n' * 5000},dynamic,s3cret!,100,ok,a:b@c\n"
    )
    run = validate(tmp_path, "long.csv")
    check_bounded(run)
    lines = results(tmp_path)
    assert lines["2"]["message"] == "extension: is 81 characters long; at most 80 are allowed"
    assert lines["3"]["message"] == "fromuser: is 81 characters long; at most 80 are allowed"
    assert lines["4"]["message"] == "auth: is 593 characters long; at most 592 are allowed"
    assert lines["5"]["message"] == "name: is 5000 characters long; at most 80 are allowed"
    assert lines["5"]["name"] == "n" * 5000  # the report keeps the value; messages cap it


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "object_id",
            "1234567890123456789",
            "object_id: '1234567890123456789' is too large; at most 18 digits are allowed",
        ),
        (
            "object_id",
            "9" * 40,
            f"object_id: '{'9' * 40}' is too large; at most 18 digits are allowed",
        ),
        (
            "timert1",
            "12345678901234567890",
            "timert1: '12345678901234567890' is too large; at most 2147483647 is allowed",
        ),
        ("timert1", "3000000000", "timert1: 3000000000 is above 2147483647 ms"),
        # The column check refused 19 digits while the per-value check (the gateway's) read
        # them; the row then said "t1min: None".
        (
            "t1min",
            "9999999999999999999ms",
            "t1min: '9999999999999999999ms' is too large; at most 18 digits are allowed",
        ),
    ],
)
def test_numbers_too_large_get_a_plain_message(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    (tmp_path / "n.csv").write_text(f"name,host,secret,{field}\nt1,dynamic,s3cret!,{value}\n")
    run = validate(tmp_path, "n.csv")
    check_bounded(run)
    assert run.returncode == 1
    assert results(tmp_path)["2"]["message"] == message


def test_values_are_quoted_as_typed_and_capped(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text(
        "name,host,secret,dtmfmode\nsociété-trunk,dynamic,s3cret!,auto\n中国人,dynamic,s3cret!,auto\n"
        f"t3,dynamic,s3cret!,{'é' * 500}\n",
        encoding="utf-8",
    )
    run = validate(tmp_path, "u.csv")
    check_bounded(run)
    lines = results(tmp_path)
    assert lines["2"]["message"] == (
        "name: 'société-trunk' contains 'é'; a name may only hold ASCII letters, digits and . _ - +"
    )
    assert lines["3"]["message"] == (
        "name: '中国人' contains '中'; a name may only hold ASCII letters, digits and . _ - +"
    )
    assert lines["4"]["message"] == (
        f"dtmfmode: '{'é' * 79}…' is not one of auto, info, rfc2833, inband"
    )


def test_every_free_text_parameter_has_a_maximum_length() -> None:
    from schemas.domains import Name, Text

    free = {n: p.domain for n, p in PARAMETERS.items() if isinstance(p.domain, Text | Name)}
    assert {n: d.max_len for n, d in free.items()} == {
        "name": 80, "defaultuser": 80, "secret": 80, "old_name": 80, "auth": 592,
        "fromuser": 80, "remotesecret": 80, "extension": 80,
    }  # fmt: skip
