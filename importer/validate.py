"""Validate: run the pandera sheet schemas lazily and turn their failures into plain problems.

pandera's own vocabulary (check names, failure-case frames) stops here; what leaves this module is
a tuple of ``Problem`` with stable codes and messages written for the person fixing the sheet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas import ID_COLUMNS, PARAMETERS
from schemas.domains import text_series
from schemas.sheet import (
    REJECTED_CELL,
    RULES,
    RULES_BY_CHECK,
    SCIENTIFIC,
    SCIENTIFIC_TEXT,
    Rule,
    domain_schema,
    rule_schema,
    scientific_message,
)
from schemas.text import column_letter, quote

from .sheets.known import Known
from .sheets.normalize import Distinct, NormalizedSheet

if TYPE_CHECKING:
    import pandera.pandas as pandera

__all__ = [
    "CODES",
    "ONE_BY_ONE_ROWS",
    "Problem",
    "Validation",
    "check_one_by_one",
    "check_rows",
    "duplicate_names",
    "validate",
]

Severity = Literal["error", "warning"]

#: Every code a Problem can carry, with what it means (README lists them too).
CODES: dict[str, str] = {
    "missing-name": "the row has no name",
    "invalid-value": "a cell holds a value outside the parameter's domain",
    "scientific-notation": "an ID cell was turned into a number by Excel",
    "extra-cells": "the row has more cells than the header has columns",
    "duplicate-name": "two rows of one sheet have the same name (case-insensitive)",
    "session-expires-below-minse": "session-expires is below session-minse",
    "codec-not-enabled": "codec_order names a codec that audio_codecs disables",
    "rename-conflict": "old_name and object_id are both set",
    "rename-to-same-name": "old_name equals name",
    "open-registration": "host=dynamic without any secret",
    "registration-incomplete": "registration=out without host, defaultuser or secret (warning)",
    "timerb-below-64-timert1": "timerb below 64 x timert1 (warning)",
    "timert1-below-t1min": "timert1 below t1min (warning)",
    "masked-secret": "a secret cell holds the mask ******** (warning in validate)",
}

#: Row numbers a duplicate-name message lists before it says how many more there are.
_ROWS_SHOWN = 20

#: Warnings that --strict does not turn into errors: they describe intent, not a fault.
_NOT_STRICT = frozenset({"masked-secret"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row. ``field`` is the parameter whose cell to fix ('' = row)."""

    row: int
    field: str
    code: str
    message: str
    severity: Severity


@dataclass(frozen=True)
class Validation:
    sheet: NormalizedSheet
    problems: tuple[Problem, ...]

    @cached_property
    def rejected_rows(self) -> frozenset[int]:
        return frozenset(p.row for p in self.problems if p.severity == "error")

    def by_row(self) -> dict[int, list[Problem]]:
        out: dict[int, list[Problem]] = defaultdict(list)
        for p in self.problems:
            out[p.row].append(p)
        return out


@dataclass(frozen=True)
class _Failed:
    """The cells (or rows, for a check over the whole frame) one check of a schema refused."""

    check: str
    #: The column, or None for a check over the whole frame.
    column: str | None
    #: Row labels of the failing cells.
    rows: npt.NDArray[np.int64]
    #: The failing cells' values (a column check), as pandera's ``failure_case``.
    cases: npt.NDArray[np.object_]


def _failures(
    schema: pandera.DataFrameSchema,
    frame: pd.DataFrame,
    distinct: Mapping[str, Distinct] | None = None,
) -> list[_Failed]:
    """What pandera's lazy validation of ``frame`` reports as failure cases, found by running
    the schema's checks straight on the columns.

    pandera declares the checks; running them through ``schema.validate(lazy=True)`` cost more
    than the checks themselves (it copies a column without its NAs for every check, then reshapes
    every failure case, about 0.6 s on 300,000 rows). Here every check is one vectorized call on
    its whole column and empty cells are ruled out afterwards (the checks are NA-safe); tests
    hold the result equal to pandera's own.

    A column in ``distinct`` is checked once per distinct value (every column check looks at one
    value at a time), and the answers are spread back to its rows.
    """
    found: list[_Failed] = []
    rows = frame.index.to_numpy()
    no_cases = np.empty(0, dtype=object)
    for name, column in schema.columns.items():
        if name not in frame.columns:
            continue
        series = frame[name]
        few = distinct.get(name) if distinct else None
        if few is not None:
            values, codes = few.values, few.codes
        else:
            values, codes = series, None
        given = values.notna().to_numpy(dtype=bool)
        if not given.any():
            continue
        for check in column.checks:
            # Checks are vectorized (element_wise=False): one flag a value.
            if codes is not None:
                passed = _distinct_verdicts(name, check.name, values, check._check_fn)
            else:
                passed = np.asarray(check._check_fn(values), dtype=bool)
            failed = given & ~passed
            if not failed.any():
                continue
            if codes is not None:
                # -1 (an empty raw cell) picks the appended False.
                failed = np.append(failed, False)[codes]
            cases = series.array[failed].to_numpy(dtype=object)
            found.append(_Failed(check.name, name, rows[failed], cases))
    for check in schema.checks:
        failed = ~np.asarray(check._check_fn(frame), dtype=bool)
        if failed.any():
            found.append(_Failed(check.name, None, rows[failed], no_cases))
    return found


