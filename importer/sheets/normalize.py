"""Normalize: sheet headers to SPEC.md parameter names, cell texts to canonical values.

Values a domain cannot read are left as typed (stripped), so validation can quote them back.
A mapping (``importer.sheets.mapping``) renames, ignores and translates columns first, and sets
aside the rows it skips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas import PARAMETERS
from schemas.domains import (
    Choice,
    CodecOrder,
    CodecSet,
    Domain,
    Flag,
    Integer,
    Milliseconds,
    Transport,
    spread_texts,
    text_series,
)
from schemas.text import column_letter, header_key, quote

from ..errors import InputError
from .known import Known
from .load import LoadedSheet
from .mapping import IGNORE, Mapping, load_mapping

__all__ = [
    "Distinct",
    "NormalizedSheet",
    "SkippedRow",
    "load_mapping",
    "name_header",
    "normalize",
    "resolve_headers",
    "skip_headers",
]

_REPEATED = re.compile(r"(?<=\S) \(column [A-Z]+\)$")
# A warning lists this many ignored columns, then says how many more.
_LISTED = 8
_LISTED_CHARS = 180


@dataclass(frozen=True)
class SkippedRow:
    """A row the mapping's [skip] sets aside: outcome ``skipped``, never checked or sent."""

    row: int
    #: The row's name as normalized ('' when it has none).
    name: str
    message: str


@dataclass(frozen=True)
class Distinct:
    """A column of few values as ``values`` (canonical texts, NA for an empty cell) and, per
    row, the position of its value there (``codes``; -1 for an empty cell)."""

    codes: npt.NDArray[np.intp]
    values: pd.Series


@dataclass(frozen=True)
class NormalizedSheet:
    loaded: LoadedSheet
    #: Canonical values: one column per parameter present in the sheet, missing = NA.
    frame: pd.DataFrame
    #: Parameter name -> the header it came from (to point at the cell in reports).
    source_headers: dict[str, str]
    #: Sheet-level warnings in plain words (unknown columns, ...).
    warnings: tuple[str, ...]
    #: Rows the mapping skips (not in ``frame``), by row number.
    skipped: tuple[SkippedRow, ...] = field(default=())
    #: The columns of few values, by parameter: checks ask each distinct value once.
    distinct: dict[str, Distinct] = field(default_factory=dict)


def resolve_headers(
    headers: tuple[str, ...],
    mapping: Mapping | None = None,
    letters: tuple[str, ...] = (),
) -> tuple[dict[str, str], list[str]]:
    """Map headers to parameters. Returns (header -> parameter, warnings).

    Columns a mapping ignores are left out silently; other columns that are no parameter are
    left out with one warning for all of them. ``letters`` are the headers' spreadsheet columns
    (positions, when not given).
    """
    mapping = mapping or Mapping()
    letters = letters or tuple(column_letter(i + 1) for i in range(len(headers)))
    resolved: dict[str, str] = {}
    claimed: dict[str, tuple[int, str]] = {}
    unknown: list[str] = []
    for position, header in enumerate(headers):
        if header.startswith("_"):
            continue  # report columns (_row, _errors, ...): a rejections file fed back
        # A repeated column that is no parameter comes labelled 'text (column G)'.
        param = mapping.target(_REPEATED.sub("", header))
        if param == IGNORE:
            continue
        if param is None:
            unknown.append(f"{letters[position]} ({quote(header)})")
            continue
        if param in claimed:
            first_pos, first = claimed[param]
            raise InputError(
                f"columns {letters[first_pos]} and {letters[position]} both mean "
                f"{quote(param)} ({quote(first)} and {quote(header)}); keep one of them, or map "
                'the other to "ignore" in a mapping file'
            )
        claimed[param] = (position, header)
        resolved[header] = param
    warnings = []
    if len(unknown) == 1:
        warnings.append(f"column {unknown[0]} is not a sip_endpoint parameter and was ignored")
    elif unknown:
        # At most _LISTED columns and about _LISTED_CHARS characters of them: the line stays
        # short however many columns, and however long their headers, a sheet has.
        shown: list[str] = []
        for column in unknown[:_LISTED]:
            if shown and sum(len(c) + 2 for c in shown) + len(column) > _LISTED_CHARS:
                break
            shown.append(column)
        listed = ", ".join(shown)
        more = f" and {len(unknown) - len(shown)} more" if len(unknown) > len(shown) else ""
        warnings.append(f"columns {listed}{more} are not sip_endpoint parameters and were ignored")
    return resolved, warnings


