"""``sip-import template``: the workbook read back with openpyxl, then filled through openpyxl with
values the template's own validations allow, and accepted by ``sip-import validate``."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import read_csv, run_cli
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from importer.reports.template import (
    COMMON_COLUMNS,
    RENAME_COLUMNS,
    TEMPLATE_COLUMNS,
    TEMPLATE_ROWS,
    TEXT_COLUMNS,
    input_message,
)
from schemas import ID_COLUMNS, PARAMETERS, SECRET_FIELDS
from schemas.domains import Choice, Flag, Integer

CODECS = ("ulaw", "alaw", "g722", "g726", "g729", "gsm")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("template")
    path = directory / "endpoints.xlsx"
    proc = run_cli("template", str(path), cwd=directory)
    assert proc.returncode == 0, proc.stderr
    assert (
        proc.stdout.strip()
        == f"wrote {path}: {len(TEMPLATE_COLUMNS)} columns; the 'help' sheet explains each"
    )
    assert proc.stderr == ""
    return path


def validations(sheet: Any) -> dict[str, DataValidation]:
    """Each validation by the first range of its sqref ('E2:E5000', 'A1')."""
    out = {}
    for dv in sheet.data_validations.dataValidation:
        for cells in str(dv.sqref).split():
            out[cells] = dv
    return out


def list_values(book: Workbook, formula: str) -> list[str]:
    """The values a list validation offers: inline '"a,b"' or a range on the lists sheet."""
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    found = re.fullmatch(r"'?(\w+)'?!\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)", formula)
    assert found, formula
    sheet_name, col, first, _, last = found.groups()
    sheet = book[sheet_name]
    return [str(sheet[f"{col}{r}"].value) for r in range(int(first), int(last) + 1)]


def test_header_has_every_parameter_common_ones_first(template: Path) -> None:
    book = load_workbook(template)
    assert book.sheetnames[:2] == ["endpoints", "help"]
    assert all(book[s].sheet_state == "hidden" for s in book.sheetnames[2:])
    sheet = book["endpoints"]
    header = [c.value for c in sheet[1]]
    assert header == list(TEMPLATE_COLUMNS)
    assert set(header) == set(PARAMETERS)  # every SPEC.md parameter: the template is the contract
    assert header[:8] == list(COMMON_COLUMNS) == [
        "name", "host", "defaultuser", "secret", "registration", "transport", "nat", "port",
    ]  # fmt: skip
    assert header[-2:] == list(RENAME_COLUMNS)
    assert sheet.freeze_panes == "B2"
    assert all(c.font.bold for c in sheet[1])
    for i, name in enumerate(header, start=1):
        width = sheet.column_dimensions[get_column_letter(i)].width
        assert len(name) + 2 <= width <= 34, (name, width)


def test_dropdowns_and_number_ranges(template: Path) -> None:
    book = load_workbook(template)
    sheet = book["endpoints"]
    by_range = validations(sheet)
    checked = {"list": 0, "whole": 0}
    for i, name in enumerate(TEMPLATE_COLUMNS, start=1):
        letter = get_column_letter(i)
        domain = PARAMETERS[name].domain
        dv = by_range[f"{letter}2:{letter}{TEMPLATE_ROWS}"]
        assert dv.allow_blank
        if isinstance(domain, Flag):
            assert (dv.type, dv.formula1) == ("list", '"0,1"'), name
        elif isinstance(domain, Choice):
            assert dv.type == "list", name
            assert list_values(book, dv.formula1) == list(domain.values), name
        elif isinstance(domain, Integer):
            assert dv.type == "whole", name
            assert int(dv.formula1) == domain.minimum, name
            if domain.maximum is None:
                assert dv.operator == "greaterThanOrEqual"
            else:
                assert (dv.operator, int(dv.formula2)) == ("between", domain.maximum), name
            if domain.step:
                assert (
                    f"steps of {domain.step}" in dv.prompt and "Excel checks the range" in dv.prompt
                )
        else:
            assert dv.type in (None, "textLength", "custom"), name
        if dv.type is not None:
            checked[dv.type] = checked.get(dv.type, 0) + 1
            assert dv.showErrorMessage and dv.errorStyle == "stop" and dv.error, name
    assert checked["list"] == sum(isinstance(p.domain, Choice | Flag) for p in PARAMETERS.values())
    assert checked["whole"] == sum(isinstance(p.domain, Integer) for p in PARAMETERS.values())
    # spot checks, spelled out
    spot = {
        "registration": ("list", '"in,out,none"', None),
        "qualify": ("list", '"0,1"', None),
        "port": ("whole", "1", "65535"),
        "g726_pr": ("whole", "10", "200"),
        "timert1": ("whole", "200", "2147483647"),
        "name": (
            "custom",
            'AND(LEN(A2)>=1,LEN(A2)<=80,LOWER(A2)<>"general",LOWER(A2)<>"authentication")',
            None,
        ),
        "extension": ("textLength", "1", "80"),
    }
    for name, (kind, low, high) in spot.items():
        letter = get_column_letter(TEMPLATE_COLUMNS.index(name) + 1)
        dv = by_range[f"{letter}2:{letter}{TEMPLATE_ROWS}"]
        assert (dv.type, dv.formula1, dv.formula2) == (kind, low, high)
    t38 = by_range[
        f"{get_column_letter(TEMPLATE_COLUMNS.index('t38pt_udptl') + 1)}2:"
        f"{get_column_letter(TEMPLATE_COLUMNS.index('t38pt_udptl') + 1)}{TEMPLATE_ROWS}"
    ]
    assert list_values(book, t38.formula1) == ["yes,fec", "yes,redundancy", "no"]


def test_header_input_messages(template: Path) -> None:
    sheet = load_workbook(template)["endpoints"]
    by_range = validations(sheet)
    for i, name in enumerate(TEMPLATE_COLUMNS, start=1):
        param = PARAMETERS[name]
        dv = by_range[f"{get_column_letter(i)}1"]
        assert dv.showInputMessage and dv.promptTitle == name
        assert dv.prompt == input_message(param)
        assert len(dv.prompt) <= 255 and len(dv.promptTitle) <= 32  # Excel's limits
        assert param.help in dv.prompt
        if param.default and name not in RENAME_COLUMNS:
            assert f"default {param.default}" in dv.prompt, name
        if param.secret:
            assert "******** keeps the gateway's current value" in dv.prompt
    registration = by_range["E1"].prompt
    assert registration == (
        "in: the endpoint registers to us; out: we register to it; none: IP-authenticated. "
        "Pick from the list: in / out / none. Empty: not sent (default none)."
    )


def test_id_and_secret_columns_are_text(template: Path) -> None:
    sheet = load_workbook(template)["endpoints"]
    assert TEXT_COLUMNS == ID_COLUMNS | SECRET_FIELDS
    assert {"name", "defaultuser", "fromuser", "extension", "secret", "auth"} <= TEXT_COLUMNS
    # The columns' style holds the Text format: no cell exists below the header.
    assert sheet.max_row == 1
    for i, name in enumerate(TEMPLATE_COLUMNS, start=1):
        letter = get_column_letter(i)
        wanted = "@" if name in TEXT_COLUMNS else "General"
        assert sheet.column_dimensions[letter].number_format == wanted, name


def test_rows_appended_to_the_template_start_at_row_2(template: Path, tmp_path: Path) -> None:
    book = load_workbook(template)
    sheet = book["endpoints"]
    sheet.append(["trunk-1", "203.0.113.1"])
    sheet.append(["trunk-2", "203.0.113.2", None, None, "sideways"])
    book.save(tmp_path / "filled.xlsx")
    filled = load_workbook(tmp_path / "filled.xlsx")["endpoints"]
    assert [filled[f"A{r}"].value for r in (2, 3)] == ["trunk-1", "trunk-2"]
    # The dropdowns still cover the appended rows (registration is column E).
    by_range = {str(dv.sqref): dv for dv in filled.data_validations.dataValidation}
    assert by_range[f"E2:E{TEMPLATE_ROWS}"].formula1 == '"in,out,none"'
    proc = run_cli("validate", "filled.xlsx", "--json", "--report-dir", "r", cwd=tmp_path)
    summary = json.loads(proc.stdout)
    assert (summary["rows"], summary["blank"], summary["outcomes"]) == (
        2,
        0,
        {"valid": 1, "rejected": 1},
    )
    results = read_csv(tmp_path / "r" / "results.csv")
    assert [(r["row"], r["outcome"]) for r in results] == [("2", "valid"), ("3", "rejected")]


def test_help_sheet_is_the_parameter_table(template: Path) -> None:
    sheet = load_workbook(template)["help"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["parameter", "column", "allowed values", "default", "meaning", "secret"]
    table = {r[0]: r for r in rows[1 : len(PARAMETERS) + 1]}
    assert list(table) == list(TEMPLATE_COLUMNS)
    for i, name in enumerate(TEMPLATE_COLUMNS, start=1):
        param = PARAMETERS[name]
        _, column, allowed, default, meaning, secret = table[name]
        assert column == get_column_letter(i)
        assert allowed.startswith(param.domain.allowed())
        assert (default or None) == (param.default or (None if name != "t38pt_udptl" else default))
        assert meaning.startswith(param.help)
        assert secret == ("yes" if param.secret else "no")
    notes = " ".join(str(r[0]) for r in rows[len(PARAMETERS) + 1 :] if r and r[0])
    assert "keeps the gateway's current secret" in notes
    assert "old_name and object_id are only for renaming" in notes


def _value_for(name: str, book: Workbook, dv: DataValidation, i: int, rng: random.Random) -> Any:
    """A value the column's validation lets a person type, as Excel would store it."""
    domain = PARAMETERS[name].domain
    if dv.type == "list":
        choices = list_values(book, dv.formula1)
        value = choices[i % len(choices)]  # every choice is used over the rows
        return int(value) if isinstance(domain, Flag) else value
    if dv.type == "whole":
        low = int(dv.formula1)
        high = int(dv.formula2) if dv.formula2 else low + 5000
        assert isinstance(domain, Integer)
        step = domain.step or 1  # Excel cannot check the step: the input message names it
        picks = [v for v in (low, high, rng.randrange(low, high + 1)) if v % step == 0] or [low]
        return picks[i % len(picks)]  # an int cell, as Excel stores a typed number
    return None