#: Verdicts of the checks of columns of few values, per (column, check), on each distinct
#: canonical text, for the rest of the run (see ``importer.sheets.known``).
_VERDICTS: Known[bool] = Known()


def _distinct_verdicts(
    column: str, check: str, values: pd.Series, run: Callable[[pd.Series], Any]
) -> npt.NDArray[np.bool_]:
    """``run(values)`` as flags, each distinct text asked once a run (an NA cell passes: the
    caller rules empty cells out)."""
    texts = values.tolist()

    def ask(new: list[str]) -> list[bool]:
        flags: list[bool] = np.asarray(run(pd.Series(new, dtype=values.dtype)), dtype=bool).tolist()
        return flags

    answers = _VERDICTS.answers((column, check), [t for t in texts if isinstance(t, str)], ask)
    return np.array([answers[t] if isinstance(t, str) else True for t in texts], dtype=bool)


def _records(frame: pd.DataFrame, numbers: list[int]) -> list[dict[str, Any]]:
    """The cells of the rows ``numbers`` (row labels), one dict per row, None for an empty cell.

    Taken column by column: ``frame.loc[numbers]`` rebuilds a whole frame first, which cost
    more than the rules themselves on a wide sheet.
    """
    positions = pa.array(frame.index.get_indexer(pd.Index(numbers)))
    names = list(frame.columns)
    columns = [
        pa.array(frame[name], type=pa.large_string(), from_pandas=True).take(positions).to_pylist()
        for name in names
    ]
    return [dict(zip(names, cells, strict=True)) for cells in zip(*columns, strict=True)]


def _rule_problems(failures: list[_Failed], frame: pd.DataFrame, strict: bool) -> list[Problem]:
    problems = []
    for failed in failures:
        rule = RULES_BY_CHECK[failed.check]
        level = _severity(rule, strict)
        numbers = [int(r) for r in failed.rows]
        records = _records(frame, numbers)
        for row, values in zip(numbers, records, strict=True):
            problems.append(Problem(row, rule.field, rule.code, rule.explain(values), level))
    return problems


def duplicate_names(names: pd.Series) -> list[Problem]:
    """Rows that share a name, case-insensitively; ``names`` are normalized, by row number.

    The one check across rows: a chunked run gathers the name column first and asks this once.
    """
    names = names.dropna()
    keys = names.str.lower()
    # Arrow counts a million keys in a compact hash table; pandas' duplicated() would first
    # turn them into a million Python strings. Only the repeated few go on to pandas.
    arrow_keys = pa.array(keys)
    counts = pc.value_counts(arrow_keys)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if not len(repeated):
        return []
    dupes = keys[pc.is_in(arrow_keys, value_set=repeated).to_numpy(zero_copy_only=False)]
    problems = []
    for _key, rows in dupes.groupby(dupes, sort=False):
        numbers = [int(r) for r in rows.index]
        for row in numbers:
            # A name on a million rows must not make a million-number message on each of them.
            shown = [str(o) for o in numbers[: _ROWS_SHOWN + 1] if o != row][:_ROWS_SHOWN]
            more = len(numbers) - 1 - len(shown)
            others = ", ".join(shown) + (f" and {more} more" if more else "")
            plural = "s" if len(numbers) > 2 else ""
            message = f"name: {quote(names[row])} is also used on row{plural} {others}"
            problems.append(Problem(row, "name", "duplicate-name", message, "error"))
    return problems


def validate(sheet: NormalizedSheet, *, strict: bool = False) -> Validation:
    """Every check of SPEC.md section 4 on a whole sheet, the duplicate names included."""
    problems = check_rows(sheet, strict=strict) + duplicate_names(sheet.frame["name"])
    problems.sort(key=lambda p: (p.row, p.severity != "error", p.field))
    return Validation(sheet=sheet, problems=tuple(problems))


#: Sheets (or chunks) of at most this many rows are checked one row at a time: below it, the
#: per-value checks take less time than importing pandera and building its schemas.
ONE_BY_ONE_ROWS = 1_000


