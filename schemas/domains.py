"""Value domains of the sip_endpoint parameters.

Each domain knows three forms of a value:

* the *sheet* text a person types (``udp, tcp``; ``Yes``; ``RFC2833``),
* the *canonical* text the importer keeps after normalizing (``UDP,TCP``; ``1``; ``rfc2833``),
* the *wire* value sent to the gateway (``["UDP", "TCP"]``; ``"1"``; ``"rfc2833"``).

``problem`` is the single source of truth for what is allowed: it returns a plain-words reason or
``None``. ``bad`` is its vectorized twin for whole columns; the tests check that both agree, and the
importer only calls ``problem`` for the few values ``bad`` flags, so the message a user reads and
the message the local gateway answers are the same sentence.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .text import quote

__all__ = [
    "CODECS",
    "MASK",
    "TEXT",
    "Address",
    "Choice",
    "CodecOrder",
    "CodecSet",
    "Domain",
    "Flag",
    "Integer",
    "Milliseconds",
    "Name",
    "Text",
    "Token",
    "Transport",
    "contains",
    "fullmatch",
    "spread_distinct",
    "spread_texts",
    "text_series",
]

_ColumnFn = Callable[[Any, pd.Series], pd.Series]

#: What every report and log shows instead of a secret.
MASK = "********"

CODECS: tuple[str, ...] = ("ulaw", "alaw", "g722", "g726", "g729", "gsm")

# Patterns used on whole columns run on Arrow strings (RE2), so they avoid what RE2 lacks
# (lookaround, backreferences) and spell out Unicode whitespace, which RE2's \s does not cover.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The non-ASCII spaces are literal characters, not \u escapes, so pandas can hand it to RE2.
_CONTROL_OR_SPACE = re.compile(
    "[\\x00-\\x20\\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
_LIST_SEPARATOR = r"[ \t]*[,;][ \t]*"
# Separators other systems use in lists; only the hint of a message looks for them.
_OTHER_SEPARATORS = re.compile(r"[&/|:+\s]+")


def _separated_otherwise(item: str, allowed: Collection[str]) -> list[str] | None:
    """``item``'s parts when it is a list of allowed values joined by another separator."""
    parts = [p for p in _OTHER_SEPARATORS.split(item) if p]
    return parts if len(parts) > 1 and all(p in allowed for p in parts) else None


_NAME_CHARS = re.compile(r"[A-Za-z0-9._+\-]+")
_DIGITS = re.compile(r"[0-9]+")
# The most digits a whole number may have: beyond them no int64 (the gateway's SQLite INTEGER,
# pandas' vectorized check) holds every value.
_MAX_DIGITS = 18
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_HOSTNAME_MAX = 254  # 253 characters, plus the optional root dot
_IPV4ISH = re.compile(r"[0-9.]+")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# The same addresses ipaddress accepts: four decimal octets, no leading zeros.
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# The plain hex forms of IPv6 (full and '::'-compressed): a vectorized fast accept. Anything
# else with a ':' (zone ids, embedded IPv4, typos) still goes to ipaddress, one value at a time.
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = re.compile(
    "|".join(
        (
            rf"(?:{_H}:){{7}}{_H}",
            rf"(?:{_H}:){{1,7}}:",
            rf"(?:{_H}:){{1,6}}:{_H}",
            rf"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
            rf"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
            rf"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
            rf"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
            rf"{_H}:(?::{_H}){{1,6}}",
            rf":(?:(?::{_H}){{1,7}}|:)",
        )
    )
)
_FLAG_WORDS = {
    "1": "1", "0": "0", "yes": "1", "no": "0", "true": "1", "false": "0",
    "y": "1", "n": "0", "on": "1", "off": "0",
}  # fmt: skip


def spread_distinct(column: pd.Series, fn: Callable[[pd.Series], Any], na: Any) -> npt.NDArray[Any]:
    """``fn`` over the distinct values of ``column`` (as a Series), spread back to every row.

    ``fn`` returns one flag or number per value; ``na`` is the answer for a missing cell.
    """
    return _spread(*pd.factorize(column), column.dtype, fn, na)


