"""The jobs the CLI runs, stage after stage: load -> normalize -> validate -> report.

Nothing here prints or exits: each job returns a ``RunResult`` and raises ``InputError`` (exit 2)
for unusable input. The CLI decides how to show it.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError
from .reports.report import (
    RESULT_COLUMNS,
    ReportPaths,
    ReportWriter,
    default_report_dir,
    write_reports,
    write_summary,
)
from .sheets.limits import DEFAULT_LIMITS, Limits
from .sheets.load import CHUNK_ROWS, LoadedSheet, SheetReader, load_sheet, open_sheet
from .sheets.mapping import ROUTING, Mapping, load_mapping
from .sheets.normalize import NormalizedSheet, name_header, normalize, skip_headers
from .validate import Problem, Validation, check_rows, duplicate_names, validate

__all__ = [
    "EXIT_GATEWAY",
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_ROWS",
    "Clock",
    "RunResult",
    "finish_run",
    "prepare_sheet",
    "tool_version",
    "validate_file",
    "validation_results",
]

EXIT_OK, EXIT_ROWS, EXIT_INPUT, EXIT_GATEWAY = 0, 1, 2, 3
#: Ctrl-C (SIGINT), as a shell reports a process it interrupted.
EXIT_INTERRUPTED = 130


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


class Clock:
    """Laps of a job's stages, for summary.json's ``timings``."""

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


@dataclass
class _Tally:
    """Counts for summary.json, added up chunk by chunk."""

    rows: int = 0
    blank: int = 0
    deleted: int = 0
    rows_with_warnings: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    error_keys: Counter[str] = field(default_factory=Counter)

    def add(self, results: pd.DataFrame, problems: Iterable[Problem]) -> None:
        # Lines without a row number are gateway endpoints a prune deleted, not sheet rows.
        if results["row"].dtype.kind in "iu":
            on_sheet = np.ones(len(results), dtype=bool)  # validate: no line but sheet rows
        else:
            on_sheet = (results["row"].astype(str) != "").to_numpy()
        data = results[on_sheet]
        self.rows += data["row"].nunique()  # a fleet has a line per (row, gateway)
        self.outcomes.update({str(k): int(v) for k, v in data["outcome"].value_counts().items()})
        self.deleted += int((~on_sheet & (results["outcome"] == "deleted")).sum())
        warned = set()
        for p in problems:
            if p.severity == "error":
                self.error_keys[p.code] += 1
            else:
                warned.add(p.row)
        self.rows_with_warnings += len(warned)


def _results_frame(sheet: NormalizedSheet, problems: Sequence[Problem]) -> pd.DataFrame:
    """results.csv lines of validated rows; ``problems`` sorted by row (errors first)."""
    frame = sheet.frame
    rows = frame.index.to_numpy()
    first_error: dict[int, str] = {}
    by_row: dict[int, list[Problem]] = defaultdict(list)
    for p in problems:
        by_row[p.row].append(p)
        if p.severity == "error":
            first_error.setdefault(p.row, p.code)
    messages = {
        row: "; ".join(
            p.message if p.severity == "error" else f"warning: {p.message}" for p in found
        )
        for row, found in by_row.items()
    }
    # Only rows with problems have a key or a message, and the text columns are built as Arrow
    # text (pandas' own str dtype) rather than a Python object per row.
    rejected = frame.index.isin(list(first_error))
    results = pd.DataFrame(
        {
            "row": rows,
            "sheet": sheet.loaded.sheet,
            "name": frame["name"].fillna("").array,
            "outcome": _text(pc.if_else(pa.array(rejected), "rejected", "valid")),
            "error_key": _sparse_text(frame.index, first_error),
            "message": _sparse_text(frame.index, messages),
            "attempts": 0,
        },
        columns=RESULT_COLUMNS,
    )
    if not sheet.skipped:
        return results
    skipped = pd.DataFrame(
        [(s.row, sheet.loaded.sheet, s.name, "skipped", "", s.message, 0) for s in sheet.skipped],
        columns=RESULT_COLUMNS,
    )
    merged = pd.concat([results, skipped], ignore_index=True)
    return merged.sort_values("row", kind="stable", ignore_index=True)


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # what pandas makes of a column of str


def _text(values: pa.Array) -> pd.api.extensions.ExtensionArray:
    return pd.array(values, dtype=_STR)


def _sparse_text(index: pd.Index, values: dict[int, str]) -> pd.api.extensions.ExtensionArray:
    """A text column that is '' but on the rows ``values`` names (index labels)."""
    picks = np.full(len(index), len(values), dtype=np.int64)
    at = index.get_indexer(pd.Index(list(values), dtype=np.int64))
    found = at >= 0  # a row of another chunk (or skipped) has no line here
    picks[at[found]] = np.flatnonzero(found)
    return _text(pa.array([*values.values(), ""], type=pa.large_string()).take(picks))


def validation_results(validation: Validation) -> pd.DataFrame:
    """results.csv lines of a validated sheet: ``valid`` or ``rejected``, and ``skipped``."""
    return _results_frame(validation.sheet, validation.problems)


def _summary(
    command: str,
    loaded: LoadedSheet,
    sheet_warnings: tuple[str, ...],
    tally: _Tally,
    clock: Clock,
    gateway: str | None = None,
    warnings: tuple[str, ...] = (),
) -> dict[str, Any]:
    total = clock.total()
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
        "rows": tally.rows,
        "blank": tally.blank,
        # Rows above the header (a title block, '#' comments): neither data nor blank.
        "title_rows": loaded.title_rows,
        "outcomes": dict(tally.outcomes),
        "deleted": tally.deleted,
        "warnings": [*sheet_warnings, *warnings],
        "rows_with_warnings": tally.rows_with_warnings,
        "error_keys": dict(tally.error_keys),
        "timings": {**clock.laps, "total": round(total, 4)},
        "rows_per_second": round(tally.rows / total, 1) if total > 0 else None,
    }


def prepare_sheet(
    path: str | Path,
    sheet: str | None,
    mapping_file: str | Path | None,
    strict: bool,
    preset: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    *,
    routing: bool = False,
) -> tuple[NormalizedSheet, Validation, Clock]:
    """Load, normalize and validate a whole sheet: the first half of the import and sync jobs
    (validate reads in chunks instead, see ``validate_file``). With ``routing`` (a fleet run),
    a ``gateway`` column routes rows and is no parameter to warn about."""
    clock = Clock()
    mapping = load_mapping(mapping_file, preset=preset)
    if routing:
        mapping = ROUTING.extended_by(mapping)
    # A mapping may name the 'name' column otherwise (the loader finds the header row by it)
    # and may let columns that are no parameter repeat.
    loaded = load_sheet(
        path,
        sheet=sheet,
        name_keys=mapping.name_keys,
        parameter_keys=mapping.parameter_keys,
        limits=limits,
    )
    clock.lap("load")
    normalized = normalize(loaded, mapping)
    clock.lap("normalize")
    validation = validate(normalized, strict=strict)
    clock.lap("validate")
    return normalized, validation, clock


def finish_run(
    command: str,
    normalized: NormalizedSheet,
    results: pd.DataFrame,
    problems: tuple[Problem, ...],
    clock: Clock,
    report_dir: str | Path | None,
    exit_code: int,
    *,
    gateway: str | None = None,
    warnings: tuple[str, ...] = (),
    **extra: Any,
) -> RunResult:
    """Write a job's reports and summary.json: the last stage of the import and sync jobs."""
    directory = Path(report_dir) if report_dir is not None else default_report_dir()
    paths = write_reports(directory, normalized, results, problems)
    clock.lap("report")
    tally = _Tally(blank=normalized.loaded.blank_rows)
    tally.add(results, problems)
    summary = {
        **_summary(
            command, normalized.loaded, normalized.warnings, tally, clock, gateway, warnings
        ),
        **extra,
    }
    summary = write_summary(paths, summary)
    return RunResult(summary=summary, paths=paths, exit_code=exit_code)


