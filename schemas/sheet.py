"""The sheet schema: SPEC.md section 3 domains and section 4 rules as pandera schemas.

Frames here hold canonical text (see ``importer.sheets.normalize``), one column per parameter,
NA for an empty cell. Every check is vectorized over whole columns; messages are made afterwards,
only for the rows that failed, by ``Rule.explain`` and ``Domain.problem``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from .domains import CODECS, MASK, TEXT, Milliseconds, fullmatch, spread_distinct
from .params import ID_COLUMNS, PARAMETERS, SECRET_FIELDS
from .text import quote

if TYPE_CHECKING:
    # Imported where a schema is built: a small sheet is checked row by row without pandera,
    # whose import alone takes longer than validating twenty rows.
    import pandera.pandas as pa

__all__ = [
    "REJECTED_CELL",
    "RULES",
    "RULES_BY_CHECK",
    "SCIENTIFIC",
    "SCIENTIFIC_TEXT",
    "Rule",
    "domain_schema",
    "looks_scientific",
    "rule_schema",
    "scientific_message",
]

Severity = Literal["error", "warning"]

#: Check name used for the "ID column holds 8.00556E+09" check.
SCIENTIFIC = "scientific-notation"
_SCIENTIFIC_PATTERN = r"[+-]?[0-9](\.[0-9]+)?[eE][+-]?[0-9]+"
#: The same pattern for one value at a time (``SCIENTIFIC_TEXT.fullmatch(text)``).
SCIENTIFIC_TEXT = re.compile(_SCIENTIFIC_PATTERN)


def looks_scientific(column: pd.Series) -> pd.Series:
    """True where an ID cell reads like Excel's scientific notation (``8.00556E+09``)."""
    return fullmatch(column, _SCIENTIFIC_PATTERN)


def scientific_message(field: str, value: str) -> str:
    return (
        f"{field}: {quote(value)} looks like a number Excel wrote in scientific notation, so the real "
        "digits are lost; format the column as Text and type the value again"
    )


@dataclass(frozen=True)
class Rule:
    """A check across fields of one row (SPEC.md section 4)."""

    code: str
    severity: Severity
    #: The cell a person should look at; reports colour it.
    field: str
    #: The rule can only fail when at least one of these columns is in the sheet.
    needs: tuple[str, ...]
    #: Where the rule fails, over whole columns (sheets of many rows).
    broken: Callable[[pd.DataFrame], pd.Series]
    #: The same test on one row: canonical texts by field, ``None`` for an empty cell (small
    #: sheets, and the reference the column test is held to).
    fails: Callable[[Mapping[str, str | None]], bool]
    explain: Callable[[Mapping[str, Any]], str]


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    """A column of the sheet's canonical texts; all missing when the sheet has none. Texts
    compare False with NaN, so a comparison needs no filling afterwards."""
    if name in df.columns:
        return df[name]
    return pd.Series(np.nan, index=df.index, dtype=TEXT)


def _given(df: pd.DataFrame, name: str) -> pd.Series:
    return _col(df, name).notna()


def _number(df: pd.DataFrame, name: str) -> pd.Series:
    """Numeric value where the cell is given and valid, the gateway default where empty, else NaN.

    NaN makes every comparison False, so a rule never fires on a value its domain check already
    rejected.
    """
    raw = _col(df, name)
    if name == "t1min":
        raw = raw.str.removesuffix("ms") if raw.notna().any() else raw
    default = PARAMETERS[name].default
    assert default is not None
    # Parse each distinct text once: a column repeats a few numbers, and to_numeric on a
    # hundred thousand strings costs more than every other rule together.
    values = spread_distinct(
        raw,
        lambda texts: pd.to_numeric(texts, errors="coerce").to_numpy(float),
        float(Milliseconds.millis(default)),
    )
    return pd.Series(values, index=df.index)


def _value(row: Mapping[str, Any], name: str) -> str:
    # An explained row holds None for an empty cell (both paths of importer/validate.py).
    value = row.get(name)
    if value is None:
        default = PARAMETERS[name].default
        return f"{default} (default)"
    return str(value)


#: The texts pd.to_numeric reads as plain decimal numbers (what ``_number`` parses a column by).
_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?")


def _number_of(row: Mapping[str, str | None], name: str) -> float:
    """``_number`` of one cell: its value, the gateway default when empty, NaN if unreadable."""
    text = row.get(name)
    if text is None:
        default = PARAMETERS[name].default
        assert default is not None
        return float(Milliseconds.millis(default))
    if name == "t1min":
        text = text.removesuffix("ms")
    # The same texts pd.to_numeric reads: plain decimal numbers (a cell that reached a rule
    # passed its domain check, or holds REJECTED_CELL).
    return float(text) if _DECIMAL.fullmatch(text) else float("nan")