def _spread(
    codes: npt.NDArray[np.intp], uniques: Any, dtype: Any, fn: Callable[[pd.Series], Any], na: Any
) -> npt.NDArray[Any]:
    answers = np.asarray(fn(pd.Series(uniques, dtype=dtype)))
    # factorize codes a missing cell as -1, which picks the appended ``na``.
    return np.append(answers, np.array([na], dtype=answers.dtype))[codes]


#: pandas' "str": Arrow-backed text, NaN for a missing cell (what sheets are read as).
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def text_series(cells: pa.Array | pa.ChunkedArray, index: pd.Index, dtype: Any = TEXT) -> pd.Series:
    """Arrow text as a pandas text Series over ``index``, without a Python string a cell."""
    return pd.Series(cells.to_pandas(types_mapper={cells.type: dtype}.get).array, index=index)


def spread_texts(
    values: pd.Series, codes: npt.NDArray[np.intp], index: pd.Index, dtype: Any = TEXT
) -> pd.Series:
    """``values`` (texts) taken by ``codes`` (-1 = NA), as a text Series over ``index``.

    Arrow does the taking: a Series built from a million Python strings would convert each of
    them back to Arrow.
    """
    texts = pa.array(values, type=pa.large_string(), from_pandas=True)
    return text_series(texts.take(pa.array(codes, mask=codes < 0)), index, dtype)


def _arrow(column: pd.Series) -> pa.Array:
    return pa.array(column, type=pa.large_string(), from_pandas=True)


def _flags(found: Any, column: pd.Series) -> pd.Series:
    """An Arrow boolean result as flags over ``column``'s index, False for an empty cell."""
    return pd.Series(
        pc.fill_null(found, False).to_numpy(zero_copy_only=False), index=column.index, dtype=bool
    )


# pandas' .str methods parse every regex with Python's parser before they hand it to Arrow (to
# find what RE2 lacks); these patterns are RE2-safe by construction, so they go to Arrow straight:
# a third of the time on a long column, and a tenth of it on the few values of a short one.
def fullmatch(column: pd.Series, pattern: str, *, ignore_case: bool = False) -> pd.Series:
    """True where the whole text matches ``pattern`` (RE2), False elsewhere and on empty cells."""
    found = pc.match_substring_regex(
        _arrow(column), pattern=f"^(?:{pattern})$", ignore_case=ignore_case
    )
    return _flags(found, column)


def contains(column: pd.Series, pattern: str) -> pd.Series:
    """True where some of the text matches ``pattern`` (RE2), False elsewhere and on empty cells."""
    return _flags(pc.match_substring_regex(_arrow(column), pattern=pattern), column)


def _count(column: pd.Series, word: str) -> npt.NDArray[Any]:
    """How often ``word`` (plain text) occurs in each cell; NaN on empty cells."""
    return pc.count_substring(_arrow(column), pattern=word).to_numpy(zero_copy_only=False)


def _replace(column: pd.Series, pattern: str, replacement: str) -> pd.Series:
    """``re.sub`` of ``pattern`` (RE2) over a text column; NA stays NA."""
    replaced = pc.replace_substring_regex(_arrow(column), pattern=pattern, replacement=replacement)
    return pd.Series(
        replaced.to_pandas(types_mapper={replaced.type: column.dtype}.get).array, index=column.index
    )


def _per_distinct(fn: _ColumnFn) -> _ColumnFn:
    """Run a column check once per distinct value, then spread the flags back; a missing cell
    gets True, as in the checks' own column path (callers rule missing cells out).

    Host columns often repeat one word (``dynamic``) or a few hosts on every row. The columns of
    few values (choices, flags, numbers, lists) need no such wrapper: the importer hands their
    checks each distinct value once already (``importer/sheets/normalize.py``).
    """

    def inner(self: Any, column: pd.Series) -> pd.Series:
        codes, uniques = pd.factorize(column)
        if len(uniques) * 2 > len(column):
            return fn(self, column)  # mostly distinct: nothing to gain
        flags = _spread(
            codes, uniques, column.dtype, lambda u: fn(self, u).to_numpy(dtype=bool), True
        )
        return pd.Series(flags, index=column.index)

    return inner