_WORKBOOK_PROCESS_BYTES = 4 << 20


def _size(reader: SheetReader) -> int:
    try:
        return reader.meta.path.stat().st_size
    except OSError:
        return 0


def _duplicates(reader: SheetReader, mapping: Mapping) -> dict[int, list[Problem]]:
    """Duplicate-name problems by row, from a first pass over the name column alone.

    What stays in memory is 16 bytes a row (row number and a 64-bit hash of the lowercased
    name) plus the names themselves as Arrow text; only rows whose hash repeats are then
    compared by ``duplicate_names``, which decides on the names, not the hashes.
    """
    key = name_header(reader.meta, mapping)
    # Rows the mapping skips are no endpoints: their names cannot clash with any.
    wanted = [key, *(h for h in skip_headers(reader.meta, mapping) if h != key)]
    rows: list[np.ndarray] = []
    hashes: list[np.ndarray] = []
    names: list[pa.Array] = []
    release = pa.default_memory_pool().release_unused
    for chunk in reader.chunks(wanted):
        release()
        column = normalize(chunk, mapping).frame["name"].dropna()  # no name: another problem
        rows.append(column.index.to_numpy(dtype=np.int64))
        hashes.append(pd.util.hash_pandas_object(column.str.lower(), index=False).to_numpy())
        names.append(pa.array(column, type=pa.large_string()))
    if not rows:
        return {}
    every_hash = np.concatenate(hashes)
    del hashes
    # Sorting a copy finds the repeated hashes; np.unique(return_inverse=...) would hold
    # several arrays of a million int64 at once.
    ordered = np.sort(every_hash)
    seen_twice = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    if not len(seen_twice):
        return {}
    repeated = np.isin(every_hash, np.unique(seen_twice))
    del every_hash
    candidates = pd.Series(
        pa.chunked_array(names, type=pa.large_string()).filter(pa.array(repeated)),
        index=np.concatenate(rows)[repeated],
        dtype="str",
    )
    found: dict[int, list[Problem]] = defaultdict(list)
    for problem in duplicate_names(candidates):
        found[problem.row].append(problem)
    return found