def _row_secret(row: Mapping[str, str | None]) -> bool:
    return any(row.get(s) is not None for s in ("secret", "remotesecret", "auth"))


def _row_codecs_not_enabled(row: Mapping[str, str | None]) -> bool:
    order, enabled = row.get("codec_order"), row.get("audio_codecs")
    if order is None or enabled is None:
        return False
    return any(codec in order and codec not in enabled for codec in CODECS)


def _any_secret(df: pd.DataFrame) -> pd.Series:
    return _given(df, "secret") | _given(df, "remotesecret") | _given(df, "auth")


def _codecs_not_enabled(df: pd.DataFrame) -> pd.Series:
    if "codec_order" not in df.columns or "audio_codecs" not in df.columns:
        return pd.Series(False, index=df.index)
    # The row test as bits: a bit per codec each distinct text names, as ``codec in text`` does.
    # An empty audio_codecs enables every bit, for the row test passes a row missing either.
    order_codes, orders = pd.factorize(df["codec_order"])
    enabled_codes, enableds = pd.factorize(df["audio_codecs"])
    named = _codec_bits(orders, empty=0)[order_codes]
    enabled = _codec_bits(enableds, empty=_ALL_CODECS)[enabled_codes]
    return pd.Series((named & ~enabled) != 0, index=df.index)


_ALL_CODECS = (1 << len(CODECS)) - 1


def _codec_bits(texts: Any, *, empty: int) -> npt.NDArray[np.int64]:
    """A bit per codec of CODECS each text holds, then ``empty`` last (factorize's -1 picks it)."""
    column = pyarrow.array(texts, type=pyarrow.large_string(), from_pandas=True)
    bits = np.zeros(len(column) + 1, dtype=np.int64)
    for k, codec in enumerate(CODECS):
        hit = pc.match_substring(column, codec).to_numpy(zero_copy_only=False)
        bits[:-1] |= hit.astype(np.int64) << k
    bits[-1] = empty
    return bits


def _explain_codecs(row: Mapping[str, Any]) -> str:
    enabled = str(row["audio_codecs"]).split(",")
    off = [c for c in str(row["codec_order"]).split(",") if c not in enabled]
    return (
        f"codec_order: {', '.join(off)} {'is' if len(off) == 1 else 'are'} not enabled in "
        f"audio_codecs ({row['audio_codecs']}); enable it there or drop it from codec_order"
    )


def _registration_gaps(row: Mapping[str, Any]) -> list[str]:
    def given(name: str) -> bool:
        return row.get(name) is not None

    gaps = []
    if not given("host") or row.get("host") == "dynamic":
        gaps.append("a host other than dynamic")
    if not given("defaultuser"):
        gaps.append("a defaultuser")
    if not any(given(s) for s in SECRET_FIELDS):
        gaps.append("a secret, remotesecret or auth")
    return gaps


