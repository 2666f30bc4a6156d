"""Run the gateway with uvicorn: in the foreground (``serve``) or in a background thread
for the importer's embedded mode (``start_local_gateway``)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import CLOSE_CONNECTION, create_app
from .config import Credentials, GatewayConfig, resolve_credentials
from .errors import SERVER_BUSY, error_body

__all__ = ["GatewayStartError", "RunningGateway", "announce", "serve", "start_local_gateway"]

logger = logging.getLogger("gateway")

#: uvicorn's default sends access lines to stdout; ours keeps stdout for the one
#: "gateway listening on ..." line that scripts and tests read.
_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gateway": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


#: Request headers larger than this close the connection (h11 has its own limit; httptools
#: would otherwise collect headers for as long as a client sends them).
_MAX_HEAD = 64 * 1024
_CLOSING = b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout" + _CLOSING
_TOO_LARGE_431 = b"HTTP/1.1 431 Request Header Fields Too Large" + _CLOSING


_SHUTTING_DOWN = "the gateway is shutting down; retry later"


async def _send_json(send: Any, status: int, body: dict[str, str]) -> None:
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


class _Closable:
    """A uvicorn HTTP protocol, plus a way for the app to close the connection unanswered,
    plus a deadline on request headers.

    ASGI has no "drop this connection" message and uvicorn answers 500 to an app that raises
    before responding, so ``--drop-rate`` needs the transport. This mixin hands the app a
    closer through the scope's ``extensions`` (the ASGI place for server extras).

    uvicorn's ``timeout_keep_alive`` only runs between requests, and only once a first request
    was answered: a client that opens a connection and sends headers one byte at a time
    ("slowloris") holds it for ever. So a request's headers must be complete within
    ``header_timeout`` seconds of the connection opening or of the request's first byte; if
    not, the client gets a 408 and the connection is closed.

    It relies only on the protocol's ``app``, ``transport``, ``loop``, ``client`` and ``cycle``
    attributes, which uvicorn's h11 and httptools protocols both have (a new ``cycle`` starts
    when a request's headers are complete).
    """

    app: Any
    transport: Any
    loop: asyncio.AbstractEventLoop
    client: tuple[str, int] | None
    cycle: Any
    #: Set per server by ``_uvicorn_config``.
    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_cycle: Any = None
        self._head_bytes = 0
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("extensions", {})[CLOSE_CONNECTION] = self._close_unanswered
            started = False

            async def tracked_send(message: Any) -> None:
                nonlocal started
                started = started or message["type"] == "http.response.start"
                await send(message)

            try:
                await inner(scope, receive, tracked_send)
            except asyncio.CancelledError:
                # uvicorn cancels the calls still running when a shutdown's grace period ends
                # (a gateway stopped during a long --latency-ms, or an importer's embedded one
                # on Ctrl-C). Routine: one line, and a 503 the client may retry elsewhere,
                # instead of a traceback and a bare 500.
                logger.info(
                    "cancelled %s %s in progress: the gateway is shutting down",
                    scope.get("method"),
                    scope.get("path"),
                )
                if not started:
                    await _send_json(send, 503, error_body(SERVER_BUSY, _SHUTTING_DOWN))

        self.app = app

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        super().connection_lost(exc)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._await_head()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)  # type: ignore[misc]
        if self._head_timer is None:
            return
        if self.cycle is not self._head_cycle:
            self._head_done()
            return
        self._head_bytes += len(data)
        if self._head_bytes > _MAX_HEAD:
            self._refuse_head(
                f"sent more than {_MAX_HEAD} bytes of request headers", _TOO_LARGE_431
            )

    def _await_head(self) -> None:
        self._head_cycle = self.cycle
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(
            self.header_timeout,
            self._refuse_head,
            f"did not send complete request headers within {self.header_timeout:g} s",
            _TIMEOUT_408,
        )

    def _head_done(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse_head(self, reason: str, answer: bytes) -> None:
        self._head_done()
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        logger.info("closed the connection from %s: it %s", client, reason)
        self.transport.write(answer)
        self.transport.close()

    def _close_unanswered(self) -> None:
        # close(), not abort(): a clean FIN, so the client reliably sees "server disconnected
        # without sending a response" (abort() sometimes shows up as a reset instead). The app
        # waits for uvicorn's disconnect event before returning, and uvicorn drops every send
        # after that, so no response can slip out.
        self.transport.close()


class _ClosableH11Protocol(_Closable, H11Protocol):
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is not installed: h11 (pure Python, slower) does the parsing
    _HTTP_PROTOCOL: type[asyncio.Protocol] = _ClosableH11Protocol
else:

    class _ClosableHttpToolsProtocol(_Closable, HttpToolsProtocol):
        pass

    _HTTP_PROTOCOL = _ClosableHttpToolsProtocol


class _Server(uvicorn.Server):
    """Announces its real URL (port 0 resolved) once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            scheme = "https" if self.config.is_ssl else "http"
            self._on_listening(f"{scheme}://{shown}:{port}")