def _describe_char(ch: str) -> str:
    if ch == " ":
        return "a space"
    if ch in "\t":
        return "a tab"
    if ch in "\r\n":
        return "a line break"
    if _CONTROL.match(ch):
        return "a control character"
    return f"'{ch}'"


def _join_or(items: Sequence[str]) -> str:
    return ", ".join(items)


@dataclass(frozen=True)
class Domain:
    """Base: a free string. Subclasses narrow it (a subclass that adds no field inherits the
    frozen dataclass as it is: no decorator of its own)."""

    #: Words for the template's help sheet and the gateway's error text.
    def allowed(self) -> str:
        return "a string"

    # -- sheet text -> canonical text -------------------------------------------------------
    def normalize(self, column: pd.Series) -> pd.Series:
        """Canonicalize a column of stripped, non-empty texts; unreadable values stay as given."""
        return column

    def normalize_one(self, text: str) -> str:
        return str(self.normalize(pd.Series([text], dtype="str")).iloc[0])

    # -- checks on canonical text -----------------------------------------------------------
    def problem(self, value: str) -> str | None:
        return None

    def bad(self, column: pd.Series) -> pd.Series:
        """Vectorized ``problem``: True where the value is not allowed."""
        return column.map(lambda v: self.problem(v) is not None).astype(bool)

    # -- wire -------------------------------------------------------------------------------
    def to_wire(self, value: str) -> Any:
        return value

    def from_wire(self, value: Any) -> str:
        """Wire value -> canonical text (for diffing and export)."""
        return str(value)

    def wire_problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return f"must be a string, not {type(value).__name__}"
        return self.problem(value)


@dataclass(frozen=True)
class Text(Domain):
    """Any text without control characters, ``min_len``..``max_len`` characters."""

    min_len: int = 0
    max_len: int | None = None

    def problem(self, value: str) -> str | None:
        if len(value) < self.min_len:
            return "is empty" if self.min_len == 1 else f"is shorter than {self.min_len} characters"
        if self.max_len is not None and len(value) > self.max_len:
            return f"is {len(value)} characters long; at most {self.max_len} are allowed"
        hit = self._forbidden().search(value)
        if hit:
            return f"contains {_describe_char(hit.group())}, which is not allowed here"
        return None

    def _forbidden(self) -> re.Pattern[str]:
        return _CONTROL

    def _forbidden_in(self, column: pd.Series) -> pd.Series:
        """True where a cell holds a character ``_forbidden`` matches."""
        # An ASCII text holds a control character exactly when it is not all printable, which
        # Arrow answers faster than the pattern; the pattern reads only the other texts.
        cells = _arrow(column)
        ascii = pc.fill_null(pc.string_is_ascii(cells), True).to_numpy(zero_copy_only=False)
        found = ~pc.fill_null(pc.ascii_is_printable(cells), True).to_numpy(zero_copy_only=False)
        if not ascii.all():
            others = cells.filter(pa.array(~ascii))
            hits = pc.match_substring_regex(others, pattern=self._forbidden().pattern)
            found[~ascii] = pc.fill_null(hits, False).to_numpy(zero_copy_only=False)
        return pd.Series(found, index=column.index)

    def bad(self, column: pd.Series) -> pd.Series:
        lengths = column.str.len()
        out = self._forbidden_in(column) | (lengths < self.min_len)
        if self.max_len is not None:
            out = out | (lengths > self.max_len)
        return out

    def allowed(self) -> str:
        limit = f", at most {self.max_len} characters" if self.max_len else ""
        return f"text without control characters{limit}"


