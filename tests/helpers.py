"""Small helpers shared by the tests: write real sheets, read real reports."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from openpyxl import Workbook


def write_csv(
    path: Path,
    rows: Sequence[Mapping[str, str]] | Sequence[Sequence[str]],
    headers: Sequence[str] | None = None,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    """Write rows (dicts, or lists under ``headers``) as a CSV file with the csv module."""
    if headers is None:
        headers = list(dict.fromkeys(k for row in rows for k in row))  # type: ignore[union-attr]
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(headers)
        for row in rows:
            if isinstance(row, Mapping):
                writer.writerow([row.get(h, "") for h in headers])
            else:
                writer.writerow(row)
    return path


def write_xlsx(
    path: Path, rows: Sequence[Sequence[object]], headers: Sequence[str], title: str = "endpoints"
) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def write_text_xlsx(
    path: Path, rows: Sequence[Sequence[object]], headers: Sequence[str], title: str = "endpoints"
) -> Path:
    """Like write_xlsx, but text starting with '=' is a text cell, not a formula, and empty
    cells ('' or None) are not written at all."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    sheet.append(list(headers))
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # '=1+2' is text here, not a formula
    workbook.save(path)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


SIP_IMPORT = str(Path(sys.executable).parent / "sip-import")


def _cli_env(env: Mapping[str, str | None] | None) -> dict[str, str]:
    merged = {k: v for k, v in os.environ.items() if not k.startswith("SIP_IMPORT_")}
    merged["COLUMNS"] = "200"  # rich wraps tables to the terminal width; keep lines whole
    for key, value in (env or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def run_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``sip-import`` console script, as a user would."""
    return subprocess.run(
        [SIP_IMPORT, *args], cwd=cwd, env=_cli_env(env), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def start_cli(
    *args: str, cwd: Path, env: Mapping[str, str | None] | None = None
) -> subprocess.Popen[str]:
    """Start the console script in the background (for tests that kill it or race it)."""
    return subprocess.Popen(
        [SIP_IMPORT, *args], cwd=cwd, env=_cli_env(env), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
