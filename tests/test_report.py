"""Validate reports: results.csv, rejections.csv, rejections.xlsx and summary.json.

Every test writes a real sheet (csv module or openpyxl), runs ``validate_file`` and reads the
report files back the way a person or a spreadsheet would: CSV text, an XLSX opened with
openpyxl, the raw bytes of every file (and of every member of the XLSX zip).
"""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
from helpers import read_csv, write_csv, write_text_xlsx
from python_calamine import CalamineWorkbook

from importer.pipeline import RunResult, validate_file, validation_results
from importer.reports import report
from importer.reports.report import ReportWriter
from importer.sheets.load import load_sheet
from importer.sheets.normalize import normalize
from importer.validate import validate

RESULT_HEADER = ["row", "sheet", "name", "outcome", "error_key", "message", "attempts"]
META_HEADER = ["_row", "_sheet", "_outcome", "_error_key", "_errors"]
RED = "FFFFC7CE"
YELLOW = "FFFFEB9C"
MASK = "********"
SCIENTIFIC_NAME = (
    "name: '8.00556E+09' looks like a number Excel wrote in scientific notation, so the real "
    "digits are lost; format the column as Text and type the value again"
)


def run(tmp_path: Path, sheet: Path, **options: Any) -> RunResult:
    return validate_file(sheet, report_dir=tmp_path / "reports", **options)