class Token(Text):
    """Text without whitespace or control characters (user names, auth strings)."""

    def _forbidden(self) -> re.Pattern[str]:
        return _CONTROL_OR_SPACE

    def _forbidden_in(self, column: pd.Series) -> pd.Series:
        # A space is printable: the pattern itself, as fast here as any pair of kernels.
        return contains(column, self._forbidden().pattern)

    def allowed(self) -> str:
        limit = f", at most {self.max_len} characters" if self.max_len else ""
        return f"text without spaces or control characters{limit}"


@dataclass(frozen=True)
class Name(Domain):
    """Endpoint names: they become sip.conf section names and SIP URI user parts."""

    max_len: int = 80
    #: Section names chan_sip reads as its own settings, refused in any case (``name`` sets
    #: them; ``old_name`` does not, so an endpoint stored under one can still be renamed).
    reserved: tuple[str, ...] = ()

    def problem(self, value: str) -> str | None:
        if not value:
            return "is empty"
        if len(value) > self.max_len:
            return f"is {len(value)} characters long; at most {self.max_len} are allowed"
        if not _NAME_CHARS.fullmatch(value):
            bad = next(ch for ch in value if not _NAME_CHARS.fullmatch(ch))
            return (
                f"{quote(value)} contains {_describe_char(bad)}; a name may only hold "
                "ASCII letters, digits and . _ - +"
            )
        if value.lower() in self.reserved:
            return (
                f"{quote(value)} is reserved: chan_sip reads a [{value.lower()}] section as its "
                "own settings, not as an endpoint"
            )
        return None

    def bad(self, column: pd.Series) -> pd.Series:
        ok = fullmatch(column, _NAME_CHARS.pattern) & (column.str.len() <= self.max_len)
        if self.reserved:
            # One case-blind match instead of a lowercased copy of the column.
            reserved = "|".join(re.escape(word) for word in self.reserved)
            ok &= ~fullmatch(column, reserved, ignore_case=True)
        return ~ok

    def allowed(self) -> str:
        reserved = f", not {' or '.join(self.reserved)}" if self.reserved else ""
        return f"1-{self.max_len} ASCII letters, digits or . _ - +{reserved}"


@dataclass(frozen=True)
class Choice(Domain):
    """One of a fixed list of words, matched case-insensitively, sent as spelled in SPEC.md."""

    values: tuple[str, ...] = ()

    def normalize(self, column: pd.Series) -> pd.Series:
        lookup = {v.lower(): v for v in self.values}
        mapped = column.str.lower().map(lookup)
        return mapped.where(mapped.notna(), column)

    def problem(self, value: str) -> str | None:
        if value in self.values:
            return None
        return f"{quote(value)} is not one of {_join_or(self.values)}"

    def bad(self, column: pd.Series) -> pd.Series:
        return ~column.isin(self.values)

    def allowed(self) -> str:
        return "one of " + _join_or(self.values)


class Flag(Domain):
    """0/1; the sheet may say yes/no, true/false, y/n, on/off."""

    def normalize(self, column: pd.Series) -> pd.Series:
        mapped = column.str.lower().map(_FLAG_WORDS)
        return mapped.where(mapped.notna(), column)

    def problem(self, value: str) -> str | None:
        if value in ("0", "1"):
            return None
        return f"{quote(value)} is not 0 or 1 (yes/no, true/false, on/off also work)"

    def bad(self, column: pd.Series) -> pd.Series:
        return ~column.isin(("0", "1"))

    def allowed(self) -> str:
        return "0 or 1"