def check_rows(sheet: NormalizedSheet, *, strict: bool = False) -> list[Problem]:
    """The checks that look at one row at a time (everything but duplicate names), unsorted.

    Two ways reach the same problems: a small sheet goes row by row through the per-value checks
    the gateway shares (``Domain.problem``, ``Rule.fails``); a large one through the pandera
    schemas' vectorized checks, which only ask ``Domain.problem`` for the words of a message.
    """
    frame = sheet.frame
    problems: list[Problem] = []

    letters = sheet.loaded.column_letters or (column_letter(len(sheet.loaded.headers)),)
    for row, extra in sorted(sheet.loaded.extra_cells.items()):
        if row not in frame.index:
            continue  # a row the mapping skips
        problems.append(
            Problem(
                row,
                "",
                "extra-cells",
                f"row has {extra} more cell{'s' if extra > 1 else ''} than the header has "
                f"columns (after column {letters[-1]}); put each value under a header",
                "error",
            )
        )
    for row in frame.index[frame["name"].isna()]:
        problems.append(
            Problem(
                int(row), "name", "missing-name", "name: is empty; every row needs a name", "error"
            )
        )
    if len(frame) <= ONE_BY_ONE_ROWS:
        return problems + check_one_by_one(frame, strict=strict)
    return problems + _check_columns(frame, strict, sheet.distinct)


def _severity(rule: Rule, strict: bool) -> Severity:
    if strict and rule.severity == "warning" and rule.code not in _NOT_STRICT:
        return "error"
    return rule.severity


def check_one_by_one(frame: pd.DataFrame, *, strict: bool = False) -> list[Problem]:
    """Domain checks and rules of every row of a normalized frame, one value at a time.

    The reference the column checks are held to (tests compare both on every kind of bad value)
    and the way small sheets are checked. Missing names and extra cells are ``check_rows``' own.
    """
    fields = [f for f in frame.columns if f in PARAMETERS]
    rules = [r for r in RULES if set(frame.columns).intersection(r.needs)]
    columns = {f: frame[f].tolist() for f in frame.columns}
    problems: list[Problem] = []
    for i, row in enumerate(frame.index.tolist()):
        values: dict[str, str | None] = {
            f: v if isinstance(v, str) else None for f, v in ((f, c[i]) for f, c in columns.items())
        }
        # A rule reads REJECTED_CELL where a domain check failed, as the column checks do.
        checked = dict(values)
        for field in fields:
            value = values[field]
            if value is None:
                continue
            if field in ID_COLUMNS and SCIENTIFIC_TEXT.fullmatch(value):
                message = scientific_message(field, value)
                problems.append(Problem(row, field, "scientific-notation", message, "error"))
                checked[field] = REJECTED_CELL
                continue
            reason = PARAMETERS[field].domain.problem(value)
            if reason is not None:
                problems.append(Problem(row, field, "invalid-value", f"{field}: {reason}", "error"))
                checked[field] = REJECTED_CELL
        for rule in rules:
            if rule.fails(checked):
                level = _severity(rule, strict)
                problems.append(Problem(row, rule.field, rule.code, rule.explain(values), level))
    return problems


def _check_columns(
    frame: pd.DataFrame, strict: bool, distinct: Mapping[str, Distinct] | None = None
) -> list[Problem]:
    """``check_one_by_one``'s problems, from the pandera schemas' vectorized checks."""
    problems: list[Problem] = []
    column_failures = _failures(domain_schema(frame.columns), frame, distinct)
    flagged: set[tuple[str | None, int]] = set()
    for failed in column_failures:
        if failed.check != SCIENTIFIC:
            continue
        field = str(failed.column)
        for row, value in zip(failed.rows.tolist(), failed.cases, strict=True):
            flagged.add((field, row))
            message = scientific_message(field, value)
            problems.append(Problem(row, field, "scientific-notation", message, "error"))
    for failed in column_failures:
        if failed.check == SCIENTIFIC:
            continue
        field = str(failed.column)
        domain = PARAMETERS[field].domain
        for row, value in zip(failed.rows.tolist(), failed.cases, strict=True):
            if (field, row) in flagged:
                continue
            reason = domain.problem(str(value))
            problems.append(Problem(row, field, "invalid-value", f"{field}: {reason}", "error"))

    checked = frame
    if column_failures:
        rejected: dict[str, npt.NDArray[np.bool_]] = {}
        for failed in column_failures:
            field = str(failed.column)
            hit = rejected.setdefault(field, np.zeros(len(frame), dtype=bool))
            hit[frame.index.get_indexer(pd.Index(failed.rows))] = True
        # New columns by Arrow's if_else: a .loc assignment copied and rebuilt each column.
        checked = frame.assign(
            **{
                field: text_series(
                    pc.if_else(
                        pa.array(hit),
                        pa.scalar(REJECTED_CELL, pa.large_string()),
                        pa.array(frame[field], type=pa.large_string(), from_pandas=True),
                    ),
                    frame.index,
                )
                for field, hit in rejected.items()
            }
        )
    rule_failures = _failures(rule_schema(checked.columns), checked)
    problems += _rule_problems(rule_failures, frame, strict)
    return problems