RULES: tuple[Rule, ...] = (
    Rule(
        code="session-expires-below-minse",
        severity="error",
        field="session-expires",
        needs=("session-expires", "session-minse"),
        broken=lambda df: _number(df, "session-expires") < _number(df, "session-minse"),
        fails=lambda r: _number_of(r, "session-expires") < _number_of(r, "session-minse"),
        explain=lambda r: (
            f"session-expires: {_value(r, 'session-expires')} is below session-minse "
            f"{_value(r, 'session-minse')}; RFC 4028 needs it at least as long"
        ),
    ),
    Rule(
        code="codec-not-enabled",
        severity="error",
        field="codec_order",
        needs=("codec_order",),
        broken=_codecs_not_enabled,
        fails=_row_codecs_not_enabled,
        explain=_explain_codecs,
    ),
    Rule(
        code="rename-conflict",
        severity="error",
        field="old_name",
        needs=("old_name",),
        broken=lambda df: _given(df, "old_name") & _given(df, "object_id"),
        fails=lambda r: r.get("old_name") is not None and r.get("object_id") is not None,
        explain=lambda r: "old_name: old_name and object_id are both set; rename with one of them",
    ),
    Rule(
        code="rename-to-same-name",
        severity="error",
        field="old_name",
        needs=("old_name",),
        broken=lambda df: _col(df, "old_name") == _col(df, "name"),
        fails=lambda r: r.get("old_name") is not None and r.get("old_name") == r.get("name"),
        explain=lambda r: (
            f"old_name: {quote(r['old_name'])} is the same as name; leave old_name empty unless the "
            "endpoint is being renamed"
        ),
    ),
    Rule(
        code="open-registration",
        severity="error",
        field="host",
        needs=("host",),
        broken=lambda df: (_col(df, "host") == "dynamic") & ~_any_secret(df),
        fails=lambda r: r.get("host") == "dynamic" and not _row_secret(r),
        explain=lambda r: (
            "host: dynamic with no secret, remotesecret or auth would let anyone register as "
            "this endpoint; add a secret"
        ),
    ),
    Rule(
        code="registration-incomplete",
        severity="warning",
        field="registration",
        needs=("registration",),
        broken=lambda df: (
            (_col(df, "registration") == "out")
            & (
                ~_given(df, "host")
                | (_col(df, "host") == "dynamic")
                | ~_given(df, "defaultuser")
                | ~_any_secret(df)
            )
        ),
        fails=lambda r: (
            r.get("registration") == "out"
            and (
                r.get("host") in (None, "dynamic")
                or r.get("defaultuser") is None
                or not _row_secret(r)
            )
        ),
        explain=lambda r: (
            "registration: out needs " + ", ".join(_registration_gaps(r)) + " to register"
        ),
    ),
    Rule(
        code="timerb-below-64-timert1",
        severity="warning",
        field="timerb",
        needs=("timerb", "timert1"),
        broken=lambda df: _number(df, "timerb") < 64 * _number(df, "timert1"),
        fails=lambda r: _number_of(r, "timerb") < 64 * _number_of(r, "timert1"),
        explain=lambda r: (
            f"timerb: {_value(r, 'timerb')} is below 64 x timert1 ({_value(r, 'timert1')}); "
            "chan_sip will raise it to 64 x timert1"
        ),
    ),
    Rule(
        code="timert1-below-t1min",
        severity="warning",
        field="timert1",
        needs=("timert1", "t1min"),
        broken=lambda df: _number(df, "timert1") < _number(df, "t1min"),
        fails=lambda r: _number_of(r, "timert1") < _number_of(r, "t1min"),
        explain=lambda r: (
            f"timert1: {_value(r, 'timert1')} is below t1min ({_value(r, 't1min')}); "
            "calls to this endpoint may time out"
        ),
    ),
    *(
        Rule(
            code="masked-secret",
            severity="warning",
            field=secret,
            needs=(secret,),
            broken=lambda df, s=secret: _col(df, s) == MASK,  # type: ignore[misc]
            fails=lambda r, s=secret: r.get(s) == MASK,  # type: ignore[misc]
            explain=lambda r, s=secret: (  # type: ignore[misc]
                f"{s}: is masked ({MASK}); import and sync keep the gateway's current {s}, "
                "and reject the row if the endpoint does not exist yet"
            ),
        )
        for secret in sorted(SECRET_FIELDS)
    ),
)


#: pandera check name -> rule (several rules share a code, e.g. masked-secret per secret field).
RULES_BY_CHECK: dict[str, Rule] = {f"{r.code}@{r.field}": r for r in RULES}


def _column_checks(field: str) -> list[pa.Check]:
    import pandera.pandas as pa

    domain = PARAMETERS[field].domain
    checks = [pa.Check(lambda s, d=domain: ~d.bad(s), name=field)]
    if field in ID_COLUMNS:
        checks.append(pa.Check(lambda s: ~looks_scientific(s), name=SCIENTIFIC))
    return checks


#: Stands in for a cell its domain rejected while the rules run: present (so it is not replaced by
#: the gateway default) but neither a number nor any word a rule compares with.
REJECTED_CELL = "\x00rejected"


def domain_schema(columns: Iterable[str]) -> pa.DataFrameSchema:
    """Domain checks (SPEC.md section 3) of every parameter column present."""
    return _domain_schema(tuple(field for field in columns if field in PARAMETERS))


@functools.cache
def _domain_schema(fields: tuple[str, ...]) -> pa.DataFrameSchema:
    # Built once per set of columns: pandera deep-copies every column it is given, and a long
    # sheet asks for the same schema once a chunk.
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {
            field: pa.Column(checks=_column_checks(field), nullable=True, required=False)
            for field in fields
        }
    )


def rule_schema(columns: Iterable[str]) -> pa.DataFrameSchema:
    """The section 4 rules that can fail on a sheet of these columns, errors and warnings alike
    (``Rule.severity`` tells them apart), as checks over the whole frame.

    Validate a frame holding ``REJECTED_CELL`` where a domain check failed, so a rule never
    repeats what a domain check already said.
    """
    return _rule_schema(frozenset(columns))


@functools.cache
def _rule_schema(present: frozenset[str]) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        checks=[
            pa.Check(lambda frame, r=r: ~r.broken(frame), name=f"{r.code}@{r.field}")
            for r in RULES
            if present.intersection(r.needs)
        ],
    )
