"""Small helpers shared by the tests: write real sheets, read real reports."""

from __future__ import annotations

import csv
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


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
