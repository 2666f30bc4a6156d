"""Settings: where the gateway is, how to talk to it, and whose credentials to use.

Credentials come from ``SIP_IMPORT_USER`` / ``SIP_IMPORT_PASSWORD`` or from a config file
(``sip-import.toml`` in the working directory, or ``--config FILE``), never from a flag: flags show
up in ``ps`` and in shell history.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from schemas.text import quote

from .errors import InputError

__all__ = [
    "DEFAULT_CONFIG",
    "KIND_WORDS",
    "OPTION_KEYS",
    "Credentials",
    "GatewaySettings",
    "check_options",
    "check_url",
    "load_config",
    "redact_url",
    "resolve_settings",
]

DEFAULT_CONFIG = Path("sip-import.toml")
Body = Literal["json", "form"]


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)

    def __repr__(self) -> str:  # never show the password, even in a debugger or a log
        return f"Credentials(user={self.user!r}, password='********')"


@dataclass(frozen=True)
class GatewaySettings:
    """How to reach one gateway. Every wire detail SPEC.md marks as assumed is a setting here."""

    url: str
    credentials: Credentials
    body: Body = "json"
    api_path: str = "/json"
    login_path: str = "/admin/main.html"
    #: True, False (``--insecure``) or a CA bundle path (``--ca-bundle``).
    verify: bool | str = True
    #: The most calls in flight at once: the ceiling of the adaptive pace (importer/pacing.py),
    #: or the pace itself with ``fixed_concurrency``.
    concurrency: int = 8
    fixed_concurrency: bool = False
    max_rps: float | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    pool_timeout: float = 60.0
    #: Bounds of the retries of one call (attempts, and seconds from the first attempt).
    retry_attempts: int = 15
    retry_timeout: float = 120.0
    retry_wait_initial: float = 0.05
    retry_wait_max: float = 3.0
    #: Random extra wait added to each backoff, so workers that failed together spread out.
    retry_wait_jitter: float = 0.05
    #: Consecutive transport failures (any worker) that stop the run.
    breaker_threshold: int = 25

    def with_overrides(self, **changes: Any) -> GatewaySettings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def redact_url(url: str) -> str:
    """The URL without any user:password@ part, for logs and reports."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class FileConfig:
    """What a config file says; every field optional."""

    path: Path | None = None
    url: str | None = None
    credentials: Credentials | None = None
    options: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: ``inventory = "fleet.toml"`` (top level): a fleet's gateways, relative to the file.
    inventory: Path | None = None


OPTION_KEYS = {
    "body": str, "api_path": str, "login_path": str, "ca_bundle": str, "insecure": bool,
    "concurrency": int, "fixed_concurrency": bool, "max_rps": float,
    "connect_timeout": float, "read_timeout": float, "pool_timeout": float,
    "retry_attempts": int, "retry_timeout": float, "breaker_threshold": int,
}  # fmt: skip
KIND_WORDS = {str: "text", bool: "true or false", int: "a whole number", float: "a number"}


def load_config(path: Path | None) -> FileConfig:
    """Read ``[gateway]`` from ``path`` or, when ``path`` is None, from ./sip-import.toml if any."""
    explicit = path is not None
    path = path or DEFAULT_CONFIG
    if not path.exists():
        if explicit:
            raise InputError(f"config file {path} does not exist")
        return FileConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"config file {path} cannot be read ({exc.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"config file {path} is not valid TOML: {exc}") from None
    section = data.get("gateway", {})
    if not isinstance(section, dict):
        raise InputError(f"config file {path}: [gateway] must be a table")
    warnings = []
    credentials = None
    if "password" in section or "user" in section:
        if not isinstance(section.get("user"), str) or not isinstance(section.get("password"), str):
            raise InputError(f"config file {path}: [gateway] needs both user and password as text")
        credentials = Credentials(section["user"], section["password"])
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.append(
                f"{path} holds a password and other users can read it; run: chmod 600 {path}"
            )
    options = {}
    for key, kind in OPTION_KEYS.items():
        if key in section:
            value = section[key]
            if kind is float and isinstance(value, int):
                value = float(value)
            if not isinstance(value, kind):
                raise InputError(f"config file {path}: {key} must be {KIND_WORDS[kind]}")
            options[key] = value
    url = section.get("url")
    if url is not None and not isinstance(url, str):
        raise InputError(f"config file {path}: url must be text")
    inventory = data.get("inventory")
    if inventory is not None and not isinstance(inventory, str):
        raise InputError(f"config file {path}: inventory must be text (a file name)")
    return FileConfig(
        path,
        url,
        credentials,
        options,
        tuple(warnings),
        path.parent / Path(inventory).expanduser() if inventory else None,
    )