def test_filled_template_validates(template: Path, tmp_path: Path) -> None:
    book = load_workbook(template)
    sheet = book["endpoints"]
    by_range = validations(sheet)
    rng = random.Random(3)
    count = 40
    for i in range(count):
        r = i + 2
        row: dict[str, Any] = {}
        for c, name in enumerate(TEMPLATE_COLUMNS, start=1):
            letter = get_column_letter(c)
            value = _value_for(name, book, by_range[f"{letter}2:{letter}{TEMPLATE_ROWS}"], i, rng)
            if value is not None:
                row[name] = value
        # Free-text columns, and the checks across fields (SPEC.md section 4).
        row.update({
            "name": f"00{i:03d}-trunk",  # leading zeros: a Text cell keeps them
            "host": "dynamic" if i % 3 == 0 else f"sip{i}.carrier.example.net",
            "defaultuser": f"00{i:08d}",
            "secret": f"0{i}=pw+{i}",
            "auth": f"u{i}:p{i}@realm.example",
            "remotesecret": f"remote {i}",
            "fromuser": f"+4930{i:06d}",
            "fromdomain": "carrier.example.net",
            "outboundproxy": "198.51.100.7",
            "transport": ["UDP", "TCP,TLS", "udp, tls"][i % 3],
            "audio_codecs": ["ulaw,alaw,g729", "none", "g722"][i % 3],
            "codec_order": ["g729,ulaw", None, "g722"][i % 3],
            "t1min": ["100ms", "150"][i % 2],
            "extension": f"0{i:03d}",
            "old_name": None,
            "object_id": None,
        })  # fmt: skip
        if row["registration"] == "out":
            row["host"] = f"sip{i}.carrier.example.net"
        row["session-minse"] = min(row["session-minse"], 1800)
        row["session-expires"] = max(row["session-expires"], row["session-minse"])
        row["timert1"] = min(row["timert1"], 900)
        row["timerb"] = max(row["timerb"], 64 * row["timert1"])
        for c, name in enumerate(TEMPLATE_COLUMNS, start=1):
            if row.get(name) is not None:
                sheet.cell(row=r, column=c, value=row[name])
    # The Text column holds what was typed, leading zeros and all (Excel gives a cell typed
    # there its column's Text format; openpyxl leaves that to the reader).
    assert sheet["A2"].value == "00000-trunk" and sheet.column_dimensions["A"].number_format == "@"
    filled = tmp_path / "filled.xlsx"
    book.save(filled)

    report = tmp_path / "report"
    proc = run_cli("validate", str(filled), "--report-dir", str(report), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr + (report / "results.csv").read_text()
    summary = json.loads(proc.stdout)
    assert summary["outcomes"] == {"valid": count}
    assert summary["input"]["sheet"] == "endpoints"
    assert summary["blank"] == 0  # the Text-formatted empty rows below are not data
    assert summary["warnings"] == [] and summary["rows_with_warnings"] == 0
    assert [r["name"] for r in read_csv(report / "results.csv")][:2] == [
        "00000-trunk",
        "00001-trunk",
    ]


def test_template_refuses_other_formats(tmp_path: Path) -> None:
    proc = run_cli("template", str(tmp_path / "endpoints.csv"), cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"error: {tmp_path / 'endpoints.csv'}: the template is an Excel workbook; name it *.xlsx"
    )
    proc = run_cli("template", str(tmp_path / "missing" / "t.xlsx"), cwd=tmp_path)
    assert proc.returncode == 2
    missing = tmp_path / "missing"
    assert proc.stderr.strip() == (
        f"error: cannot write {missing / 't.xlsx'}: the folder {missing} does not exist"
    )