@dataclass(frozen=True)
class Integer(Domain):
    """A whole number in ``minimum..maximum``, optionally a multiple of ``step``."""

    minimum: int | None = None
    maximum: int | None = None
    step: int | None = None
    unit: str = ""

    def normalize(self, column: pd.Series) -> pd.Series:
        # '060' and '+60' are the number 60; Excel may also have left '60.0'.
        digits = fullmatch(column, r"\+?[0-9]+(\.0+)?")
        if not digits.any():
            return column
        out = column.copy()
        cleaned = _replace(column[digits].str.lstrip("+"), r"\.0+$", "")
        out[digits] = cleaned.str.lstrip("0").replace("", "0")
        return out

    def problem(self, value: str) -> str | None:
        text = value[1:] if value.startswith("-") else value
        if not _DIGITS.fullmatch(text):
            return f"{quote(value)} is not a whole number"
        if len(text.lstrip("0")) > _MAX_DIGITS:
            return f"{quote(value)} is too large; {self._range()}"
        number = int(value)
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and self.maximum == self.minimum and number != self.minimum:
            return f"{number} is not allowed; it must be exactly {self.minimum}"
        if self.minimum is not None and number < self.minimum:
            return f"{number} is below {self.minimum}{unit}"
        if self.maximum is not None and number > self.maximum:
            return f"{number} is above {self.maximum}{unit}"
        if self.step is not None and number % self.step:
            return f"{number} is not a multiple of {self.step}"
        if value != str(number):
            return f"{quote(value)} is not written as a plain whole number"
        return None

    def bad(self, column: pd.Series) -> pd.Series:
        # Canonical integers are digit strings without leading zeros ('0' aside) or '-N'.
        shaped = fullmatch(column, rf"-?(0|[1-9][0-9]{{0,{_MAX_DIGITS - 1}}})")
        # Every other cell (an empty one too) reads as 0 here, and the shape test refuses it.
        values = pd.to_numeric(column.where(shaped, "0")).to_numpy(dtype=np.int64)
        ok = shaped.to_numpy(dtype=bool) & (column.to_numpy() != "-0")
        if self.minimum is not None:
            ok &= values >= self.minimum
        if self.maximum is not None:
            ok &= values <= self.maximum
        if self.step is not None:
            ok &= values % self.step == 0
        return pd.Series(~ok, index=column.index)

    def _range(self) -> str:
        if self.maximum is not None:
            return f"at most {self.maximum} is allowed"
        return f"at most {_MAX_DIGITS} digits are allowed"

    def allowed(self) -> str:
        if self.minimum is not None and self.minimum == self.maximum:
            return f"exactly {self.minimum}"
        parts = ["a whole number"]
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"from {self.minimum} to {self.maximum}")
        elif self.minimum is not None:
            parts.append(f"of at least {self.minimum}")
        if self.step is not None:
            parts.append(f"in steps of {self.step}")
        return " ".join(parts)


class Milliseconds(Domain):
    """``t1min``: ``<int>`` or ``<int>ms``, at least 1."""

    def normalize(self, column: pd.Series) -> pd.Series:
        return _replace(column.str.lower(), r"^([0-9]+)[ \t]*ms$", r"\1ms")

    def problem(self, value: str) -> str | None:
        number = value[:-2] if value.endswith("ms") else value
        if not _DIGITS.fullmatch(number):
            return f"{quote(value)} is not a number of milliseconds such as 500 or 500ms"
        if len(number) > _MAX_DIGITS:
            return f"{quote(value)} is too large; at most {_MAX_DIGITS} digits are allowed"
        if int(number) < 1:
            return f"{quote(value)} is below 1 ms"
        return None

    def bad(self, column: pd.Series) -> pd.Series:
        number = column.str.removesuffix("ms")
        shaped = fullmatch(number, r"[0-9]{1,18}")
        values = pd.to_numeric(number.where(shaped, "0"))
        return ~(shaped & (values >= 1))

    def allowed(self) -> str:
        return "milliseconds, e.g. 500 or 500ms"

    @staticmethod
    def millis(value: str) -> int:
        return int(value.removesuffix("ms"))


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Address(Domain):
    """An IPv4/IPv6 address or an RFC 1123 host name; ``dynamic`` too when ``dynamic`` is set."""

    dynamic: bool = False

    def normalize(self, column: pd.Series) -> pd.Series:
        if not self.dynamic:
            return column
        # NA stays NA: a comparison with NA is False.
        return column.mask(column.str.lower() == "dynamic", "dynamic")

    def problem(self, value: str) -> str | None:
        # 'dynamic' needs no test of its own: it is a host name.
        if _is_ip(value):
            return None
        # All-digit dotted names ('10.0.0.256') are broken IPv4 addresses, not host names.
        hostname = len(value) <= _HOSTNAME_MAX and _HOSTNAME.fullmatch(value)
        if hostname and not _IPV4ISH.fullmatch(value):
            return None
        what = (
            "'dynamic', an IP address or a host name"
            if self.dynamic
            else "an IP address or a host name"
        )
        return f"{quote(value)} is not {what}"

    @_per_distinct
    def bad(self, column: pd.Series) -> pd.Series:
        host = fullmatch(column, _HOSTNAME.pattern)
        host &= column.str.len() <= _HOSTNAME_MAX
        dotted = fullmatch(column, _IPV4ISH.pattern)
        ipv4 = fullmatch(column, _IPV4.pattern)
        ok = (host & ~dotted) | ipv4
        ok |= fullmatch(column, _IPV6.pattern)
        # Only values with a ':' that are not plain IPv6 get the slow path.
        rest = ~ok & column.str.contains(":", regex=False)
        if rest.any():
            ok[rest] = column[rest].map(_is_ip).astype(bool)
        return ~ok

    def allowed(self) -> str:
        return ("'dynamic', " if self.dynamic else "") + "an IP address or a host name"


