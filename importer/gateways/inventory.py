"""Inventory: the gateways of a fleet, their tags and settings, and which rows go where.

An inventory is a TOML file (``--inventory FILE``, or ``inventory = "FILE"`` in
sip-import.toml), in the manner of Ansible's and Nornir's: a ``[defaults]`` table, then one
``[gateways.NAME]`` table a gateway, which may set any key of the defaults::

    [defaults]
    concurrency = 8                       # the ceiling per gateway
    user_env = "SIP_IMPORT_USER"          # credentials come from the environment variables
    password_env = "SIP_IMPORT_PASSWORD"  # named here, never from this file

    [gateways.lon-1]
    url = "https://10.0.0.5"
    tags = ["london", "g400"]
    password_env = "GW_LON1_PASSWORD"
    ca_bundle = "certs/lon.pem"           # relative to the inventory file

Everything is checked before any call: an unknown key, a missing environment variable, a name
given twice (in any case), a bad URL or value is one line naming the file and the gateway.

A selector picks gateways: a name, several separated by commas, ``tag:NAME``, or ``*`` for
all. It serves the sheet's ``gateway`` column, ``--gateways`` and ``--only``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.text import quote

from ..config import KIND_WORDS, OPTION_KEYS, Credentials, GatewaySettings, check_options, check_url
from ..errors import InputError

__all__ = ["GatewayEntry", "Inventory", "UnknownGateway", "load_inventory", "pick", "route"]

#: Keys of a gateway's table besides the tuning options config files take.
_OWN_KEYS: dict[str, type] = {"url": str, "user_env": str, "password_env": str}
_KEYS: dict[str, type] = {**OPTION_KEYS, **_OWN_KEYS}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class UnknownGateway(ValueError):
    """A selector names a gateway or tag the inventory does not have (``unknown-gateway``)."""


@dataclass(frozen=True)
class GatewayEntry:
    name: str
    tags: frozenset[str]
    settings: GatewaySettings


@dataclass(frozen=True)
class Inventory:
    path: Path
    #: In the file's order.
    gateways: tuple[GatewayEntry, ...]
    warnings: tuple[str, ...] = ()

    def select(self, selector: str) -> tuple[GatewayEntry, ...]:
        """The gateways a selector names, in the inventory's order, each once."""
        wanted: set[str] = set()
        by_name = {g.name.lower(): g for g in self.gateways}
        for part in (p.strip() for p in selector.split(",")):
            if not part:
                continue
            if part == "*":
                wanted.update(by_name)
            elif part.lower().startswith("tag:"):
                tag = part[4:].strip().lower()
                tagged = {g.name.lower() for g in self.gateways if tag in g.tags}
                if not tagged:
                    raise UnknownGateway(f"no gateway has the tag {quote(tag)}")
                wanted |= tagged
            elif part.lower() in by_name:
                wanted.add(part.lower())
            else:
                raise UnknownGateway(f"no gateway is named {quote(part)}")
        if not wanted:
            raise UnknownGateway("no gateway named (the selector is empty)")
        return tuple(g for g in self.gateways if g.name.lower() in wanted)


def pick(inventory: Inventory, selector: str, flag: str) -> tuple[GatewayEntry, ...]:
    """``inventory.select`` for a selector the user gave with ``flag``: a selector that names
    nothing is unusable input (one line, exit 2), not a row's problem."""
    try:
        return inventory.select(selector)
    except UnknownGateway as exc:
        raise InputError(f"{flag} {quote(selector)}: {exc}") from None


def _typed(value: Any, kind: type, key: str, where: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"{where}{key} must be {KIND_WORDS.get(kind, 'text')}")
    return value


def _table(data: Mapping[str, Any], where: str, *, allow_url: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise InputError(f"{where}tags must be a list of names")
            values["tags"] = value
            continue
        if key not in _KEYS or (key == "url" and not allow_url):
            known = ", ".join(sorted([*_KEYS, "tags"]))
            raise InputError(f"{where}unknown key {quote(key)} (known: {known})")
        values[key] = _typed(value, _KEYS[key], key, where)
    return values


def _credentials(values: Mapping[str, Any], where: str) -> Credentials:
    user_env = values.get("user_env", "SIP_IMPORT_USER")
    password_env = values.get("password_env", "SIP_IMPORT_PASSWORD")
    for env in (user_env, password_env):
        if not os.environ.get(env):
            raise InputError(f"{where}the environment variable {env} is not set")
    return Credentials(os.environ[user_env], os.environ[password_env])


def _entry(
    name: str, values: dict[str, Any], base: Path, where: str
) -> tuple[GatewayEntry, list[str]]:
    url = values.pop("url", None)
    if not url:
        raise InputError(f"{where}url is missing")
    check_url(url, where)
    tags = frozenset(t.strip().lower() for t in values.pop("tags", []) if t.strip())
    credentials = _credentials(values, where)
    options = {k: v for k, v in values.items() if k not in ("user_env", "password_env")}
    if "ca_bundle" in options:
        options["ca_bundle"] = str(base / Path(options["ca_bundle"]).expanduser())
    verify, warnings = check_options(options, where)
    settings = GatewaySettings(url.rstrip("/"), credentials).with_overrides(
        **options, verify=verify
    )
    return GatewayEntry(name, tags, settings), warnings


def load_inventory(path: Path) -> Inventory:
    """Read and check an inventory; ``InputError`` (one line) for anything wrong in it."""
    shown = f"inventory {path}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{shown} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{shown} cannot be read ({exc.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{shown} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"defaults", "gateways"})
    if unknown:
        raise InputError(f"{shown}: unknown table {quote(unknown[0])} (known: defaults, gateways)")
    defaults = data.get("defaults", {})
    gateways = data.get("gateways", {})
    if not isinstance(defaults, dict) or not isinstance(gateways, dict):
        raise InputError(f"{shown}: [defaults] and [gateways.NAME] must be tables")
    if not gateways:
        raise InputError(f"{shown} lists no gateway (add a [gateways.NAME] table)")
    shared = _table(defaults, f"{shown}: [defaults]: ", allow_url=False)
    entries: list[GatewayEntry] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}
    for name, table in gateways.items():
        where = f"{shown}: gateway {quote(name)}: "
        if not _NAME.fullmatch(name):
            raise InputError(
                f"{where}a gateway name may hold ASCII letters, digits and . _ - (64 at most)"
            )
        if name.lower() in seen:
            raise InputError(
                f"{where}the name is given twice (also as {quote(seen[name.lower()])})"
            )
        seen[name.lower()] = name
        if not isinstance(table, dict):
            raise InputError(f"{where}must be a table")
        values = {**shared, **_table(table, where, allow_url=True)}
        entry, more = _entry(name, values, path.parent, where)
        entries.append(entry)
        warnings += more
    return Inventory(path, tuple(entries), tuple(warnings))


def route(cells: Iterable[str], inventory: Inventory) -> list[tuple[GatewayEntry, ...] | str]:
    """Each ``gateway`` cell's gateways, or the reason it names none (``unknown-gateway``)."""
    routes: list[tuple[GatewayEntry, ...] | str] = []
    cache: dict[str, tuple[GatewayEntry, ...] | str] = {}
    for cell in cells:
        key = cell.strip()
        if key not in cache:
            try:
                cache[key] = inventory.select(key)
            except UnknownGateway as exc:
                cache[key] = str(exc)
        routes.append(cache[key])
    return routes