def configured_inventory(config_path: Path | None) -> Path | None:
    """The inventory a config file names (``inventory = "fleet.toml"``), if any."""
    return load_config(config_path).inventory


def env_credentials() -> Credentials | None:
    user = os.environ.get("SIP_IMPORT_USER")
    password = os.environ.get("SIP_IMPORT_PASSWORD")
    if user is None and password is None:
        return None
    if not user or password is None:
        raise InputError("set both SIP_IMPORT_USER and SIP_IMPORT_PASSWORD, or neither")
    return Credentials(user, password)


def check_options(options: dict[str, Any], where: str = "") -> tuple[bool | str, list[str]]:
    """Check the tuning options in place (``where`` prefixes each message: which file and
    gateway); pops ``insecure`` and ``ca_bundle`` and returns what TLS verifies against, and
    warnings for the user. A relative ``ca_bundle`` is as the caller resolved it."""
    if options.get("body", "json") not in ("json", "form"):
        raise InputError(f"{where}body must be json or form")

    def name(key: str) -> str:  # a file's key, or the flag that sets it
        return f"{where}{key}" if where else "--" + key.replace("_", "-")

    if options.get("concurrency", 8) < 1:
        raise InputError(f"{name('concurrency')} must be at least 1")
    if options.get("max_rps") is not None and options["max_rps"] <= 0:
        raise InputError(f"{name('max_rps')} must be above 0")
    for key in ("connect_timeout", "read_timeout", "pool_timeout", "retry_timeout"):
        if key in options and not options[key] > 0:
            raise InputError(f"{where}{key} must be above 0 seconds")
    for key in ("retry_attempts", "breaker_threshold"):
        if key in options and options[key] < 1:
            raise InputError(f"{where}{key} must be at least 1")
    warnings = []
    verify: bool | str = True
    if options.pop("insecure", False):
        verify = False
        warnings.append(
            f"{where}TLS certificate checks are off" + ("" if where else " (--insecure)")
        )
    elif "ca_bundle" in options:
        bundle = Path(options["ca_bundle"])
        if not bundle.is_file():
            raise InputError(f"{where}CA bundle {bundle} does not exist")
        verify = str(bundle)
    options.pop("ca_bundle", None)
    return verify, warnings


def check_url(url: str, where: str = "") -> None:
    """A gateway address must be an http(s) URL with a host and without credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"{where}gateway address {quote(redact_url(url))} is not a URL such as https://10.0.0.5"
        )
    if parts.username or parts.password:
        raise InputError(
            f"{where}put the gateway credentials in environment variables, not in the URL"
            if where
            else "put the gateway credentials in SIP_IMPORT_USER and SIP_IMPORT_PASSWORD, not in "
            "the URL"
        )


def resolve_settings(
    gateway: str | None,
    config_path: Path | None = None,
    *,
    body: str | None = None,
    api_path: str | None = None,
    ca_bundle: Path | None = None,
    insecure: bool = False,
    concurrency: int | None = None,
    fixed_concurrency: bool = False,
    max_rps: float | None = None,
) -> tuple[GatewaySettings | None, dict[str, Any], list[str]]:
    """Settings for a remote gateway, or ``None`` for the embedded one, plus the tuning that
    applies either way and warnings for the user.

    The URL comes from ``--gateway``, then ``SIP_IMPORT_GATEWAY``, then the config file.
    """
    file = load_config(config_path)
    warnings = list(file.warnings)
    options = dict(file.options)
    if body is not None:
        options["body"] = body
    if api_path is not None:
        options["api_path"] = api_path
    if ca_bundle is not None:
        options["ca_bundle"] = str(ca_bundle)
    if insecure:
        options["insecure"] = True
    if concurrency is not None:
        options["concurrency"] = concurrency
    if fixed_concurrency:
        options["fixed_concurrency"] = True
    if max_rps is not None:
        options["max_rps"] = max_rps
    verify, more_warnings = check_options(options)
    warnings += more_warnings
    tuning: dict[str, Any] = {**options, "verify": verify}

    url = gateway or os.environ.get("SIP_IMPORT_GATEWAY") or file.url
    if not url:
        return None, tuning, warnings
    check_url(url)
    credentials = env_credentials() or file.credentials
    if credentials is None:
        raise InputError(
            f"no credentials for {url}: set SIP_IMPORT_USER and SIP_IMPORT_PASSWORD, or put user "
            f"and password under [gateway] in {DEFAULT_CONFIG}"
        )
    return GatewaySettings(url.rstrip("/"), credentials).with_overrides(**tuning), tuning, warnings
