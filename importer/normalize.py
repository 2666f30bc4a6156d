"""Normalize: sheet headers to SPEC.md parameter names, cell texts to canonical values.

Values a domain cannot read are left as typed (stripped), so validation can quote them back.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from schemas import PARAMETERS
from schemas.text import quote

from .errors import InputError
from .load import LoadedSheet, header_key

__all__ = ["NormalizedSheet", "load_mapping", "name_header", "normalize", "resolve_headers"]

_BUILTIN = {header_key(name): name for name in PARAMETERS}


@dataclass(frozen=True)
class NormalizedSheet:
    loaded: LoadedSheet
    #: Canonical values: one column per parameter present in the sheet, missing = NA.
    frame: pd.DataFrame
    #: Parameter name -> the header it came from (to point at the cell in reports).
    source_headers: dict[str, str]
    #: Sheet-level warnings in plain words (unknown columns, ...).
    warnings: tuple[str, ...]


def load_mapping(path: str | Path | None) -> dict[str, str]:
    """Read a mapping file: ``[aliases]`` of ``"Carrier header" = "parameter"``.

    Returns header_key(alias) -> parameter name.
    """
    if path is None:
        return {}
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"mapping file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"mapping file {path} cannot be read ({exc.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"mapping file {path} is not valid TOML: {exc}") from None
    aliases = data.get("aliases")
    if not isinstance(aliases, dict) or not aliases:
        raise InputError(
            f'mapping file {path} needs an [aliases] table, e.g. "Trunk Name" = "name"'
        )
    out: dict[str, str] = {}
    for alias, target in aliases.items():
        param = _BUILTIN.get(header_key(str(target)))
        if param is None:
            raise InputError(
                f"mapping file {path} maps {quote(alias)} to {quote(target)}, which is not a "
                "sip_endpoint parameter"
            )
        out[header_key(alias)] = param
    return out


def resolve_headers(
    headers: tuple[str, ...],
    aliases: dict[str, str] | None = None,
    letters: tuple[str, ...] = (),
) -> tuple[dict[str, str], list[str]]:
    """Map headers to parameters. Returns (header -> parameter, unknown-column warnings).

    ``letters`` are the headers' spreadsheet columns (positions, when not given).
    """
    letters = letters or tuple(get_column_letter(i + 1) for i in range(len(headers)))
    lookup = {**_BUILTIN, **(aliases or {})}
    resolved: dict[str, str] = {}
    claimed: dict[str, tuple[int, str]] = {}
    warnings: list[str] = []
    for position, header in enumerate(headers):
        if header.startswith("_"):
            continue  # report columns (_row, _errors, ...): a rejections file fed back
        param = lookup.get(header_key(header))
        if param is None:
            warnings.append(
                f"column {letters[position]} ({quote(header)}) is not a sip_endpoint "
                "parameter and was ignored"
            )
            continue
        if param in claimed:
            first_pos, first = claimed[param]
            raise InputError(
                f"columns {letters[first_pos]} and {letters[position]} both mean "
                f"{quote(param)} ({quote(first)} and {quote(header)}); keep one of them"
            )
        claimed[param] = (position, header)
        resolved[header] = param
    return resolved, warnings


def name_header(loaded: LoadedSheet, aliases: dict[str, str] | None = None) -> str:
    """The header of the sheet's 'name' column; InputError as ``normalize`` would raise it."""
    resolved, _warnings = resolve_headers(loaded.headers, aliases, loaded.column_letters)
    for header, param in resolved.items():
        if param == "name":
            return header
    raise _no_name(loaded)


def _no_name(loaded: LoadedSheet) -> InputError:
    return InputError(f"{loaded.path} has no 'name' column in sheet {quote(loaded.sheet)}")


def normalize(loaded: LoadedSheet, aliases: dict[str, str] | None = None) -> NormalizedSheet:
    resolved, warnings = resolve_headers(loaded.headers, aliases, loaded.column_letters)
    if "name" not in resolved.values():
        raise _no_name(loaded)
    columns: dict[str, pd.Series] = {}
    for header, param in resolved.items():
        # Arrow-backed strings throughout: pandas runs these string methods in C++.
        raw = loaded.frame[header].astype("str")
        # Reports write formula-like cells as '=..., so a fixed rejections file fed back reads
        # the same value the person first typed. A neutralized tab or CR ("'\tx") is stripped
        # again once its quote is gone, like the "\tx" the person first typed.
        stripped = raw.str.strip()
        quoted = stripped.str.startswith("'").fillna(False).astype(bool)
        if quoted.any():
            unquoted = stripped[quoted].str.replace(r"^'([=+\-@\t\r])", r"\1", regex=True)
            stripped[quoted] = unquoted.str.strip()
        present = (stripped.notna() & (stripped != "")).astype(bool)
        domain = PARAMETERS[param].domain
        if present.all():
            # The usual case for filled columns; a masked assignment costs more than the work.
            columns[param] = domain.normalize(stripped)
            continue
        # Normalize the filled cells only; reindexing puts NA back in the empty ones, which
        # costs less than assigning through a mask.
        columns[param] = domain.normalize(stripped[present]).reindex(stripped.index)
    frame = pd.DataFrame(columns, index=loaded.frame.index)
    return NormalizedSheet(
        loaded=loaded,
        frame=frame,
        source_headers={param: header for header, param in resolved.items()},
        warnings=tuple(warnings),
    )