@dataclass(frozen=True)
class Transport(Domain):
    """One or more of UDP, TCP, TLS. Sheet: ``udp, tls``; wire: ``["UDP", "TLS"]``."""

    values: tuple[str, ...] = ("UDP", "TCP", "TLS")

    def normalize(self, column: pd.Series) -> pd.Series:
        return _replace(column.str.upper(), _LIST_SEPARATOR, ",")

    def problem(self, value: str) -> str | None:
        items = value.split(",")
        for item in items:
            if item not in self.values:
                if parts := _separated_otherwise(item, self.values):
                    return (
                        f"{quote(item)} is not one of {_join_or(self.values)}; separate them "
                        f"with commas ({','.join(parts)})"
                    )
                return f"{quote(item)} is not one of {_join_or(self.values)}"
        dup = next((i for i in items if items.count(i) > 1), None)
        if dup:
            return f"names {dup} twice"
        return None

    def bad(self, column: pd.Series) -> pd.Series:
        alt = "|".join(self.values)
        shaped = fullmatch(column, rf"({alt})(,({alt}))*")
        # No name is part of another, so counting substrings finds a repeat (RE2 has no backreferences).
        dup = np.zeros(len(column), dtype=bool)
        for value in self.values:
            dup |= _count(column, value) > 1
        return ~shaped | dup

    def to_wire(self, value: str) -> Any:
        return value.split(",")

    def from_wire(self, value: Any) -> str:
        return ",".join(value) if isinstance(value, list) else str(value)

    def wire_problem(self, value: Any) -> str | None:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            return "must be a non-empty array of UDP, TCP, TLS"
        return self.problem(",".join(value))

    def allowed(self) -> str:
        return "one or more of UDP, TCP, TLS"


@dataclass(frozen=True)
class _CodecList(Domain):
    codecs: tuple[str, ...] = field(default=CODECS)

    def normalize(self, column: pd.Series) -> pd.Series:
        return _replace(column.str.lower(), _LIST_SEPARATOR, ",")

    def _list_problem(self, items: list[str]) -> str | None:
        for item in items:
            if item not in self.codecs:
                # FreePBX writes 'ulaw&alaw', others 'ulaw/alaw' or 'ulaw alaw'.
                if parts := _separated_otherwise(item, self.codecs):
                    return (
                        f"{quote(item)} is not a codec; separate codecs with commas "
                        f"({','.join(parts)})"
                    )
                return f"{quote(item)} is not a codec; use {_join_or(self.codecs)}"
        dup = next((i for i in items if items.count(i) > 1), None)
        if dup:
            return f"names {dup} twice"
        return None

    def bad(self, column: pd.Series) -> pd.Series:
        alt = "|".join(self.codecs)
        shaped = fullmatch(column, rf"({alt})(,({alt}))*")
        # No name is part of another, so counting substrings finds a repeat (RE2 has no backreferences).
        dup = np.zeros(len(column), dtype=bool)
        for value in self.codecs:
            dup |= _count(column, value) > 1
        return ~shaped | dup


