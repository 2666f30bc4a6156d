"""Report: results.csv, rejections.csv, rejections.xlsx and summary.json for one run.

Two promises hold for every file written here: a secret never appears in clear, and no cell can
run as a formula when a spreadsheet opens the file.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from schemas import MASK, SECRET_FIELDS

from .load import header_key
from .normalize import NormalizedSheet
from .validate import Problem

__all__ = [
    "RESULT_COLUMNS",
    "ReportPaths",
    "default_report_dir",
    "mask_secrets",
    "neutralize",
    "write_reports",
    "write_summary",
]

RESULT_COLUMNS = ["row", "sheet", "name", "outcome", "error_key", "message", "attempts"]
_REJECT_META = ["_row", "_sheet", "_outcome", "_error_key", "_errors"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
# Columns the sheet did not map to a parameter but whose header says they hold a credential.
_SECRET_HINTS = ("secret", "password", "passwd", "pwd", "auth", "token")
_RED = PatternFill(start_color="FFFFC7CE", end_color="FFFFC7CE", fill_type="solid")
_YELLOW = PatternFill(start_color="FFFFEB9C", end_color="FFFFEB9C", fill_type="solid")
_BOLD = Font(bold=True)
_OUTCOMES_TO_REPORT = ("rejected", "failed")


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
    header_to_param = {h: p for p, h in sheet.source_headers.items()}
    original = mask_secrets(sheet.loaded.frame.loc[bad["row"].to_numpy()], header_to_param)
    original = original[[h for h in original.columns if not str(h).startswith("_")]]
    meta = pd.DataFrame(
        {
            "_row": bad["row"].to_numpy(),
            "_sheet": bad["sheet"].to_numpy(),
            "_outcome": bad["outcome"].to_numpy(),
            "_error_key": bad["error_key"].to_numpy(),
            "_errors": [
                _join_errors(by_row.get(int(r), [])) or str(m)
                for r, m in zip(bad["row"], bad["message"], strict=True)
            ],
        },
        index=original.index,
    )
    return pd.concat([meta, original], axis=1)


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    # XML cannot hold most control characters (openpyxl raises); show them as '\x01' instead.
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _string_cell(
    sheet: Worksheet,
    value: Any,
    fill: PatternFill | None = None,
    comment: str | None = None,
    bold: bool = False,
) -> WriteOnlyCell | str | None:
    text = _text(value)
    if fill is None and comment is None and not bold and not (text or "").startswith("="):
        # A plain str is stored as a string cell; a cell object costs ten times more to write,
        # which is most of the time of a large rejections.xlsx.
        return text
    cell = WriteOnlyCell(sheet, value=text)
    if cell.value is not None:
        # Strings that start with '=' would otherwise be stored as formulas.
        cell.data_type = "s"
    if fill is not None:
        cell.fill = fill
    if comment:
        cell.comment = Comment(comment, "sip-import", width=320, height=120)
    if bold:
        cell.font = _BOLD
    return cell


def _write_xlsx(
    path: Path,
    rejections: pd.DataFrame,
    sheet: NormalizedSheet,
    by_row: Mapping[int, list[Problem]],
) -> None:
    workbook = Workbook(write_only=True)
    main = workbook.create_sheet("rejections")
    headers = [str(h) for h in rejections.columns]
    column_of = {header: i for i, header in enumerate(headers)}
    field_column = {
        param: column_of[h] for param, h in sheet.source_headers.items() if h in column_of
    }
    main.freeze_panes = "F2"
    main.append([_string_cell(main, h, bold=True) for h in headers])
    errors_column = column_of["_errors"]
    for values in rejections.itertuples(index=False, name=None):
        row = int(values[0])
        notes: dict[int, list[Problem]] = defaultdict(list)
        for problem in by_row.get(row, []):
            notes[field_column.get(problem.field, errors_column)].append(problem)
        cells = []
        for i, value in enumerate(values):
            found = notes.get(i, [])
            fill = None
            if any(p.severity == "error" for p in found):
                fill = _RED
            elif found:
                fill = _YELLOW
            text = "\n".join(p.message for p in found) if i != errors_column else None
            cells.append(_string_cell(main, value, fill, text or None))
        main.append(cells)
    errors = workbook.create_sheet("errors")
    errors.append(
        [
            _string_cell(errors, h, bold=True)
            for h in ("row", "sheet", "field", "code", "severity", "reason")
        ]
    )
    for row in rejections["_row"]:
        for p in by_row.get(int(row), []):
            errors.append(
                [
                    _string_cell(errors, v)
                    for v in (p.row, sheet.loaded.sheet, p.field, p.code, p.severity, p.message)
                ]
            )
    workbook.save(path)


def write_reports(
    directory: Path,
    sheet: NormalizedSheet,
    results: pd.DataFrame,
    problems: Iterable[Problem],
) -> ReportPaths:
    """Write results.csv and the rejections files; ``results`` has ``RESULT_COLUMNS``.

    summary.json comes last, from ``write_summary``, so its timings include the reports.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(
        directory=directory,
        results_csv=directory / "results.csv",
        rejections_csv=directory / "rejections.csv",
        rejections_xlsx=directory / "rejections.xlsx",
        summary_json=directory / "summary.json",
    )
    by_row: dict[int, list[Problem]] = defaultdict(list)
    for p in problems:
        by_row[p.row].append(p)
    # CRLF (RFC 4180): the csv module quotes a field holding a bare CR only when CR is part of
    # the line terminator; with '\n' such a cell would split its row in two.
    _neutralize_frame(results[RESULT_COLUMNS]).to_csv(
        paths.results_csv, index=False, lineterminator="\r\n"
    )
    rejections = _rejections_frame(sheet, results, by_row)
    _neutralize_frame(rejections).to_csv(paths.rejections_csv, index=False, lineterminator="\r\n")
    _write_xlsx(paths.rejections_xlsx, rejections, sheet, by_row)
    return paths


def write_summary(paths: ReportPaths, summary: Mapping[str, Any]) -> dict[str, Any]:
    """Write summary.json; returns the summary as written (with the report paths)."""
    written = {**summary, "reports": {k: str(v) for k, v in vars(paths).items()}}
    paths.summary_json.write_text(json.dumps(written, indent=2) + "\n", encoding="utf-8")
    return written
