"""``sip-import validate`` through the installed console script, as a user runs it."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from pathlib import Path

import openpyxl
import pytest
from helpers import SIP_IMPORT, read_csv, run_cli, write_csv, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
MESSY = ROOT / "samples" / "carrier_onboarding_messy.csv"
CLEAN = ROOT / "samples" / "carrier_onboarding.xlsx"
RED = "FFFFC7CE"


def validate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("validate", *args, cwd=tmp_path)


def assert_one_error_line(proc: subprocess.CompletedProcess[str], message: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [f"error: {message}"]
    assert proc.stdout == ""


@pytest.fixture
def clean_csv(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "clean.csv",
        [["trunk-1", "203.0.113.1", "5060"], ["trunk-2", "203.0.113.2", "5061"]],
        headers=["name", "host", "port"],
    )


@pytest.fixture
def mixed_csv(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "mixed.csv",
        [
            ["trunk-1", "203.0.113.1", "5060", ""],
            ["trunk-2", "203.0.113.2", "70000", ""],
            ["", "", "", ""],
            ["trunk-3", "sip.example.com", "5060", "out"],
        ],
        headers=["name", "host", "port", "registration"],
    )


# --- exit codes and output ------------------------------------------------------------------


def test_clean_sheet_exits_0(tmp_path: Path, clean_csv: Path) -> None:
    proc = validate(tmp_path, "clean.csv")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "valid" in proc.stdout
    (reports_line,) = [line for line in proc.stdout.splitlines() if line.startswith("reports: ")]
    directory = tmp_path / reports_line.removeprefix("reports: ")
    assert directory.parent == tmp_path / "reports"  # the default reports/<UTC time>/
    assert [r["outcome"] for r in read_csv(directory / "results.csv")] == ["valid", "valid"]


def test_rejections_exit_1_with_summary_table(tmp_path: Path, mixed_csv: Path) -> None:
    proc = validate(tmp_path, "mixed.csv", "--report-dir", "out")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "validate: mixed.csv"

    table = {}
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("│┃").split("│")]
        if len(cells) == 2:
            table[cells[0]] = cells[1]

    def count(label: str) -> str:
        return table[label]

    assert count("valid") == "2"
    assert count("rejected") == "1"
    assert count("blank (skipped)") == "1"
    assert count("total data rows") == "3"
    assert "1 row(s) have warnings (see results.csv)" in lines
    assert "problems: invalid-value 1" in lines
    assert lines[-1] == "reports: out"
    assert (tmp_path / "out" / "rejections.xlsx").is_file()


def test_json_prints_one_object(tmp_path: Path, mixed_csv: Path) -> None:
    proc = validate(tmp_path, "mixed.csv", "--json", "--report-dir", "out")
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)  # exactly one JSON document, nothing around it
    assert isinstance(summary, dict)
    assert summary["outcomes"] == {"valid": 2, "rejected": 1}
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["outcomes"] == on_disk["outcomes"]
    assert summary["rows"] == 3 and summary["blank"] == 1


def test_quiet_prints_nothing(tmp_path: Path, mixed_csv: Path) -> None:
    proc = validate(tmp_path, "mixed.csv", "--quiet", "--report-dir", "out")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == ""
    assert (tmp_path / "out" / "summary.json").is_file()


def test_strict_turns_a_warning_into_exit_1(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "warn.csv",
        [["reg-1", "sip.example.com", "out", "s3cret-x"]],
        headers=["name", "host", "registration", "secret"],
    )
    relaxed = validate(tmp_path, "warn.csv", "--report-dir", "a")
    assert relaxed.returncode == 0, relaxed.stdout
    strict = validate(tmp_path, "warn.csv", "--strict", "--report-dir", "b")
    assert strict.returncode == 1, strict.stdout
    (row,) = read_csv(tmp_path / "b" / "results.csv")
    assert (row["outcome"], row["error_key"]) == ("rejected", "registration-incomplete")
    assert row["message"] == "registration: out needs a defaultuser to register"


def test_relative_and_absolute_report_dir(tmp_path: Path, clean_csv: Path) -> None:
    target = tmp_path / "deep" / "er"
    proc = validate(tmp_path, str(clean_csv), "--report-dir", str(target), "--quiet")
    assert proc.returncode == 0
    assert sorted(p.name for p in target.iterdir()) == [
        "rejections.csv", "rejections.xlsx", "results.csv", "summary.json",
    ]  # fmt: skip


def test_report_dir_that_cannot_be_made(tmp_path: Path, clean_csv: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    assert_one_error_line(
        validate(tmp_path, str(clean_csv), "--report-dir", "taken/reports"),
        "cannot write the reports in taken/reports (Not a directory)",
    )


# --- unusable input: one line, exit 2 -------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    assert_one_error_line(validate(tmp_path, "missing.csv"), "missing.csv does not exist")
    assert not (tmp_path / "reports").exists()


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "sheets").mkdir()
    assert_one_error_line(validate(tmp_path, "sheets"), "sheets is a directory, not a sheet file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file(tmp_path: Path, clean_csv: Path) -> None:
    clean_csv.chmod(0)
    try:
        assert_one_error_line(
            validate(tmp_path, "clean.csv"), "clean.csv cannot be read (permission denied)"
        )
    finally:
        clean_csv.chmod(0o644)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    assert_one_error_line(validate(tmp_path, "empty.csv"), "empty.csv is empty (0 bytes)")


def test_header_only(tmp_path: Path) -> None:
    (tmp_path / "header.csv").write_text("name,host,port\n")
    assert_one_error_line(validate(tmp_path, "header.csv"), "header.csv has no data rows")


def test_header_only_xlsx(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "header.xlsx", [], ["name", "host"])
    assert_one_error_line(
        validate(tmp_path, "header.xlsx"), "sheet 'endpoints' of header.xlsx has no data rows"
    )


def test_duplicate_headers(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("name,Host,port,HOST\na-1,203.0.113.1,5060,x\n")
    assert_one_error_line(
        validate(tmp_path, "dup.csv"),
        "columns B and D of dup.csv both mean 'host' ('Host' and 'HOST')",
    )


def test_duplicate_headers_by_spelling(tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("name,Session Timers,session_timers\na-1,accept,accept\n")
    assert_one_error_line(
        validate(tmp_path, "dup.csv"),
        "columns B and C of dup.csv both mean 'sessiontimers' "
        "('Session Timers' and 'session_timers')",
    )


def test_truncated_xlsx(tmp_path: Path) -> None:
    rows = [[f"trunk-{i}", f"203.0.113.{i % 250}", "5060"] for i in range(300)]
    whole = write_xlsx(tmp_path / "whole.xlsx", rows, ["name", "host", "port"]).read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(whole[: len(whole) // 2])
    assert_one_error_line(
        validate(tmp_path, "cut.xlsx"),
        "cut.xlsx is not a readable Excel workbook (it may be truncated or not really .xlsx)",
    )


def test_fake_xlsx(tmp_path: Path) -> None:
    (tmp_path / "fake.xlsx").write_text("name,host\na-1,203.0.113.1\n")
    assert_one_error_line(
        validate(tmp_path, "fake.xlsx"),
        "fake.xlsx is not a readable Excel workbook (it may be truncated or not really .xlsx)",
    )


def test_binary_garbage(tmp_path: Path) -> None:
    rng = random.Random(1234)
    (tmp_path / "garbage.csv").write_bytes(bytes(rng.randrange(256) for _ in range(5000)))
    assert_one_error_line(
        validate(tmp_path, "garbage.csv"),
        "garbage.csv is neither a CSV text file nor a spreadsheet workbook",
    )


def test_mapping_not_toml(tmp_path: Path, clean_csv: Path) -> None:
    (tmp_path / "map.toml").write_text("aliases = [\n")
    proc = validate(tmp_path, "clean.csv", "--mapping", "map.toml")
    assert_one_error_line(proc, proc.stderr.strip().removeprefix("error: "))
    assert proc.stderr.startswith("error: mapping file map.toml is not valid TOML: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[other]\nx = 1\n",
         "mapping file map.toml has [other], which is not a mapping table (they are [aliases], "
         "[values], [separators] and [skip])"),
        ("[aliases]\n",
         'mapping file map.toml needs an [aliases] table, e.g. "Trunk Name" = "name"'),
        ('[aliases]\n"Trunk" = "nonsense"\n',
         "mapping file map.toml maps 'Trunk' to 'nonsense', which is not a sip_endpoint "
         'parameter (map it to "ignore" to leave the column out)'),
    ],
)  # fmt: skip
def test_bad_mapping(tmp_path: Path, clean_csv: Path, text: str, message: str) -> None:
    (tmp_path / "map.toml").write_text(text)
    assert_one_error_line(validate(tmp_path, "clean.csv", "--mapping", "map.toml"), message)


def test_missing_mapping(tmp_path: Path, clean_csv: Path) -> None:
    assert_one_error_line(
        validate(tmp_path, "clean.csv", "--mapping", "nope.toml"),
        "mapping file nope.toml does not exist",
    )


def test_mapping_alias_works(tmp_path: Path) -> None:
    write_csv(tmp_path / "carrier.csv", [["t-1", "203.0.113.1"]], headers=["Trunk ID", "IP"])
    (tmp_path / "map.toml").write_text('[aliases]\n"Trunk ID" = "name"\n"IP" = "host"\n')
    proc = validate(tmp_path, "carrier.csv", "--mapping", "map.toml", "--json", "--report-dir", "r")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["warnings"] == []


def test_unknown_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "endpoints"  # type: ignore[union-attr]
    book.active.append(["name", "host"])  # type: ignore[union-attr]
    book.active.append(["a-1", "203.0.113.1"])  # type: ignore[union-attr]
    book.create_sheet("notes")
    book.save(tmp_path / "book.xlsx")
    assert_one_error_line(
        validate(tmp_path, "book.xlsx", "--sheet", "Nope"),
        "book.xlsx has no sheet named 'Nope' (its sheets are 'endpoints', 'notes')",
    )
    assert validate(tmp_path, "book.xlsx", "--sheet", "ENDPOINTS").returncode == 0


def test_bad_flag_exits_2(tmp_path: Path, clean_csv: Path) -> None:
    proc = validate(tmp_path, "clean.csv", "--bogus")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "No such option: --bogus" in proc.stderr
    assert not (tmp_path / "reports").exists()


def test_missing_argument_exits_2(tmp_path: Path) -> None:
    proc = validate(tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["validate", "import", "gateway"])
def test_help_shows_an_example(tmp_path: Path, command: str) -> None:
    proc = run_cli(command, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Example" in proc.stdout
    assert f"sip-import {command}" in proc.stdout


def test_version(tmp_path: Path) -> None:
    proc = run_cli("--version", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert re.fullmatch(r"sip-import \d+\.\d+\.\d+\S*\n", proc.stdout)


@pytest.mark.parametrize("command", ["validate", "import", "sync", "export", "gateway"])
def test_help_shows_flags_as_flags(tmp_path: Path, command: str) -> None:
    text = run_cli(command, "--help", cwd=tmp_path).stdout
    assert "<bool>" not in text
    assert re.search(r"^  -q, --quiet +Print nothing but errors\.$", text, re.M) or (
        command == "gateway"
    )


# --- the samples ----------------------------------------------------------------------------


def test_messy_sample_exits_1_with_red_cells(tmp_path: Path) -> None:
    proc = validate(tmp_path, str(MESSY), "--report-dir", "r")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    book = openpyxl.load_workbook(tmp_path / "r" / "rejections.xlsx")
    sheet = book["rejections"]
    header = [c.value for c in sheet[1]]
    red = {
        (sheet.cell(row=c.row, column=1).value, header[c.column - 1]): c.comment.text
        for row in sheet.iter_rows(min_row=2)
        for c in row
        if c.fill.fill_type == "solid" and c.fill.fgColor.rgb == RED and c.comment
    }
    assert red[("7", "Port")] == "port: 70000 is above 65535"
    assert red[("8", "Transport")] == "transport: 'SCTP' is not one of UDP, TCP, TLS"
    assert red[("15", "Host")] == "host: '300.1.2.3' is not 'dynamic', an IP address or a host name"
    # Every rejected row has at least one red cell.
    rejected_rows = {r["_row"] for r in read_csv(tmp_path / "r" / "rejections.csv")}
    red_rows = {
        str(sheet.cell(row=c.row, column=1).value)
        for row in sheet.iter_rows(min_row=2)
        for c in row
        if c.fill.fill_type == "solid" and c.fill.fgColor.rgb == RED
    }
    assert red_rows == rejected_rows
    assert len(rejected_rows) == 13


def test_clean_sample_exits_0(tmp_path: Path) -> None:
    proc = validate(tmp_path, str(CLEAN), "--json", "--report-dir", "r")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["outcomes"] == {"valid": summary["rows"]}
    assert 40 <= summary["rows"] <= 60


def test_title_block_sample(tmp_path: Path) -> None:
    proc = validate(tmp_path, str(ROOT / "samples" / "carrier_title_block.xlsx"), "--json",
                    "--report-dir", "r")  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["title_rows"], summary["outcomes"]) == (2, {"valid": 10, "rejected": 2})
    rejected = [r for r in read_csv(tmp_path / "r" / "results.csv") if r["outcome"] != "valid"]
    assert [(r["row"], r["message"]) for r in rejected] == [
        ("9", "port: '5O60' is not a whole number"),
        ("12", "audio_codecs: 'ulaw/g729' is not a codec; separate codecs with commas (ulaw,g729)"),
    ]


def test_freepbx_sample(tmp_path: Path) -> None:
    proc = validate(tmp_path, str(ROOT / "samples" / "freepbx_export.csv"), "--preset",
                    "freepbx", "--json", "--report-dir", "r")  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["outcomes"] == {"valid": 34, "skipped": 4, "rejected": 2}
    assert summary["warnings"] == []


# --- title rows above the header -------------------------------------------------------------


def test_xlsx_with_three_title_rows_numbers_results_as_the_file_does(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["ACME Telecom: SIP trunk onboarding"])
    sheet.append(["version 3", "2026-01-05"])
    sheet.append(["Fill in one trunk a row; name is required"])
    sheet.append(["name", "host", "port"])
    sheet.append(["trunk-1", "203.0.113.1", 5060])
    sheet.append(["trunk-2", "203.0.113.2", 70000])
    sheet.append(["trunk-3", "sip.example.com", 5061])
    book.save(tmp_path / "titled.xlsx")
    proc = validate(tmp_path, "titled.xlsx", "--json", "--report-dir", "r")
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["rows"], summary["title_rows"], summary["blank"]) == (3, 3, 0)
    assert summary["outcomes"] == {"valid": 2, "rejected": 1}
    results = read_csv(tmp_path / "r" / "results.csv")
    assert [(r["row"], r["name"], r["outcome"]) for r in results] == [
        ("5", "trunk-1", "valid"),
        ("6", "trunk-2", "rejected"),
        ("7", "trunk-3", "valid"),
    ]
    rejections = read_csv(tmp_path / "r" / "rejections.csv")
    assert [(r["_row"], r["name"]) for r in rejections] == [("6", "trunk-2")]
    text = validate(tmp_path, "titled.xlsx", "--report-dir", "r2").stdout
    assert "│ title rows above the header │    3 │" in text.splitlines()


def test_a_reader_that_stops_early_gets_no_traceback_and_the_reports_are_whole(
    tmp_path: Path, mixed_csv: Path
) -> None:
    # validate ends without the interpreter's teardown once its files are closed; a closed pipe
    # on stdout (`| head -c 1`) must still end in the documented exit code and complete reports.
    reader, writer = os.pipe()
    os.close(reader)
    proc = subprocess.run(
        [SIP_IMPORT, "validate", str(mixed_csv), "--report-dir", str(tmp_path / "r")],
        cwd=tmp_path,
        stdout=writer,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    os.close(writer)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["outcomes"] == {"valid": 2, "rejected": 1}
    assert len(read_csv(tmp_path / "r" / "results.csv")) == 3


def test_progress_counts_rows_settled_together_once_each() -> None:
    # The settle step of a sync reports thousands of unchanged rows as one step.
    from importer.cli import _FleetProgress, _Progress

    single = _Progress(enabled=False)
    single.start(10)
    single.advance(None, 6)
    single.advance(None)
    assert single.done == 7
    fleet = _FleetProgress(enabled=False)
    sink = fleet.sink("gw-1")
    sink.start(10)
    sink.advance(None, 6)
    sink.advance(None)
    assert fleet.done == {"gw-1": 7}