def csv_lines(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def xlsx_rows(path: Path, title: str) -> list[list[str]]:
    """Cell values of one sheet, empty cells as '' (like the CSV).

    Read with calamine, which decodes XML escapes such as ``_x000D_`` (a CR) as Excel does;
    openpyxl shows them raw.
    """
    book = CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
    return [["" if value is None else str(value) for value in row] for row in rows]


def report_bytes(result: RunResult) -> dict[str, bytes]:
    """Every report file's bytes; for an XLSX every member of its zip as well."""
    out: dict[str, bytes] = {}
    for path in sorted(result.paths.directory.iterdir()):
        data = path.read_bytes()
        out[path.name] = data
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    out[f"{path.name}!{member}"] = archive.read(member)
    return out


# --- results.csv and summary.json -----------------------------------------------------------


@pytest.fixture
def mixed_csv(tmp_path: Path) -> Path:
    """Rows 2..7: valid, rejected, blank, valid with a warning, rejected twice, blank."""
    return write_csv(
        tmp_path / "mixed.csv",
        [
            ["trunk-a", "203.0.113.1", "5060", "", "first"],
            ["trunk-b", "203.0.113.2", "70000", "", "bad port"],
            ["", "", "", "", ""],
            ["trunk-c", "sip.example.com", "5060", "out", "no user"],
            ["trunk d", "203.0.113.4", "0", "", "two mistakes"],
            ["  ", "", "", "", ""],
            ["trunk-e", "203.0.113.5", "5061", "", ""],
        ],
        headers=["Name", "Host", "Port", "Registration", "Notes"],
    )


def test_results_csv_has_one_line_per_data_row(tmp_path: Path, mixed_csv: Path) -> None:
    result = run(tmp_path, mixed_csv)
    lines = csv_lines(result.paths.results_csv)
    assert lines[0] == RESULT_HEADER
    assert lines[1:] == [
        ["2", "mixed.csv", "trunk-a", "valid", "", "", "0"],
        ["3", "mixed.csv", "trunk-b", "rejected", "invalid-value", "port: 70000 is above 65535",
         "0"],
        ["5", "mixed.csv", "trunk-c", "valid", "",
         "warning: registration: out needs a defaultuser, a secret, remotesecret or auth to "
         "register", "0"],
        ["6", "mixed.csv", "trunk d", "rejected", "invalid-value",
         "name: 'trunk d' contains a space; a name may only hold ASCII letters, digits and . _ - +; "
         "port: 0 is below 1", "0"],
        ["8", "mixed.csv", "trunk-e", "valid", "", "", "0"],
    ]  # fmt: skip
    assert result.exit_code == 1


def test_summary_counts_add_up(tmp_path: Path, mixed_csv: Path) -> None:
    result = run(tmp_path, mixed_csv)
    summary = json.loads(result.paths.summary_json.read_text(encoding="utf-8"))
    assert summary == json.loads(json.dumps(result.summary | {"reports": summary["reports"]}))
    assert summary["rows"] == 5
    assert summary["blank"] == 2
    assert summary["outcomes"] == {"valid": 3, "rejected": 2}
    assert sum(summary["outcomes"].values()) == summary["rows"]
    assert summary["rows"] == len(read_csv(result.paths.results_csv))
    assert summary["error_keys"] == {"invalid-value": 3}
    assert summary["rows_with_warnings"] == 1
    assert summary["warnings"] == [
        "column E ('Notes') is not a sip_endpoint parameter and was ignored"
    ]


def test_summary_json_keys(tmp_path: Path, mixed_csv: Path) -> None:
    result = run(tmp_path, mixed_csv)
    summary = json.loads(result.paths.summary_json.read_text(encoding="utf-8"))
    for key in ("tool", "version", "command", "input", "rows", "blank", "outcomes", "warnings",
                "error_keys", "timings", "rows_per_second", "reports"):  # fmt: skip
        assert key in summary, key
    assert summary["tool"] == "sip-import"
    assert summary["command"] == "validate"
    assert isinstance(summary["version"], str) and summary["version"]
    assert summary["input"]["sha256"] == hashlib.sha256(mixed_csv.read_bytes()).hexdigest()
    assert summary["input"]["path"] == str(mixed_csv)
    assert summary["input"]["sheet"] == "mixed.csv"
    assert summary["gateway"] is None
    assert set(summary["timings"]) >= {"load", "normalize", "validate", "report", "total"}
    assert all(isinstance(v, int | float) and v >= 0 for v in summary["timings"].values())
    assert summary["rows_per_second"] > 0
    reports = summary["reports"]
    assert Path(reports["directory"]) == tmp_path / "reports"
    for key in ("results_csv", "rejections_csv", "rejections_xlsx", "summary_json"):
        assert Path(reports[key]).is_file(), key


def test_clean_sheet_writes_empty_rejections(tmp_path: Path) -> None:
    sheet = write_csv(tmp_path / "ok.csv", [["a-1", "203.0.113.1"]], headers=["name", "host"])
    result = run(tmp_path, sheet)
    assert result.exit_code == 0
    assert csv_lines(result.paths.rejections_csv) == [[*META_HEADER, "name", "host"]]
    assert xlsx_rows(result.paths.rejections_xlsx, "rejections") == [[*META_HEADER, "name", "host"]]
    assert xlsx_rows(result.paths.rejections_xlsx, "errors") == [
        ["row", "sheet", "field", "code", "severity", "reason"]
    ]


# --- rejections.csv / rejections.xlsx -------------------------------------------------------

REJECT_HEADERS = ["NAME", "HOST", "Port", "DTMF Mode", "Registration", "Transport", "Notes"]


@pytest.fixture
def rejects_csv(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "rejects.csv",
        [
            ["ok-1", "203.0.113.1", "5060", "RFC2833", "", "udp", "fine"],
            ["bad-2", "203.0.113.2", "70000", "touchtone", "", "udp, tcp", "two errors"],
            # An error (transport) and a warning (registration=out without user/secret).
            ["bad-3", "sip.example.com", "5060", "", "out", "SCTP", "error and warning"],
            ["ok-4", "203.0.113.4", "", "", "", "", ""],
        ],
        headers=REJECT_HEADERS,
    )


def test_rejections_csv_lists_rejected_rows_with_original_columns(
    tmp_path: Path, rejects_csv: Path
) -> None:
    result = run(tmp_path, rejects_csv)
    lines = csv_lines(result.paths.rejections_csv)
    assert lines[0] == [*META_HEADER, *REJECT_HEADERS]
    assert lines[1:] == [
        ["3", "rejects.csv", "rejected", "invalid-value",
         "dtmfmode: 'touchtone' is not one of auto, info, rfc2833, inband; "
         "port: 70000 is above 65535",
         "bad-2", "203.0.113.2", "70000", "touchtone", "", "udp, tcp", "two errors"],
        ["4", "rejects.csv", "rejected", "invalid-value",
         "transport: 'SCTP' is not one of UDP, TCP, TLS; "
         "warning: registration: out needs a defaultuser, a secret, remotesecret or auth to "
         "register",
         "bad-3", "sip.example.com", "5060", "", "out", "SCTP", "error and warning"],
    ]  # fmt: skip


def test_rejections_xlsx_marks_bad_cells(tmp_path: Path, rejects_csv: Path) -> None:
    result = run(tmp_path, rejects_csv)
    book = openpyxl.load_workbook(result.paths.rejections_xlsx)
    assert book.sheetnames == ["rejections", "errors"]
    assert xlsx_rows(result.paths.rejections_xlsx, "rejections") == csv_lines(
        result.paths.rejections_csv
    )
    sheet = book["rejections"]
    header = [cell.value for cell in sheet[1]]
    column = {name: i for i, name in enumerate(header)}

    def cell(row: int, name: str) -> Any:
        return sheet.cell(row=row, column=column[name] + 1)

    marked: dict[tuple[int, str], tuple[str, str]] = {}
    for row in sheet.iter_rows(min_row=2):
        for c in row:
            if c.fill.fill_type is not None:
                marked[(c.row, header[c.column - 1])] = (
                    c.fill.fgColor.rgb,
                    c.comment.text if c.comment else "",
                )
    assert marked == {
        (2, "Port"): (RED, "port: 70000 is above 65535"),
        (2, "DTMF Mode"): (RED, "dtmfmode: 'touchtone' is not one of auto, info, rfc2833, inband"),
        (3, "Transport"): (RED, "transport: 'SCTP' is not one of UDP, TCP, TLS"),
        (3, "Registration"): (
            YELLOW,
            "registration: out needs a defaultuser, a secret, remotesecret or auth to register",
        ),
    }
    assert cell(2, "NAME").comment is None
    assert book["errors"].max_row == 5
    assert xlsx_rows(result.paths.rejections_xlsx, "errors") == [
        ["row", "sheet", "field", "code", "severity", "reason"],
        ["3", "rejects.csv", "dtmfmode", "invalid-value", "error",
         "dtmfmode: 'touchtone' is not one of auto, info, rfc2833, inband"],
        ["3", "rejects.csv", "port", "invalid-value", "error", "port: 70000 is above 65535"],
        ["4", "rejects.csv", "transport", "invalid-value", "error",
         "transport: 'SCTP' is not one of UDP, TCP, TLS"],
        ["4", "rejects.csv", "registration", "registration-incomplete", "warning",
         "registration: out needs a defaultuser, a secret, remotesecret or auth to register"],
    ]  # fmt: skip


def test_rule_error_marks_the_field_at_fault(tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "rules.csv",
        [
            ["f-1", "203.0.113.9", "1800", "900", "ulaw,alaw", "g729,ulaw"],
            ["p-1", "dynamic", "", "", "", ""],
        ],
        headers=["name", "host", "session-minse", "session-expires", "audio codecs",
                 "codec order"],
    )  # fmt: skip
    result = run(tmp_path, sheet)
    book = openpyxl.load_workbook(result.paths.rejections_xlsx)
    rejections = book["rejections"]
    header = [c.value for c in rejections[1]]
    red = {
        (c.row, header[c.column - 1]): c.comment.text
        for row in rejections.iter_rows(min_row=2)
        for c in row
        if c.fill.fill_type is not None and c.fill.fgColor.rgb == RED
    }
    assert red == {
        (2, "session-expires"): "session-expires: 900 is below session-minse 1800; RFC 4028 "
        "needs it at least as long",
        (2, "codec order"): "codec_order: g729 is not enabled in audio_codecs (ulaw,alaw); "
        "enable it there or drop it from codec_order",
        (3, "host"): "host: dynamic with no secret, remotesecret or auth would let anyone "
        "register as this endpoint; add a secret",
    }


def test_extra_cells_row_is_rejected_alone(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text("name,host\na-1,203.0.113.1\na-2,203.0.113.2,stray\na-3,203.0.113.3\n")
    result = run(tmp_path, path)
    assert [(r["row"], r["outcome"]) for r in read_csv(result.paths.results_csv)] == [
        ("2", "valid"),
        ("3", "rejected"),
        ("4", "valid"),
    ]
    (rejected,) = read_csv(result.paths.rejections_csv)
    assert rejected["_errors"] == (
        "row has 1 more cell than the header has columns (after column B); put each value "
        "under a header"
    )
    sheet = openpyxl.load_workbook(result.paths.rejections_xlsx)["rejections"]
    errors_cell = sheet.cell(row=2, column=META_HEADER.index("_errors") + 1)
    assert errors_cell.fill.fgColor.rgb == RED


def test_control_characters_reach_the_xlsx_visibly(tmp_path: Path) -> None:
    # XML cannot hold U+0001; the rejections workbook must still be written and show it.
    rows = [[f"ok-{i}", "203.0.113.1", "fine", ""] for i in range(100)]
    rows.append(["bad\x01name", "203.0.113.2", "bell\x07here", "x"])
    sheet = write_csv(tmp_path / "ctl.csv", rows, headers=["name", "host", "Notes", "odd\x02col"])
    result = run(tmp_path, sheet)
    assert result.summary["outcomes"] == {"valid": 100, "rejected": 1}
    (rejected,) = read_csv(result.paths.rejections_csv)
    assert rejected["name"] == "bad\x01name"  # CSV holds it as read
    message = (
        "name: 'bad\\x01name' contains a control character; a name may only hold ASCII letters, "
        "digits and . _ - +"
    )
    assert rejected["_errors"] == message
    table = xlsx_rows(result.paths.rejections_xlsx, "rejections")
    assert table[0][5:] == ["name", "host", "Notes", "odd\\x02col"]
    assert table[1][5:] == ["bad\\x01name", "203.0.113.2", "bell\\x07here", "x"]
    cell = openpyxl.load_workbook(result.paths.rejections_xlsx)["rejections"]["F2"]
    assert (cell.fill.fgColor.rgb, cell.comment.text) == (RED, message)


def test_line_breaks_inside_cells_keep_rows_whole(tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "breaks.csv",
        [
            ["b-1", "203.0.113.1", "70000", "two\rlines"],
            ["b-2", "203.0.113.2", "70000", "two\nlines"],
            ["b-3", "203.0.113.3", "70000", "two\r\nlines"],
        ],
        headers=["name", "host", "port", "Notes"],
    )
    result = run(tmp_path, sheet)
    assert [r["name"] for r in read_csv(result.paths.results_csv)] == ["b-1", "b-2", "b-3"]
    rejections = read_csv(result.paths.rejections_csv)
    assert [r["Notes"] for r in rejections] == ["two\rlines", "two\nlines", "two\r\nlines"]


# --- secrets --------------------------------------------------------------------------------

SECRETS = {
    "valid_secret": "Zq7-VALID-SECRET-xK2p",
    "long_secret": "L" + "0123456789" * 8,  # 81 characters: too long
    "remote": "Rm8-REMOTE-SECRET-wQ4",
    "remote_ctl": "Rm9-CTRL\x07-SECRET",  # a control character: invalid
    "auth_ok": "alice:AuTh-PASS-77@example.com",
    "auth_bad": "bob:AuTh PASS 88@example.com",  # spaces: invalid
    "unmapped": "Pw-UNMAPPED-COLUMN-5150",
    "formula": "=SECRET-FORMULA-4242",
    "rejected_row": "Zq8-ROW-REJECTED-ELSEWHERE",
}
SECRET_HEADERS = ["name", "host", "Secret", "Remote Secret", "AUTH", "Password", "port"]
SECRET_ROWS = [
    ["s-1", "dynamic", SECRETS["valid_secret"], SECRETS["remote"], SECRETS["auth_ok"],
     SECRETS["unmapped"], "5060"],
    ["s-2", "dynamic", SECRETS["long_secret"], "", "", "", ""],
    ["s-3", "dynamic", SECRETS["rejected_row"], SECRETS["remote_ctl"], SECRETS["auth_bad"],
     SECRETS["unmapped"] + "-2", "70000"],
    ["s-4", "203.0.113.4", SECRETS["formula"], "", "", "", "99999"],
    ["s-5", "203.0.113.5", MASK, "", "", "", ""],
]  # fmt: skip


def assert_no_secret(result: RunResult, secrets: dict[str, str]) -> None:
    files = report_bytes(result)
    assert "rejections.xlsx!xl/worksheets/sheet1.xml" in files
    for label, secret in secrets.items():
        # Also the forms a CSV or XML writer might produce, and the secret minus its first
        # character (what a formula-neutralizing or escaping step could leave behind).
        needles = {
            secret.encode("utf-8"),
            secret.encode("utf-16-le"),
            secret.replace("\x07", "_x0007_").encode("utf-8"),
            secret.replace("\x07", "\\x07").encode("utf-8"),
            secret[1:].encode("utf-8"),
        }
        for name, data in files.items():
            for needle in needles:
                assert needle not in data, f"{label} appears in {name}"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_secrets_never_appear_in_reports(tmp_path: Path, kind: str) -> None:
    secrets = dict(SECRETS)
    rows = [list(row) for row in SECRET_ROWS]
    if kind == "csv":
        sheet = write_csv(tmp_path / "secrets.csv", rows, headers=SECRET_HEADERS)
    else:
        # XML cannot hold a control character: use a remote secret that is too long instead.
        secrets["remote_ctl"] = rows[2][3] = "Rm9-TOO-LONG-" + "x" * 80
        sheet = write_text_xlsx(tmp_path / "secrets.xlsx", rows, SECRET_HEADERS)
    result = run(tmp_path, sheet)
    outcomes = {r["name"]: r["outcome"] for r in read_csv(result.paths.results_csv)}
    assert outcomes == {
        "s-1": "valid", "s-2": "rejected", "s-3": "rejected", "s-4": "rejected", "s-5": "valid",
    }  # fmt: skip
    assert_no_secret(result, secrets)

    rejected = {r["name"]: r for r in read_csv(result.paths.rejections_csv)}
    assert rejected["s-2"]["Secret"] == MASK
    assert rejected["s-2"]["_errors"] == ("secret: is 81 characters long; at most 80 are allowed")
    assert rejected["s-3"]["Secret"] == MASK
    assert rejected["s-3"]["Remote Secret"] == MASK
    assert rejected["s-3"]["AUTH"] == MASK
    assert rejected["s-3"]["Password"] == MASK  # not a parameter, but clearly a credential
    assert rejected["s-3"]["_errors"].startswith("auth: contains a space, which is not allowed")
    assert rejected["s-4"]["Secret"] == MASK
    assert rejected["s-4"]["Remote Secret"] == ""  # an empty cell stays empty
    for title in ("rejections", "errors"):
        for line in xlsx_rows(result.paths.rejections_xlsx, title):
            for value in line:
                for secret in secrets.values():
                    assert secret not in value


def test_secret_under_a_mapped_header_is_masked(tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "mapped.csv",
        [["k-1", "dynamic", "Kw-MAPPED-SECRET-31337", "Auth Token-XYZ-777", "70000"]],
        headers=["name", "host", "Kennwort", "API Token", "port"],
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text('[aliases]\n"Kennwort" = "secret"\n', encoding="utf-8")
    result = run(tmp_path, sheet, mapping=mapping)
    (rejected,) = read_csv(result.paths.rejections_csv)
    assert (rejected["Kennwort"], rejected["API Token"]) == (MASK, MASK)
    assert result.summary["warnings"] == [
        "column D ('API Token') is not a sip_endpoint parameter and was ignored"
    ]
    assert_no_secret(result, {"mapped": "Kw-MAPPED-SECRET-31337", "token": "Auth Token-XYZ-777"})


# One unmapped column per hint its header holds (and no other hint): 'SIP Passwd' must be masked
# because of 'passwd' alone, 'PIN Pwd' because of 'pwd' alone, and so on.
HINT_HEADERS = {
    "secret": "VM Secret",
    "password": "Web Password",
    "passwd": "SIP Passwd",
    "pwd": "PIN Pwd",
    "auth": "Auth Code",
    "token": "API Token",
}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_every_credential_hint_masks_its_column_on_a_rejected_row(
    tmp_path: Path, kind: str
) -> None:
    values = {hint: f"Hint-{hint.upper()}-Clear-{i}x" for i, hint in enumerate(HINT_HEADERS)}
    headers = ["name", "host", "port", *HINT_HEADERS.values()]
    rows = [["h-1", "203.0.113.1", "70000", *values.values()]]
    if kind == "csv":
        sheet = write_csv(tmp_path / "hints.csv", rows, headers=headers)
    else:
        sheet = write_text_xlsx(tmp_path / "hints.xlsx", rows, headers)
    result = run(tmp_path, sheet)
    assert result.exit_code == 1
    (rejected,) = read_csv(result.paths.rejections_csv)
    assert rejected["_errors"] == "port: 70000 is above 65535"
    assert {h: rejected[h] for h in HINT_HEADERS.values()} == dict.fromkeys(
        HINT_HEADERS.values(), MASK
    )
    book = openpyxl.load_workbook(result.paths.rejections_xlsx)
    header, line = ([cell.value for cell in row] for row in book["rejections"].iter_rows())
    cells = dict(zip(header, line, strict=True))
    assert cells["name"] == "h-1" and cells["port"] == "70000"
    assert {h: cells[h] for h in HINT_HEADERS.values()} == dict.fromkeys(
        HINT_HEADERS.values(), MASK
    )
    assert_no_secret(result, values)
    assert set(HINT_HEADERS) == set(report._SECRET_HINTS)  # a new hint needs its case here


def test_mask_secrets_masks_credential_columns_and_keeps_empty_cells() -> None:
    frame = pd.DataFrame(
        {
            "Kennwort": ["pw-1", "", "  ", None],  # mapped to secret
            "Token Host": ["h1", "h2", "h3", "h4"],  # mapped to host: a hint word, not a secret
            "SIP-PassWD": ["a", None, "b", "c"],  # unmapped, a hint in another case and spelling
            "API_TOKEN": pd.Series(["t", pd.NA, "t", "t"], dtype="string"),
            "Notes": ["n1", "n2", "n3", "n4"],
        }
    )
    original = frame.copy()
    masked = report.mask_secrets(frame, {"Kennwort": "secret", "Token Host": "host"})
    rows = masked.astype(object).where(masked.notna(), None).to_numpy().tolist()
    assert rows == [
        [MASK, "h1", MASK, MASK, "n1"],
        ["", "h2", None, None, "n2"],
        ["  ", "h3", MASK, MASK, "n3"],
        [None, "h4", MASK, MASK, "n4"],
    ]
    pd.testing.assert_frame_equal(frame, original)  # a copy: the sheet itself is untouched


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+2", "'=1+2"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-cmd", "'-cmd"),
        ("--5", "'--5"),
        ("-1e5", "'-1e5"),
        ("-.5", "'-.5"),
        ("-1.", "'-1."),
        ("+1.5x", "'+1.5x"),
        ("-5", "-5"),  # numbers stay numbers
        ("+15551234", "+15551234"),
        ("-12.75", "-12.75"),
        ("5", "5"),
        ("1+2", "1+2"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralize_quotes_what_a_spreadsheet_would_run(text: str, written: str) -> None:
    assert report.neutralize(text) == written


def test_neutralize_frame_quotes_text_cells_only() -> None:
    frame = pd.DataFrame(
        {
            "object": ["=a", None, "+1", "-x"],
            "string": pd.Series(["@b", pd.NA, "ok", "\tt"], dtype="string"),
            "numbers": [-1, 2, -3, 4],
            "clean": ["a", "b", "c", "d"],
            "mixed": pd.Series([5, "=x", None, "@y"], dtype=object),  # text among numbers
        }
    )
    original = frame.copy()
    out = report._neutralize_frame(frame)

    def cells(column: str) -> list[object]:
        return [None if pd.isna(v) else v for v in out[column].tolist()]

    assert cells("object") == ["'=a", None, "+1", "'-x"]
    assert cells("string") == ["'@b", None, "ok", "'\tt"]
    assert cells("mixed") == [5, "'=x", None, "'@y"]
    assert out["numbers"].tolist() == [-1, 2, -3, 4] and out["numbers"].dtype == "int64"
    assert out["clean"].tolist() == ["a", "b", "c", "d"]
    pd.testing.assert_frame_equal(frame, original)


def test_masked_secret_is_a_warning(tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "mask.csv", [["m-1", "203.0.113.1", MASK]], headers=["name", "host", "secret"]
    )
    result = run(tmp_path, sheet)
    assert result.exit_code == 0
    (line,) = read_csv(result.paths.results_csv)
    assert line["outcome"] == "valid"
    assert line["message"] == (
        "warning: secret: is masked (********); import and sync keep the gateway's current "
        "secret, and reject the row if the endpoint does not exist yet"
    )
    # --strict does not reject it: the mask says what to do, it is not a mistake.
    assert run(tmp_path / "strict", sheet, strict=True).exit_code == 0


# --- formula safety -------------------------------------------------------------------------

FORMULA_ROWS = [
    # name, notes; every row is rejected (port) so its notes reach the rejections files.
    ["=1+2", '=HYPERLINK("http://evil.example","click")'],
    ["-cmd", "+SUM(A1:A9)"],
    ["@ext", "-2+3"],
    ["+15551234", "@SUM(1)"],
    ["-5", "\tTAB=1"],
    ["plain", "+15551234"],
    ["plain-2", "-5"],
    ["plain-3", "\r=CR"],
]
NEUTRALIZED_NOTES = [
    '\'=HYPERLINK("http://evil.example","click")',
    "'+SUM(A1:A9)",
    "'-2+3",
    "'@SUM(1)",
    "'\tTAB=1",
    "+15551234",
    "-5",
    "'\r=CR",
]


@pytest.fixture
def formula_csv(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "formulas.csv",
        [[name, "203.0.113.1", "70000", notes] for name, notes in FORMULA_ROWS],
        headers=["name", "host", "port", "Notes"],
    )


def test_formula_cells_are_quoted_in_csv_reports(tmp_path: Path, formula_csv: Path) -> None:
    result = run(tmp_path, formula_csv)
    results = read_csv(result.paths.results_csv)
    assert [r["name"] for r in results] == [
        "'=1+2", "'-cmd", "'@ext", "+15551234", "-5", "plain", "plain-2", "plain-3",
    ]  # fmt: skip
    rejections = read_csv(result.paths.rejections_csv)
    assert [r["Notes"] for r in rejections] == NEUTRALIZED_NOTES
    assert [r["name"] for r in rejections] == [r["name"] for r in results]
    for path in (result.paths.results_csv, result.paths.rejections_csv):
        for line in csv_lines(path)[1:]:
            for value in line:
                assert not value.startswith(("=", "@", "\t", "\r")), (path.name, value)
                if value.startswith(("+", "-")):
                    assert value in ("+15551234", "-5"), (path.name, value)


def test_no_formula_cell_in_xlsx_report(tmp_path: Path, formula_csv: Path) -> None:
    result = run(tmp_path, formula_csv)
    book = openpyxl.load_workbook(result.paths.rejections_xlsx)
    seen = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                seen += cell.value is not None
    assert seen > 50
    notes = [row[-1] for row in xlsx_rows(result.paths.rejections_xlsx, "rejections")[1:]]
    # In XLSX the text is kept as typed, a bare CR included: a string cell is never a formula.
    assert notes == [notes for _, notes in FORMULA_ROWS]
    with zipfile.ZipFile(result.paths.rejections_xlsx) as archive:
        for member in archive.namelist():
            assert b"<f>" not in archive.read(member), member


def test_formula_like_sheet_name_is_quoted(tmp_path: Path) -> None:
    sheet = write_text_xlsx(tmp_path / "s.xlsx", [["a-1", 70000]], ["name", "port"], title="=cmd|x")
    result = run(tmp_path, sheet)
    assert read_csv(result.paths.results_csv)[0]["sheet"] == "'=cmd|x"
    assert read_csv(result.paths.rejections_csv)[0]["_sheet"] == "'=cmd|x"
    errors = openpyxl.load_workbook(result.paths.rejections_xlsx)["errors"]
    assert (errors["B2"].value, errors["B2"].data_type) == ("=cmd|x", "s")


def test_formula_text_cells_from_xlsx_input(tmp_path: Path) -> None:
    rows = [[name, "203.0.113.1", 70000, notes] for name, notes in FORMULA_ROWS[:6]]
    sheet = write_text_xlsx(tmp_path / "formulas.xlsx", rows, ["name", "host", "port", "Notes"])
    result = run(tmp_path, sheet)
    assert [r["Notes"] for r in read_csv(result.paths.rejections_csv)] == NEUTRALIZED_NOTES[:6]
    book = openpyxl.load_workbook(result.paths.rejections_xlsx)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    assert [r[5] for r in xlsx_rows(result.paths.rejections_xlsx, "rejections")[1:]] == [
        name for name, _ in FORMULA_ROWS[:6]
    ]


# --- feeding a rejections file back ---------------------------------------------------------


def _fix_ports(source: Path, target: Path) -> Path:
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    port = rows[0].index("port")
    for row in rows[1:]:
        row[port] = "5060"
    with target.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return target


def test_fixed_rejections_csv_feeds_back(tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "first.csv",
        [
            ["-cmd", "203.0.113.1", "70000", "=1+2"],
            ["+15551234", "203.0.113.2", "70000", "@home"],
            ["\tpad-1", "203.0.113.3", "70000", "+1 555 0100"],
            ["good-1", "203.0.113.4", "5060", "-5"],
        ],
        headers=["name", "host", "port", "extension"],
    )
    first = run(tmp_path / "first", sheet)
    assert first.summary["outcomes"] == {"rejected": 3, "valid": 1}
    fixed = _fix_ports(first.paths.rejections_csv, tmp_path / "fixed.csv")

    second = run(tmp_path / "second", fixed)
    assert second.exit_code == 0
    assert second.summary["outcomes"] == {"valid": 3}
    assert second.summary["warnings"] == []  # _row, _errors, ... ignored without a word
    loaded = load_sheet(fixed)
    frame = normalize(loaded).frame
    assert list(frame["name"]) == ["-cmd", "+15551234", "pad-1"]
    assert list(frame["extension"]) == ["=1+2", "@home", "+1 555 0100"]
    assert [r["row"] for r in read_csv(second.paths.results_csv)] == ["2", "3", "4"]


def test_rejections_xlsx_feeds_back(tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "first.csv",
        [["x-1", "203.0.113.1", "70000", "=1+2", "0012"]],
        headers=["name", "host", "port", "extension", "defaultuser"],
    )
    first = run(tmp_path / "first", sheet)
    book = openpyxl.load_workbook(first.paths.rejections_xlsx)
    rejections = book["rejections"]
    header = [c.value for c in rejections[1]]
    rejections.cell(row=2, column=header.index("port") + 1, value="5060")
    fixed = tmp_path / "fixed.xlsx"
    book.save(fixed)
    second = run(tmp_path / "second", fixed)
    assert second.exit_code == 0
    assert second.summary["warnings"] == []
    frame = normalize(load_sheet(fixed)).frame
    assert frame.loc[2, "extension"] == "=1+2"
    assert frame.loc[2, "defaultuser"] == "0012"


# --- numbers, IDs and leading zeros ---------------------------------------------------------


def test_leading_zeros_kept_in_csv(tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "zeros.csv",
        [["0012", "203.0.113.1", "0012", "70000"]],
        headers=["name", "host", "defaultuser", "port"],
    )
    result = run(tmp_path, sheet)
    (line,) = read_csv(result.paths.results_csv)
    assert line["name"] == "0012"
    (rejected,) = read_csv(result.paths.rejections_csv)
    assert (rejected["name"], rejected["defaultuser"]) == ("0012", "0012")
    assert xlsx_rows(result.paths.rejections_xlsx, "rejections")[1][5:8] == [
        "0012", "203.0.113.1", "0012",
    ]  # fmt: skip


def test_xlsx_ids_text_and_numbers(tmp_path: Path) -> None:
    sheet = write_text_xlsx(
        tmp_path / "ids.xlsx",
        [
            ["0012", "203.0.113.1", "0012", 5060],  # text cells
            [8005555555, "203.0.113.2", 8005555556, 5060],  # number cells
            [8005555557.0, "203.0.113.3", None, 5060.0],  # float cells holding whole numbers
            ["8.00556E+09", "203.0.113.4", None, None],  # Excel's display of a lost ID
            ["id-5", "203.0.113.5", "8.00556E+09", None],
        ],
        headers=["name", "host", "defaultuser", "port"],
    )
    result = run(tmp_path, sheet)
    results = read_csv(result.paths.results_csv)
    assert [(r["row"], r["sheet"], r["name"], r["outcome"]) for r in results] == [
        ("2", "endpoints", "0012", "valid"),
        ("3", "endpoints", "8005555555", "valid"),
        ("4", "endpoints", "8005555557", "valid"),
        ("5", "endpoints", "8.00556E+09", "rejected"),
        ("6", "endpoints", "id-5", "rejected"),
    ]
    assert results[3]["error_key"] == "scientific-notation"
    assert results[3]["message"] == SCIENTIFIC_NAME
    assert results[4]["message"] == SCIENTIFIC_NAME.replace("name:", "defaultuser:")
    frame = normalize(load_sheet(sheet)).frame
    assert list(frame["defaultuser"].iloc[:2]) == ["0012", "8005555556"]
    assert list(frame["port"].iloc[:3]) == ["5060", "5060", "5060"]


def test_scientific_notation_in_csv_id_column(tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "sci.csv",
        [["8.00556E+09", "203.0.113.1"], ["8005561234", "203.0.113.2"]],
        headers=["Name", "Host"],
    )
    result = run(tmp_path, sheet)
    results = read_csv(result.paths.results_csv)
    assert [(r["name"], r["outcome"], r["message"]) for r in results] == [
        ("8.00556E+09", "rejected", SCIENTIFIC_NAME),
        ("8005561234", "valid", ""),
    ]
    assert "format the column as Text" in read_csv(result.paths.rejections_csv)[0]["_errors"]


# --- chunked validation ---------------------------------------------------------------------
# validate reads, checks and reports a long sheet a chunk at a time; the reports must not show
# where the chunks ended.


def _reports_of(result: RunResult) -> dict[str, object]:
    summary = json.loads(result.paths.summary_json.read_text(encoding="utf-8"))
    for key in ("timings", "rows_per_second", "reports"):
        summary.pop(key)
    return {
        "results": csv_lines(result.paths.results_csv),
        "rejections": csv_lines(result.paths.rejections_csv),
        "xlsx": xlsx_rows(result.paths.rejections_xlsx, "rejections"),
        "xlsx errors": xlsx_rows(result.paths.rejections_xlsx, "errors"),
        "summary": summary,
        "exit": result.exit_code,
    }


CHUNKED_ROWS = [
    ["trunk-a", "203.0.113.1", "5060", "s3cret-a"],
    ["trunk-b", "203.0.113.2", "70000", "s3cret-b"],
    ["", "", "", ""],
    ["TRUNK-A", "203.0.113.3", "5060", "s3cret-c"],  # duplicate of row 2, two chunks later
    ["trunk-c", "dynamic", "5060", ""],  # open registration
    ["trunk-d", "203.0.113.4", "5062", "s3cret-d"],
    [" ", "", "", ""],
    ["trunk-b", "203.0.113.5", "0", "s3cret-e"],  # duplicate of a rejected row, and bad port
    ["trunk-e", "203.0.113.6", "5064", "s3cret-f"],
]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
def test_chunked_validation_reports_as_one_piece(
    tmp_path: Path, kind: str, chunk_rows: int
) -> None:
    headers = ["name", "host", "port", "secret"]
    if kind == "csv":
        sheet = write_csv(tmp_path / "long.csv", CHUNKED_ROWS, headers=headers)
    else:
        sheet = write_text_xlsx(tmp_path / "long.xlsx", CHUNKED_ROWS, headers)
    whole = _reports_of(run(tmp_path / "whole", sheet, chunk_rows=1_000_000))
    chunked = _reports_of(run(tmp_path / "chunked", sheet, chunk_rows=chunk_rows))
    assert chunked == whole
    results = {line[0]: (line[3], line[4]) for line in whole["results"][1:]}  # type: ignore[index]
    assert results == {
        "2": ("rejected", "duplicate-name"),
        "3": ("rejected", "duplicate-name"),  # and its port: the first problem by field
        "5": ("rejected", "duplicate-name"),
        "6": ("rejected", "open-registration"),
        "7": ("valid", ""),
        "9": ("rejected", "duplicate-name"),
        "10": ("valid", ""),
    }
    assert whole["summary"]["blank"] == 2  # type: ignore[index]


@pytest.mark.parametrize("process", [False, True])
@pytest.mark.parametrize("existing", [False, True])
def test_an_interrupted_validation_leaves_no_half_written_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, process: bool, existing: bool
) -> None:
    """Ctrl-C (or any failure) after some chunks are written: no results.csv that looks whole.

    Files of the directory that this run did not write are kept.
    """
    import importer.pipeline as pipeline

    sheet = write_csv(tmp_path / "s.csv", CHUNKED_ROWS, headers=["name", "host", "port", "secret"])
    reports = tmp_path / "reports"
    if existing:
        reports.mkdir()
        (reports / "notes.txt").write_text("kept")
    calls = []
    real = pipeline.check_rows

    def interrupted_on_the_third_chunk(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "check_rows", interrupted_on_the_third_chunk)
    monkeypatch.setattr(pipeline, "_WORKBOOK_PROCESS_BYTES", -1 if process else 1 << 40)
    with pytest.raises(KeyboardInterrupt):
        validate_file(sheet, report_dir=reports, chunk_rows=2)
    assert len(calls) == 3
    if existing:
        assert sorted(p.name for p in reports.iterdir()) == ["notes.txt"]
    else:
        assert not reports.exists()


def test_rejections_xlsx_from_a_child_process_equals_the_in_process_one(tmp_path: Path) -> None:
    """Long sheets write rejections.xlsx in a child process; the file must not tell."""
    sheet = write_csv(tmp_path / "s.csv", CHUNKED_ROWS, headers=["name", "host", "port", "secret"])
    normalized = normalize(load_sheet(sheet))
    validation = validate(normalized)
    results = validation_results(validation)
    books = []
    for process in (False, True):
        writer = ReportWriter(tmp_path / f"process-{process}", workbook_process=process)
        writer.add(normalized, results, validation.problems)
        paths = writer.close()
        book = openpyxl.load_workbook(paths.rejections_xlsx)
        books.append(
            (
                xlsx_rows(paths.rejections_xlsx, "rejections"),
                xlsx_rows(paths.rejections_xlsx, "errors"),
                [
                    (c.coordinate, c.fill.fgColor.rgb, c.comment.text if c.comment else None)
                    for row in book["rejections"].iter_rows()
                    for c in row
                    if c.fill.fill_type is not None
                ],
            )
        )
    assert books[0] == books[1]
    assert len(books[0][0]) == 6  # the header and the five rejected rows
    assert (
        "H3",
        RED,
        "port: 70000 is above 65535",
    ) in books[0][2]


# --- the column-wise CSV writer -------------------------------------------------------------

# Every formula start, plain numbers, and every character the csv module quotes for.
AWKWARD_CELLS = [
    "=1+2", "+cmd", "-x", "@home", "\tt", "\rr", "+15551234", "-5", "-12.75", "+1\n", "-1.",
    "-1e5", 'say "hi"', "a,b", "line\nbreak", "cr\ronly", "crlf\r\n", "=a,\"b\"\r\n", "", " ",
    "ünï ✓", "'already", "plain",
]  # fmt: skip


@pytest.mark.parametrize("neutralized", [False, True])
def test_csv_lines_are_byte_for_byte_what_pandas_writes(neutralized: bool) -> None:
    """The Arrow path stands in for ``_neutralize_frame(frame).to_csv(...)``: it must not
    differ on any cell, whatever its column's kind."""
    n = len(AWKWARD_CELLS)
    frame = pd.DataFrame(
        {
            "str": pd.Series([*AWKWARD_CELLS, None], dtype="str"),
            "object": pd.Series([None, *AWKWARD_CELLS], dtype=object),
            "string": pd.Series([*AWKWARD_CELLS[::-1], pd.NA], dtype="string"),
            "numbers": range(-3, n - 2),
            "mixed": pd.Series([-5, 7, "", *AWKWARD_CELLS[: n - 3], None], dtype=object),
            "constant": "=cmd|' /C calc'!A0",
        }
    )
    # Arrow text in several pieces, as pandas leaves a column it concatenated.
    frame["pieces"] = pd.concat(
        [frame["str"].iloc[:5], frame["str"].iloc[5:].str.upper()], ignore_index=True
    )
    expected = (report._neutralize_frame(frame) if neutralized else frame).to_csv(
        index=False, header=False, lineterminator="\r\n"
    )
    assert bytes(report._csv_bytes(frame, neutralized=neutralized)) == expected.encode()
    for part in (frame.iloc[7:], frame.iloc[:3], frame.iloc[12:13]):  # Arrow slices of a column
        expected = (report._neutralize_frame(part) if neutralized else part).to_csv(
            index=False, header=False, lineterminator="\r\n"
        )
        assert bytes(report._csv_bytes(part, neutralized=neutralized)) == expected.encode()
    floats = frame.assign(numbers=[x / 4 for x in range(n + 1)])  # spelled by pandas itself
    expected = (report._neutralize_frame(floats) if neutralized else floats).to_csv(
        index=False, header=False, lineterminator="\r\n"
    )
    assert bytes(report._csv_bytes(floats, neutralized=neutralized)) == expected.encode()


def test_csv_lines_quote_and_neutralize_exactly() -> None:
    frame = pd.DataFrame(
        {"a": ["=1+2", "-5", "x\ry", "@a,b"], "b": ['say "hi"', "\tt", "+1", None], "n": 1}
    )
    assert bytes(report._csv_bytes(frame, neutralized=True)) == (
        b'\'=1+2,"say ""hi""",1\r\n-5,\'\tt,1\r\n"x\ry",+1,1\r\n"\'@a,b",,1\r\n'
    )
    assert report._csv_bytes(frame.iloc[:0], neutralized=True) == b""


def test_csv_lines_read_a_slice_of_text_by_its_own_bytes() -> None:
    """The writer reads Arrow text by its bytes and offsets: a slice (a chunk of a long sheet)
    has only its own cells' bytes, with offsets counted from its first cell, empty cells and
    a slice with no text at all included."""
    text = pa.array(["ab", "cde", None, "", "f"], type=pa.large_string())
    data, offsets = report._utf8(text.slice(1, 3))
    assert (data.tobytes(), offsets.tolist()) == (b"cde", [0, 3, 3, 3])
    data, offsets = report._utf8(text.slice(2, 2))
    assert (data.tobytes(), offsets.tolist()) == (b"", [0, 0, 0])
    data, offsets = report._utf8(pa.array(["", None], type=pa.large_string()).slice(1))
    assert (data.tobytes(), offsets.tolist()) == (b"", [0, 0])
    data, offsets = report._utf8(text.slice(5))
    assert (data.tobytes(), offsets.tolist()) == (b"", [0])


# --- rejections.xlsx of a long run: marks on the first rows only ----------------------------

MARKED_ROWS_SHEET = [
    [f"m-{i}", "203.0.113.1", "70000" if i % 2 else "5060", f"Secret-{i}x", f"=note {i}"]
    for i in range(1, 13)
]  # rows 3, 5, ..., 13 rejected (odd i): six rejected rows


@pytest.mark.parametrize("process", [False, True])
def test_only_the_first_rejected_rows_are_marked_in_a_long_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, process: bool
) -> None:
    import importer.pipeline as pipeline

    monkeypatch.setattr(report, "MARKED_ROWS", 4)
    monkeypatch.setattr(pipeline, "_WORKBOOK_PROCESS_BYTES", -1 if process else 1 << 40)
    headers = ["name", "host", "port", "secret", "Notes"]
    sheet = write_csv(tmp_path / "long.csv", MARKED_ROWS_SHEET, headers=headers)
    result = run(tmp_path, sheet, chunk_rows=3)  # the marks run out inside a chunk
    path = result.paths.rejections_xlsx
    # Every rejected row is there whole, as in rejections.csv.
    assert xlsx_rows(path, "rejections") == [
        [*META_HEADER, *headers],
        *(
            [str(i + 1), "long.csv", "rejected", "invalid-value", "port: 70000 is above 65535",
             f"m-{i}", "203.0.113.1", "70000", MASK, f"=note {i}"]
            for i in (1, 3, 5, 7, 9, 11)
        ),
    ]  # fmt: skip
    assert [line[:5] for line in csv_lines(result.paths.rejections_csv)] == [
        line[:5] for line in xlsx_rows(path, "rejections")
    ]
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["rejections", "errors", "about"]
    marked = [
        (c.coordinate, c.fill.fgColor.rgb, c.comment.text if c.comment else None)
        for row in book["rejections"].iter_rows(min_row=2)
        for c in row
        if c.fill.fill_type is not None or c.comment is not None
    ]
    assert marked == [
        (f"H{r}", RED, "port: 70000 is above 65535") for r in (2, 3, 4, 5)
    ]  # the fifth and sixth rejected rows (sheet rows 10 and 12) are plain
    assert xlsx_rows(path, "errors") == [
        ["row", "sheet", "field", "code", "severity", "reason"],
        *(
            [str(i + 1), "long.csv", "port", "invalid-value", "error",
             "port: 70000 is above 65535"]
            for i in (1, 3, 5, 7)
        ),
    ]  # fmt: skip
    assert xlsx_rows(path, "about") == [
        [
            "Colours, comments and lines in the errors sheet mark the first 4 of the 6 rejected "
            "rows; the rows after them are whole but plain. The _errors column of the rejections "
            "sheet (and rejections.csv) gives every row's reasons."
        ]
    ]
    for ws in book.worksheets:
        for row in ws.iter_rows():
            assert all(cell.data_type != "f" for cell in row)


def test_a_long_runs_rejections_xlsx_feeds_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain rows are whole rows: fixed in the workbook, all six validate."""
    monkeypatch.setattr(report, "MARKED_ROWS", 2)
    headers = ["name", "host", "port", "secret", "Notes"]
    sheet = write_csv(tmp_path / "long.csv", MARKED_ROWS_SHEET, headers=headers)
    first = run(tmp_path / "first", sheet)
    book = openpyxl.load_workbook(first.paths.rejections_xlsx)
    rejections = book["rejections"]
    header = [c.value for c in rejections[1]]
    for r in range(2, rejections.max_row + 1):
        rejections.cell(row=r, column=header.index("port") + 1, value="5060")
        rejections.cell(row=r, column=header.index("secret") + 1, value=f"Fixed-{r}x")
    fixed = tmp_path / "fixed.xlsx"
    book.save(fixed)
    second = run(tmp_path / "second", fixed)
    assert second.exit_code == 0
    assert [(r["name"], r["outcome"]) for r in read_csv(second.paths.results_csv)] == [
        (f"m-{i}", "valid") for i in (1, 3, 5, 7, 9, 11)
    ]


def test_a_run_within_the_marks_has_no_about_sheet(tmp_path: Path) -> None:
    headers = ["name", "host", "port", "secret", "Notes"]
    sheet = write_csv(tmp_path / "short.csv", MARKED_ROWS_SHEET, headers=headers)
    writer = ReportWriter(tmp_path / "r", marked_rows=6)  # as many as the rejected rows
    normalized = normalize(load_sheet(sheet))
    validation = validate(normalized)
    writer.add(normalized, validation_results(validation), validation.problems)
    book = openpyxl.load_workbook(writer.close().rejections_xlsx)
    assert book.sheetnames == ["rejections", "errors"]
    assert book["errors"].max_row == 7


@pytest.mark.parametrize("rows", [[["", ""], [" ", ""]], [["a-1", "203.0.113.1"]]])
def test_the_writer_process_started_before_the_rows_ends_with_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[list[str]]
) -> None:
    """Long sheets start rejections.xlsx's writer before the first row is read: a run that
    stops there (no data rows) or before any rejected row must end it, and leave no file."""
    import importer.pipeline as pipeline
    from importer.errors import InputError
    from importer.reports import workbook

    monkeypatch.setattr(pipeline, "_WORKBOOK_PROCESS_BYTES", -1)
    started: list[workbook.WorkbookWriter] = []
    real = workbook.WorkbookWriter.__init__

    def spy(self: workbook.WorkbookWriter, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(workbook.WorkbookWriter, "__init__", spy)
    sheet = write_csv(tmp_path / "s.csv", rows, headers=["name", "host"])
    if rows[0][0]:
        result = run(tmp_path, sheet)
        assert result.exit_code == 0
        assert xlsx_rows(result.paths.rejections_xlsx, "rejections") == [
            [*META_HEADER, "name", "host"]
        ]
    else:
        with pytest.raises(InputError) as raised:
            run(tmp_path, sheet)
        assert str(raised.value) == f"{sheet} has no data rows"
        assert not (tmp_path / "reports").exists()
    (writer,) = started
    assert writer._child is not None and writer._child.returncode is not None
