"""Mapping files: what another system's sheet means in sip_endpoint terms.

A mapping (TOML) has up to four tables, each optional but one needed:

- ``[aliases]``: ``"Sheet header" = "parameter"``, or ``= "ignore"`` to leave a column out;
- ``[values.COLUMN]``: ``"their value" = "our value"``, per column (a header or a parameter),
  matched ignoring case;
- ``[separators]``: ``COLUMN = "&"``: the list separator a column uses instead of ``,``;
- ``[skip]``: ``COLUMN = ["value", ...]`` (or ``[skip.COLUMN]`` with ``values`` and ``reason``):
  rows whose cell is one of the values end ``skipped``, with the reason.

Presets are mapping files shipped in this package (``importer/sheets/presets/*.toml``); a user's
mapping file extends a preset: its entries win.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from schemas import PARAMETERS
from schemas.text import header_key

from ..errors import InputError

__all__ = ["IGNORE", "Mapping", "SkipRule", "load_mapping", "preset_names", "presets"]

#: The target that leaves a column out without a warning.
IGNORE = "ignore"
_BUILTIN = {header_key(name): name for name in PARAMETERS}
_TABLES = ("aliases", "values", "separators", "skip")


@dataclass(frozen=True)
class SkipRule:
    """Rows whose cell in ``header`` is one of ``values`` (case-insensitive) are skipped."""

    header: str
    #: Casefolded, stripped.
    values: frozenset[str]
    reason: str


@dataclass(frozen=True)
class Mapping:
    """What a mapping says, keyed by ``header_key``; empty = the built-in headers only."""

    #: Header key -> parameter name, or IGNORE.
    aliases: dict[str, str] = field(default_factory=dict)
    #: Column key (a header's or a parameter's) -> {casefolded value: replacement}.
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Column key -> the list separator the sheet uses there (replaced by ',').
    separators: dict[str, str] = field(default_factory=dict)
    #: Header key -> rule.
    skip: dict[str, SkipRule] = field(default_factory=dict)
    #: Where it came from, for messages: 'preset freepbx', 'map.toml'.
    sources: tuple[str, ...] = ()

    def target(self, header: str) -> str | None:
        """The parameter a header means, IGNORE, or None (not a parameter: warned about)."""
        key = header_key(header)
        return self.aliases.get(key, _BUILTIN.get(key))

    @property
    def name_keys(self) -> frozenset[str]:
        """Header keys of the 'name' column: the loader finds the header row by them."""
        lookup = {**_BUILTIN, **self.aliases}
        return frozenset(key for key, param in lookup.items() if param == "name")

    @property
    def parameter_keys(self) -> frozenset[str]:
        """Header keys that mean a parameter: only these may not appear twice in a header."""
        lookup = {**_BUILTIN, **self.aliases}
        return frozenset(key for key, param in lookup.items() if param != IGNORE)

    def column_values(self, header: str, param: str) -> dict[str, str]:
        return self.values.get(header_key(header)) or self.values.get(header_key(param)) or {}

    def column_separator(self, header: str, param: str) -> str | None:
        return self.separators.get(header_key(header)) or self.separators.get(header_key(param))

    def extended_by(self, other: Mapping) -> Mapping:
        """This mapping with ``other``'s entries added; ``other`` wins where both say something."""
        values = {key: dict(table) for key, table in self.values.items()}
        for key, table in other.values.items():
            values[key] = {**values.get(key, {}), **table}
        return Mapping(
            aliases={**self.aliases, **other.aliases},
            values=values,
            separators={**self.separators, **other.separators},
            skip={**self.skip, **other.skip},
            sources=(*self.sources, *other.sources),
        )


def presets() -> dict[str, str]:
    """Preset name -> its one-line description, in name order."""
    found = {}
    for entry in sorted(resources.files("importer.sheets.presets").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            found[entry.name.removesuffix(".toml")] = str(data.get("description", ""))
    return found


def preset_names() -> list[str]:
    return list(presets())


def load_mapping(path: str | Path | None = None, *, preset: str | None = None) -> Mapping:
    """The mapping of ``preset`` (a name from ``presets()``) extended by the file ``path``."""
    mapping = Mapping()
    if preset is not None:
        known = presets()
        if preset.lower() not in known:
            raise InputError(
                f"there is no preset {preset!r} (presets: {', '.join(known)}; "
                "sip-import presets lists them)"
            )
        name = preset.lower()
        text = (resources.files("importer.sheets.presets") / f"{name}.toml").read_text(
            encoding="utf-8"
        )
        mapping = _parse(tomllib.loads(text), f"preset {name}")
    if path is None:
        return mapping
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"mapping file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"mapping file {path} cannot be read ({exc.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"mapping file {path} is not valid TOML: {exc}") from None
    return mapping.extended_by(_parse(data, f"mapping file {path}"))


def _parse(data: dict[str, Any], where: str) -> Mapping:
    unknown = [key for key in data if key not in (*_TABLES, "description")]
    if unknown:
        raise InputError(
            f"{where} has [{unknown[0]}], which is not a mapping table (they are [aliases], "
            "[values], [separators] and [skip])"
        )
    if not any(data.get(table) for table in _TABLES):
        raise InputError(f'{where} needs an [aliases] table, e.g. "Trunk Name" = "name"')
    return Mapping(
        aliases=_aliases(_table(data, "aliases", where), where),
        values=_values(_table(data, "values", where), where),
        separators=_separators(_table(data, "separators", where), where),
        skip=_skips(_table(data, "skip", where), where),
        sources=(where.removeprefix("mapping file "),),
    )


def _table(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise InputError(f"{where}: [{name}] must be a table")
    return table


def _aliases(table: dict[str, Any], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for alias, target in table.items():
        if isinstance(target, str) and header_key(target) == IGNORE:
            out[header_key(alias)] = IGNORE
            continue
        param = _BUILTIN.get(header_key(str(target)))
        if param is None:
            raise InputError(
                f"{where} maps {alias!r} to {target!r}, which is not a sip_endpoint parameter "
                '(map it to "ignore" to leave the column out)'
            )
        out[header_key(alias)] = param
    return out


def _values(table: dict[str, Any], where: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for column, pairs in table.items():
        if not isinstance(pairs, dict) or not all(
            isinstance(v, str | int | bool) for v in pairs.values()
        ):
            raise InputError(
                f'{where}: [values.{column}] must map values to values, e.g. "pai" = "yes"'
            )
        out[header_key(column)] = {
            str(theirs).strip().casefold(): _text(ours) for theirs, ours in pairs.items()
        }
    return out


def _text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _separators(table: dict[str, Any], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for column, separator in table.items():
        if not isinstance(separator, str) or not separator:
            raise InputError(f'{where}: [separators] {column} must be text, e.g. "&"')
        out[header_key(column)] = separator
    return out


def _skips(table: dict[str, Any], where: str) -> dict[str, SkipRule]:
    out: dict[str, SkipRule] = {}
    for column, rule in table.items():
        reason = "the mapping skips these rows"
        values = rule
        if isinstance(rule, dict):
            values = rule.get("values")
            reason = str(rule.get("reason", reason))
        if not isinstance(values, list) or not all(isinstance(v, str | int) for v in values):
            raise InputError(
                f'{where}: [skip] {column} must be a list of values, e.g. ["dahdi", "iax2"]'
            )
        out[header_key(column)] = SkipRule(
            column, frozenset(str(v).strip().casefold() for v in values), reason
        )
    return out
