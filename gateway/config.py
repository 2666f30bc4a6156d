"""Settings of one local gateway: where it listens, where it stores, which faults it injects."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["DEFAULT_DB", "Credentials", "GatewayConfig", "resolve_credentials"]

#: Where ``sip-import gateway`` keeps its database when ``--db`` is not given.
DEFAULT_DB = Path(".sip-import") / "gateway.db"

#: Used only when neither SIP_IMPORT_USER nor SIP_IMPORT_PASSWORD is set (and the gateway says so).
_DEFAULT_USER = "admin"
_DEFAULT_PASSWORD = "admin"


@dataclass(frozen=True)
class GatewayConfig:
    """Everything ``serve`` needs. Fault rates are probabilities per ``POST /json`` call."""

    host: str = "127.0.0.1"
    #: 0 picks a free port; the actual URL is announced once the server accepts connections.
    port: int = 8080
    db: Path = DEFAULT_DB
    #: ``None`` reads SIP_IMPORT_USER / SIP_IMPORT_PASSWORD (see ``resolve_credentials``).
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    #: Seconds a session cookie stays valid after login (absolute, not sliding).
    session_ttl: float = 3600.0
    #: Seed of the one random generator behind every random fault; ``None`` = not reproducible.
    seed: int | None = None
    latency_ms: float = 0.0
    #: Each call waits ``latency_ms`` plus a uniform draw in ``[-jitter_ms, +jitter_ms]`` (>= 0).
    jitter_ms: float = 0.0
    #: HTTP 500 with no JSON body.
    error_rate: float = 0.0
    #: HTTP 503 ``SERVER_BUSY``.
    busy_rate: float = 0.0
    #: Requests per second (token bucket, burst = one second's worth); ``None`` = unlimited.
    rate_limit: float | None = None
    #: The connection is closed without any response.
    drop_rate: float = 0.0
    #: More concurrent ``/json`` calls than this answer 503 ``SERVER_BUSY``; ``None`` = unlimited.
    max_inflight: int | None = None
    #: Drops and 500s happen *after* the method ran (a save is committed, the client hears
    #: nothing or a 500). Default: they happen before, so nothing changed.
    fault_after_commit: bool = False
    #: SQLite ``synchronous`` with WAL. FULL also survives power loss; NORMAL survives any
    #: process crash (SIGKILL) but may lose the last commits on power loss. See README.md.
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    #: uvicorn's per-request access log (off: it costs throughput and floods test logs).
    access_log: bool = False
    #: Serve HTTPS with this PEM certificate (chain) and private key; both or neither.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: A connection must deliver a request's complete headers within this many seconds of its
    #: first byte (or of being opened), else it is closed: slow-header ("slowloris") clients
    #: cannot hold connections open for ever.
    header_timeout: float = 10.0
    #: A request's body must arrive within this many seconds once the app reads it, else the
    #: answer is 408 and the connection is closed.
    body_timeout: float = 10.0

    def __post_init__(self) -> None:
        # Fail at construction, with the flag's name, rather than deep inside the server.
        problems: list[str] = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is not in 0-65535")
        if not self.session_ttl > 0:
            problems.append("session_ttl must be above 0 seconds")
        for name in ("latency_ms", "jitter_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                problems.append(f"{name} must be a number >= 0")
        rates = {n: getattr(self, n) for n in ("error_rate", "busy_rate", "drop_rate")}
        for name, value in rates.items():
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name} must be between 0 and 1")
        # One draw decides the kind, so the rates must fit in [0, 1] together; each is then
        # exactly the asked share of calls instead of being thinned by the others.
        if sum(rates.values()) > 1.0 + 1e-9:
            problems.append("error_rate + busy_rate + drop_rate must not exceed 1")
        for name in ("header_timeout", "body_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                problems.append(f"{name} must be above 0 seconds")
        if self.rate_limit is not None and not (
            math.isfinite(self.rate_limit) and self.rate_limit > 0
        ):
            problems.append("rate_limit must be above 0 requests per second")
        if self.max_inflight is not None and self.max_inflight < 1:
            problems.append("max_inflight must be at least 1")
        if self.synchronous not in ("FULL", "NORMAL"):
            problems.append("synchronous must be FULL or NORMAL")
        if (self.user is None) != (self.password is None):
            problems.append("give both user and password, or neither")
        if (self.tls_cert is None) != (self.tls_key is None):
            problems.append("give both a TLS certificate and its key, or neither")
        for tls_file in (self.tls_cert, self.tls_key):
            if tls_file is not None and not Path(tls_file).is_file():
                problems.append(f"TLS file {tls_file} does not exist")
        if problems:
            raise ValueError("invalid gateway settings: " + "; ".join(problems))

    @property
    def has_latency(self) -> bool:
        return self.latency_ms > 0 or self.jitter_ms > 0


@dataclass(frozen=True)
class Credentials:
    """The one admin account of the local gateway."""

    user: str
    password: str = field(repr=False)
    #: True when neither environment variable was set and admin/admin is in use.
    is_default: bool = False


def resolve_credentials(
    config: GatewayConfig, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Config first, then SIP_IMPORT_USER/SIP_IMPORT_PASSWORD, then admin/admin if both unset.

    Exactly one of the two variables set is an error: silently pairing it with a default would
    make a login fail later for a reason nobody can see.
    """
    if config.user is not None and config.password is not None:
        return Credentials(config.user, config.password)
    env = os.environ if environ is None else environ
    user = env.get("SIP_IMPORT_USER")
    password = env.get("SIP_IMPORT_PASSWORD")
    if user is None and password is None:
        return Credentials(_DEFAULT_USER, _DEFAULT_PASSWORD, is_default=True)
    if user is None or password is None:
        missing = "SIP_IMPORT_USER" if user is None else "SIP_IMPORT_PASSWORD"
        raise ValueError(
            f"{missing} is not set: set both SIP_IMPORT_USER and SIP_IMPORT_PASSWORD, or neither "
            "(then the local gateway uses admin/admin)"
        )
    return Credentials(user, password)
