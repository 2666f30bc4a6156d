"""``python -m gateway``: the local gateway without the importer's CLI (tests, scripts).

Prints exactly one stdout line, ``gateway listening on http://HOST:PORT``, once it accepts
connections; everything else goes to stderr. Credentials come from SIP_IMPORT_USER /
SIP_IMPORT_PASSWORD (admin/admin when both are unset), never from flags.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import DEFAULT_DB, GatewayConfig
from .server import serve

__all__ = ["main", "parse_args"]


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a probability between 0 and 1")
    return value


def parse_args(argv: Sequence[str] | None = None) -> GatewayConfig:
    parser = argparse.ArgumentParser(
        prog="python -m gateway", description="Run the sip-import local gateway."
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    add("--port", type=int, default=8080, help="port; 0 picks a free one (default 8080)")
    add("--db", type=Path, default=DEFAULT_DB, help=f"SQLite file (default {DEFAULT_DB})")
    add("--session-ttl", type=float, default=3600.0, help="session lifetime in seconds")
    add("--seed", type=int, default=None, help="seed for reproducible faults")
    add("--latency-ms", type=float, default=0.0, help="added delay per call")
    add("--jitter-ms", type=float, default=0.0, help="delay varies by +/- this much")
    add("--error-rate", type=_rate, default=0.0, help="share of calls answered HTTP 500")
    add("--busy-rate", type=_rate, default=0.0, help="share of calls answered 503 SERVER_BUSY")
    add("--rate-limit", type=float, default=None, help="requests per second (429 beyond)")
    add("--drop-rate", type=_rate, default=0.0, help="share of calls closed without an answer")
    add("--max-inflight", type=int, default=None, help="503 beyond this many concurrent calls")
    add(
        "--fault-after-commit",
        action="store_true",
        help="drops and 500s happen after the call ran (a save is committed)",
    )
    add(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite synchronous mode (FULL also survives power loss)",
    )
    add(
        "--header-timeout",
        type=float,
        default=10.0,
        help="seconds a request's headers may take to arrive (default 10; then 408, closed)",
    )
    add(
        "--body-timeout",
        type=float,
        default=10.0,
        help="seconds a request's body may take to arrive (default 10; then 408, closed)",
    )
    add("--access-log", action="store_true", help="log every request to stderr")
    add("--tls-cert", type=Path, default=None, help="serve HTTPS with this PEM certificate")
    add("--tls-key", type=Path, default=None, help="the private key of --tls-cert (PEM)")
    args = parser.parse_args(argv)
    try:
        return GatewayConfig(
            host=args.host,
            port=args.port,
            db=args.db,
            session_ttl=args.session_ttl,
            seed=args.seed,
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            error_rate=args.error_rate,
            busy_rate=args.busy_rate,
            rate_limit=args.rate_limit,
            drop_rate=args.drop_rate,
            max_inflight=args.max_inflight,
            fault_after_commit=args.fault_after_commit,
            synchronous=args.synchronous,
            access_log=args.access_log,
            header_timeout=args.header_timeout,
            body_timeout=args.body_timeout,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
        )
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    try:
        serve(config)
    except ValueError as exc:  # e.g. only one of the two credential variables set
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