class CodecSet(_CodecList):
    """``audio_codecs``: the sheet lists the enabled codecs (or ``none``); the wire has all six."""

    def problem(self, value: str) -> str | None:
        if value == "none":
            return None
        return self._list_problem(value.split(","))

    def bad(self, column: pd.Series) -> pd.Series:
        return super().bad(column) & (column != "none")

    def to_wire(self, value: str) -> Any:
        enabled = set() if value == "none" else set(value.split(","))
        return [{"id": c, "value": "1" if c in enabled else "0"} for c in self.codecs]

    def from_wire(self, value: Any) -> str:
        enabled = [c["id"] for c in value if str(c.get("value")) == "1"] if value else []
        order = [c for c in self.codecs if c in enabled]
        return ",".join(order) if order else "none"

    def normalize(self, column: pd.Series) -> pd.Series:
        out = super().normalize(column)
        # A set has no order: sort into the gateway's order so equal sets compare equal.
        rank = {c: i for i, c in enumerate(self.codecs)}
        ok = ~self.bad(out) & (out != "none")
        if ok.any():
            # Few distinct lists occur in a sheet: sort each distinct one once.
            distinct = out[ok].unique()
            ordered = {v: ",".join(sorted(v.split(","), key=rank.__getitem__)) for v in distinct}
            out[ok] = out[ok].map(ordered)
        return out

    def wire_problem(self, value: Any) -> str | None:
        if not isinstance(value, list):
            return "must be an array of {id, value} objects"
        seen: list[str] = []
        for item in value:
            if not isinstance(item, dict) or set(item) != {"id", "value"}:
                return "must be an array of {id, value} objects"
            if item["id"] not in self.codecs:
                return f"{quote(str(item['id']))} is not a codec; use {_join_or(self.codecs)}"
            if item["value"] not in ("0", "1"):
                return f"value of {item['id']} must be '0' or '1'"
            if item["id"] in seen:
                return f"names {item['id']} twice"
            seen.append(item["id"])
        return None

    def allowed(self) -> str:
        return "a comma list of enabled codecs (" + ", ".join(self.codecs) + ") or none"


class CodecOrder(_CodecList):
    """``codec_order``: the sheet lists codecs by preference; the wire has ``{id, order}``."""

    def problem(self, value: str) -> str | None:
        return self._list_problem(value.split(","))

    def to_wire(self, value: str) -> Any:
        return [{"id": c, "order": str(i)} for i, c in enumerate(value.split(","), start=1)]

    def from_wire(self, value: Any) -> str:
        ranked = sorted(value or [], key=lambda c: int(c.get("order", 0)))
        return ",".join(c["id"] for c in ranked)

    def wire_problem(self, value: Any) -> str | None:
        if not isinstance(value, list) or not value:
            return "must be a non-empty array of {id, order} objects"
        ids: list[str] = []
        orders: list[str] = []
        for item in value:
            if not isinstance(item, dict) or set(item) != {"id", "order"}:
                return "must be an array of {id, order} objects"
            if not isinstance(item["id"], str) or not isinstance(item["order"], str):
                return "id and order must be strings"
            ids.append(item["id"])
            orders.append(item["order"])
        expected = [str(i) for i in range(1, len(value) + 1)]
        if sorted(orders, key=lambda o: (len(o), o)) != expected:
            return f"orders must be 1..{len(value)}, each once"
        return self._list_problem(ids)

    def allowed(self) -> str:
        return "a comma list of codecs in order of preference (" + ", ".join(self.codecs) + ")"
