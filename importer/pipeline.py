"""The jobs the CLI runs, stage after stage: load -> normalize -> validate -> report.

Nothing here prints or exits: each job returns a ``RunResult`` and raises ``InputError`` (exit 2)
for unusable input. The CLI decides how to show it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .load import load_sheet
from .normalize import NormalizedSheet, load_mapping, normalize
from .report import RESULT_COLUMNS, ReportPaths, default_report_dir, write_reports, write_summary
from .validate import Problem, Validation, validate

__all__ = [
    "EXIT_GATEWAY",
    "EXIT_INPUT",
    "EXIT_OK",
    "EXIT_ROWS",
    "RunResult",
    "tool_version",
    "validate_file",
]

EXIT_OK, EXIT_ROWS, EXIT_INPUT, EXIT_GATEWAY = 0, 1, 2, 3


def tool_version() -> str:
    try:
        return version("sip-import")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0+unknown"


@dataclass(frozen=True)
class RunResult:
    summary: dict[str, Any]
    paths: ReportPaths
    exit_code: int


class _Clock:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.last = self.start
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 4)
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.start


def _validation_results(validation: Validation) -> pd.DataFrame:
    sheet = validation.sheet
    frame = sheet.frame
    rows = frame.index.to_numpy()
    by_row = validation.by_row()
    rejected = frame.index.isin(list(validation.rejected_rows))
    first_error: dict[int, str] = {}
    messages: dict[int, str] = {}
    for row, problems in by_row.items():
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            first_error[row] = errors[0].code
        messages[row] = "; ".join(
            p.message if p.severity == "error" else f"warning: {p.message}" for p in problems
        )
    # Only rows with problems have a key or a message: fill those, not a dict lookup per row.
    index = pd.Index(rows)
    return pd.DataFrame(
        {
            "row": rows,
            "sheet": sheet.loaded.sheet,
            "name": frame["name"].fillna("").to_numpy(dtype=object),
            "outcome": np.where(rejected, "rejected", "valid"),
            "error_key": pd.Series(first_error, dtype=object)
            .reindex(index, fill_value="")
            .to_numpy(),
            "message": pd.Series(messages, dtype=object).reindex(index, fill_value="").to_numpy(),
            "attempts": 0,
        },
        columns=RESULT_COLUMNS,
    )


def _summary(
    command: str,
    sheet: NormalizedSheet,
    results: pd.DataFrame,
    problems: tuple[Problem, ...],
    clock: _Clock,
    gateway: str | None = None,
    warnings: tuple[str, ...] = (),
) -> dict[str, Any]:
    loaded = sheet.loaded
    total = clock.total()
    # Lines without a row number are gateway endpoints a prune deleted, not sheet rows.
    on_sheet = results["row"].astype(str) != ""
    data = results[on_sheet]
    return {
        "tool": "sip-import",
        "version": tool_version(),
        "command": command,
        "input": {
            "path": str(loaded.path),
            "sheet": loaded.sheet,
            "sha256": loaded.sha256,
            "encoding": loaded.encoding,
            "delimiter": loaded.delimiter,
        },
        "gateway": gateway,
        "rows": len(data),
        "blank": loaded.blank_rows,
        "outcomes": {str(k): int(v) for k, v in data["outcome"].value_counts(sort=False).items()},
        "deleted": int((~on_sheet & (results["outcome"] == "deleted")).sum()),
        "warnings": [*sheet.warnings, *warnings],
        "rows_with_warnings": len({p.row for p in problems if p.severity == "warning"}),
        "error_keys": dict(Counter(p.code for p in problems if p.severity == "error")),
        "timings": {**clock.laps, "total": round(total, 4)},
        "rows_per_second": round(len(data) / total, 1) if total > 0 else None,
    }


def _prepare(
    path: str | Path, sheet: str | None, mapping: str | Path | None, strict: bool
) -> tuple[NormalizedSheet, Validation, _Clock]:
    clock = _Clock()
    aliases = load_mapping(mapping)
    # A mapping may name the 'name' column otherwise; the loader uses it to find the header.
    name_aliases = [alias for alias, param in aliases.items() if param == "name"]
    loaded = load_sheet(path, sheet=sheet, name_aliases=name_aliases)
    clock.lap("load")
    normalized = normalize(loaded, aliases)
    clock.lap("normalize")
    validation = validate(normalized, strict=strict)
    clock.lap("validate")
    return normalized, validation, clock


def _finish(
    command: str,
    normalized: NormalizedSheet,
    results: pd.DataFrame,
    problems: tuple[Problem, ...],
    clock: _Clock,
    report_dir: str | Path | None,
    exit_code: int,
    *,
    gateway: str | None = None,
    warnings: tuple[str, ...] = (),
    **extra: Any,
) -> RunResult:
    directory = Path(report_dir) if report_dir is not None else default_report_dir()
    paths = write_reports(directory, normalized, results, problems)
    clock.lap("report")
    summary = {
        **_summary(command, normalized, results, problems, clock, gateway, warnings),
        **extra,
    }
    summary = write_summary(paths, summary)
    return RunResult(summary=summary, paths=paths, exit_code=exit_code)


def validate_file(
    path: str | Path,
    *,
    sheet: str | None = None,
    mapping: str | Path | None = None,
    report_dir: str | Path | None = None,
    strict: bool = False,
) -> RunResult:
    """``sip-import validate``: check every row, save nothing, write the reports."""
    normalized, validation, clock = _prepare(path, sheet, mapping, strict)
    results = _validation_results(validation)
    exit_code = EXIT_ROWS if validation.rejected_rows else EXIT_OK
    return _finish(
        "validate", normalized, results, validation.problems, clock, report_dir, exit_code
    )