def name_header(loaded: LoadedSheet, mapping: Mapping | None = None) -> str:
    """The header of the sheet's 'name' column; InputError as ``normalize`` would raise it."""
    resolved, _warnings = resolve_headers(loaded.headers, mapping, loaded.column_letters)
    for header, param in resolved.items():
        if param == "name":
            return header
    raise _no_name(loaded)


def skip_headers(loaded: LoadedSheet, mapping: Mapping | None) -> list[str]:
    """The sheet's columns that a mapping's [skip] looks at."""
    if mapping is None or not mapping.skip:
        return []
    return [h for h in loaded.headers if header_key(h) in mapping.skip]


def _no_name(loaded: LoadedSheet) -> InputError:
    return InputError(f"{loaded.path} has no 'name' column in sheet {quote(loaded.sheet)}")


def _translate(column: pd.Series, table: dict[str, str], separator: str | None) -> pd.Series:
    """A mapping's [values] (whole cells, ignoring case) and [separators] on one column."""
    if table:
        keys = column.str.casefold()
        hit = keys.isin(list(table)).fillna(False).astype(bool)
        if hit.any():
            column = column.copy()
            column[hit] = keys[hit].map(table)
    if separator:
        column = column.str.replace(separator, ",", regex=False)
    return column


#: Domains whose columns repeat a few words or numbers (UDP, yes, 5060) on every row: their cells
#: are read once per distinct text. Names, secrets, users and hosts are mostly distinct.
_FEW_VALUES = (Choice, Flag, Integer, Milliseconds, Transport, CodecSet, CodecOrder)


def _canonical(
    raw: pd.Series, domain: Domain, table: dict[str, str], separator: str | None
) -> tuple[pd.Series, Distinct | None]:
    """One sheet column as canonical texts, NA for an empty cell; and its distinct values, for
    a column of few."""
    if isinstance(domain, _FEW_VALUES):
        # Strip, unquote, translate and normalize each distinct cell once, then spread the
        # answers back by Arrow: a 300,000-row column holds a handful of texts.
        codes, uniques = pd.factorize(raw)
        typed = pd.Series(uniques, dtype="str")
        values = _few_texts(typed, domain, table, separator)
        if values.notna().all() and (values.to_numpy() == typed.to_numpy()).all():
            # Every cell is canonical already (UDP, 5060, rfc2833): the column is the sheet's.
            return raw.astype("str"), Distinct(codes, values)
        return spread_texts(values, codes, raw.index), Distinct(codes, values)
    return _texts(raw.astype("str"), domain, table, separator), None


#: Canonical text of each distinct cell of a few-value column, per (domain, [values], separator),
#: for the rest of the run (see ``known``).
_CANONICAL: Known[str | None] = Known()


def _few_texts(
    typed: pd.Series, domain: Domain, table: dict[str, str], separator: str | None
) -> pd.Series:
    """``_texts`` of a column's distinct cells, each read once a run (they are read one by one)."""
    cells: list[str] = typed.tolist()

    def read(new: list[str]) -> list[str | None]:
        texts = _texts(pd.Series(new, dtype="str"), domain, table, separator)
        return [None if pd.isna(v) else v for v in texts.tolist()]

    answers = _CANONICAL.answers((domain, frozenset(table.items()), separator), cells, read)
    return pd.Series([answers[cell] for cell in cells], dtype="str", index=typed.index)