def validate_file(
    path: str | Path,
    *,
    sheet: str | None = None,
    mapping: str | Path | None = None,
    report_dir: str | Path | None = None,
    strict: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    preset: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> RunResult:
    """``sip-import validate``: check every row, save nothing, write the reports.

    The sheet is read, checked and reported a chunk of ``chunk_rows`` rows at a time, so memory
    stays flat however long it is; only the name column is gathered whole, first, because a
    duplicate name may be a million rows away.
    """
    clock = Clock()
    mapping_ = load_mapping(mapping, preset=preset)
    reader = open_sheet(
        path,
        sheet,
        name_keys=mapping_.name_keys,
        parameter_keys=mapping_.parameter_keys,
        chunk_rows=chunk_rows,
        limits=limits,
    )
    directory = Path(report_dir) if report_dir is not None else default_report_dir()
    # Past a few MB of sheet, rejections.xlsx is worth a second core (see
    # importer.reports.workbook); its writer process starts up during the pass over the names.
    writer = ReportWriter(directory, workbook_process=_size(reader) > _WORKBOOK_PROCESS_BYTES)
    tally = _Tally()
    # "names" is the time the run waited for the names pass, not the time the pass took.
    laps: dict[str, float] = dict.fromkeys(
        ("names", "load", "normalize", "validate", "report"), 0.0
    )
    sheet_warnings: tuple[str, ...] = ()
    # Arrow's allocator keeps freed pages for reuse; handing them back after each pass and
    # chunk keeps the peak at one chunk's worth (about 75 MB less for a million rows).
    release = pa.default_memory_pool().release_unused
    # The names are read by a second thread while the first chunks are checked: Arrow parses
    # without the GIL, and only the results of a chunk wait for the duplicates.
    names_pass = ThreadPoolExecutor(1, thread_name_prefix="names")
    duplicates: dict[int, list[Problem]] | None = None
    try:
        found = names_pass.submit(_duplicates, reader, mapping_)
        waited = time.perf_counter()
        for chunk in reader.chunks():
            began = time.perf_counter()
            laps["load"] += began - waited
            tally.blank += chunk.blank_rows
            if not len(chunk.frame):
                waited = time.perf_counter()
                continue
            normalized = normalize(chunk, mapping_)
            sheet_warnings = normalized.warnings
            normalized_at = time.perf_counter()
            problems = check_rows(normalized, strict=strict)
            names_waited = 0.0
            if duplicates is None:
                waiting = time.perf_counter()
                duplicates = found.result()
                names_waited = time.perf_counter() - waiting
            if duplicates:
                for row in normalized.frame.index.intersection(list(duplicates)):
                    problems += duplicates[int(row)]
            problems.sort(key=lambda p: (p.row, p.severity != "error", p.field))
            results = _results_frame(normalized, problems)
            validated_at = time.perf_counter()
            writer.add(normalized, results, problems)
            tally.add(results, problems)
            release()
            laps["normalize"] += normalized_at - began
            laps["names"] += names_waited
            laps["validate"] += validated_at - normalized_at - names_waited
            waited = time.perf_counter()
            laps["report"] += waited - validated_at
    except BaseException:
        writer.abort()
        names_pass.shutdown(wait=False, cancel_futures=True)
        raise
    names_pass.shutdown()
    closing = time.perf_counter()
    paths = writer.close()
    laps["report"] += time.perf_counter() - closing
    if not tally.rows:
        raise InputError(f"{reader.shown} has no data rows")
    clock.laps.update({k: round(v, 4) for k, v in laps.items()})
    exit_code = EXIT_ROWS if tally.error_keys else EXIT_OK
    summary = _summary("validate", reader.meta, sheet_warnings, tally, clock)
    return RunResult(summary=write_summary(paths, summary), paths=paths, exit_code=exit_code)