def _uvicorn_config(
    config: GatewayConfig, credentials: Credentials, log_config: dict[str, Any] | None
) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(config, credentials),
        host=config.host,
        port=config.port,
        # A subclass per server carries its header deadline (uvicorn instantiates the class).
        http=type("_Protocol", (_HTTP_PROTOCOL,), {"header_timeout": config.header_timeout}),
        ws="none",
        # A database that cannot open must stop the server, not leave it answering 500s.
        lifespan="on",
        # No proxy sits in front of this gateway; uvicorn's proxy-header middleware would parse
        # every request's headers from loopback (a trusted host) for nothing.
        proxy_headers=False,
        access_log=config.access_log,
        log_config=log_config,
        timeout_graceful_shutdown=5,
        ssl_certfile=None if config.tls_cert is None else str(config.tls_cert),
        ssl_keyfile=None if config.tls_key is None else str(config.tls_key),
    )


def announce(url: str) -> None:
    """The one stdout line: ``gateway listening on http://127.0.0.1:PORT`` (https with TLS)."""
    print(f"gateway listening on {url}", flush=True)


def serve(config: GatewayConfig, on_listening: Callable[[str], None] = announce) -> None:
    """Run the gateway until SIGINT/SIGTERM. Calls ``on_listening(url)`` once it accepts
    connections (by default: prints the line above). Raises ``ValueError`` for bad
    credentials settings and ``SystemExit`` if uvicorn cannot start."""
    credentials = resolve_credentials(config)
    server = _Server(_uvicorn_config(config, credentials, _LOG_CONFIG), _frozen(on_listening))
    server.run()


def _frozen(on_listening: Callable[[str], None]) -> Callable[[str], None]:
    """``on_listening``, after moving everything that exists at startup (modules, the app)
    out of the garbage collector's sight. Without it, a full collection under load walked all
    of it and stalled every call in flight for about 35 ms, every few seconds. Only for a
    gateway that owns its process: freezing is process-wide."""

    def frozen(url: str) -> None:
        gc.collect()
        gc.freeze()
        on_listening(url)

    return frozen


class GatewayStartError(RuntimeError):
    """The background gateway did not come up (port in use, database unusable, ...)."""


@dataclass(frozen=True)
class RunningGateway:
    """A gateway running in this process; log in with ``user``/``password`` at ``url``."""

    url: str
    config: GatewayConfig
    user: str
    password: str = field(repr=False)


@contextmanager
def start_local_gateway(db: Path, **overrides: Any) -> Iterator[RunningGateway]:
    """Run a gateway on 127.0.0.1 with a free port in a daemon thread for the ``with`` block.

    ``overrides`` are ``GatewayConfig`` fields (``error_rate=0.1``, ``seed=1``, ...). Logging
    is left to the host application (uvicorn's log config is not applied).
    """
    settings: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "db": db, **overrides}
    config = GatewayConfig(**settings)
    credentials = resolve_credentials(config)
    urls: list[str] = []
    ready = threading.Event()
    failure: list[BaseException] = []

    def listening(url: str) -> None:
        urls.append(url)
        ready.set()

    server = _Server(_uvicorn_config(config, credentials, None), listening)

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # SystemExit from a failed startup, too
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="sip-import-gateway", daemon=True)
    thread.start()
    if not ready.wait(timeout=30) or not urls:
        server.should_exit = True
        thread.join(timeout=10)
        reason = f": {failure[0]!r}" if failure else " (see the log)"
        raise GatewayStartError(f"the local gateway did not start{reason}")
    try:
        yield RunningGateway(urls[0], config, credentials.user, credentials.password)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        if thread.is_alive():
            logger.warning("the local gateway thread did not stop within 15 s")