def _texts(
    raw: pd.Series, domain: Domain, table: dict[str, str], separator: str | None
) -> pd.Series:
    # Arrow kernels straight, not pandas' .str: a sheet of twenty columns asks for a dozen
    # operations a column, and pandas' own cost per call outweighed the work on short chunks.
    cells = pa.array(raw, type=pa.large_string(), from_pandas=True)
    stripped = pc.utf8_trim_whitespace(cells)
    if pc.any(pc.starts_with(stripped, "'")).as_py():
        # Reports write formula-like cells as '=..., so a fixed rejections file fed back reads
        # the same value the person first typed. A neutralized tab or CR ("'\tx") is stripped
        # again once its quote is gone, like the "\tx" the person first typed.
        unquoted = pc.replace_substring_regex(stripped, r"^'([=+\-@\t\r])", r"\1")
        stripped = pc.utf8_trim_whitespace(unquoted)
    if table or separator:
        translated = _translate(text_series(stripped, raw.index), table, separator)
        stripped = pa.array(translated, type=pa.large_string(), from_pandas=True)
    present = pc.fill_null(pc.not_equal(stripped, ""), False)
    if pc.all(present).as_py():
        # The usual case for filled columns.
        return domain.normalize(text_series(stripped, raw.index))
    if not isinstance(domain, _FEW_VALUES):
        # Names, texts and addresses normalize NA to NA: blank the empty cells in place.
        blanked = pc.if_else(present, stripped, pa.scalar(None, pa.large_string()))
        return domain.normalize(text_series(blanked, raw.index))
    # Normalize the filled cells only, and put NA back in the empty ones by position.
    mask = present.to_numpy(zero_copy_only=False)
    filled = domain.normalize(text_series(stripped.filter(present), raw.index[mask]))
    codes = np.full(len(raw), -1, dtype=np.int64)
    codes[mask] = np.arange(len(filled))
    return spread_texts(filled, codes, raw.index)


def _skipped_mask(loaded: LoadedSheet, mapping: Mapping | None) -> tuple[np.ndarray, list[str]]:
    """Rows the mapping skips (a mask over ``loaded.frame``) and each one's reason."""
    count = len(loaded.frame)
    mask = np.zeros(count, dtype=bool)
    reasons = [""] * count
    for header in skip_headers(loaded, mapping):
        assert mapping is not None
        rule = mapping.skip[header_key(header)]
        cells = loaded.frame[header].astype("str").str.strip()
        hit = (cells.str.casefold().isin(list(rule.values)).fillna(False).astype(bool)).to_numpy()
        for i in np.flatnonzero(hit & ~mask).tolist():
            reasons[i] = f"{header} is {cells.iloc[i]!r}: {rule.reason}"
        mask |= hit
    return mask, reasons


def normalize(loaded: LoadedSheet, mapping: Mapping | None = None) -> NormalizedSheet:
    resolved, warnings = resolve_headers(loaded.headers, mapping, loaded.column_letters)
    if "name" not in resolved.values():
        raise _no_name(loaded)
    source = loaded.frame
    skipped: tuple[SkippedRow, ...] = ()
    mask, reasons = _skipped_mask(loaded, mapping)
    if mask.any():
        name_column = next(h for h, p in resolved.items() if p == "name")
        names = source[name_column].astype("str").str.strip().fillna("")
        skipped = tuple(
            SkippedRow(int(source.index[i]), str(names.iloc[i]), reasons[i])
            for i in np.flatnonzero(mask).tolist()
        )
        source = source[~mask]
    columns: dict[str, pd.Series] = {}
    distinct: dict[str, Distinct] = {}
    for header, param in resolved.items():
        table = mapping.column_values(header, param) if mapping is not None else {}
        separator = mapping.column_separator(header, param) if mapping is not None else None
        domain = PARAMETERS[param].domain
        columns[param], few = _canonical(source[header], domain, table, separator)
        if few is not None:
            distinct[param] = few
    frame = pd.DataFrame(columns, index=source.index)
    return NormalizedSheet(
        loaded=loaded,
        frame=frame,
        source_headers={param: header for header, param in resolved.items()},
        warnings=tuple(warnings),
        skipped=skipped,
        distinct=distinct,
    )
