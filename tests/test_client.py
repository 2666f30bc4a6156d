"""The gateway client against real servers: timeouts and retry limits from the config file
reach the client, a call that keeps timing out ends with the reason the reports show, and the
session cookie goes with every call (a new one from the gateway replaces it)."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from conftest import TEST_PASSWORD, TEST_USER, GatewayProcess
from helpers import run_cli, write_csv

from importer.config import Credentials, GatewaySettings, resolve_settings
from importer.errors import GatewayUnavailable, InputError
from importer.gateways import client as client_module
from importer.gateways.client import (
    CircuitBreaker,
    CircuitOpen,
    GatewayClient,
    GaveUp,
    RateLimiter,
    _backoff,
    _retry_after,
    _Retryable,
    _SessionExpired,
)

CONFIG = """[gateway]
url = "http://127.0.0.1:9"
user = "u"
password = "p"
connect_timeout = 2
read_timeout = 0.5
pool_timeout = 7.5
retry_attempts = 4
retry_timeout = 30
breaker_threshold = 9
fixed_concurrency = true
"""


def test_timeouts_and_retry_limits_from_the_config_file_reach_the_settings(
    tmp_path: Path,
) -> None:
    config = tmp_path / "sip-import.toml"
    config.write_text(CONFIG)
    config.chmod(0o600)
    settings, _tuning, _warnings = resolve_settings(None, config)
    assert settings is not None
    assert (settings.connect_timeout, settings.read_timeout, settings.pool_timeout) == (
        2.0,
        0.5,
        7.5,
    )
    assert (settings.retry_attempts, settings.retry_timeout, settings.breaker_threshold) == (
        4,
        30.0,
        9,
    )
    assert settings.fixed_concurrency is True


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("read_timeout = 0", "read_timeout must be above 0 seconds"),
        ("read_timeout = -1.5", "read_timeout must be above 0 seconds"),
        ('read_timeout = "soon"', "config file sip-import.toml: read_timeout must be a number"),
        ("retry_attempts = 0", "retry_attempts must be at least 1"),
        (
            "retry_attempts = 2.5",
            "config file sip-import.toml: retry_attempts must be a whole number",
        ),
        ("retry_timeout = 0", "retry_timeout must be above 0 seconds"),
        ("breaker_threshold = -1", "breaker_threshold must be at least 1"),
    ],
)
def test_a_bad_timeout_or_retry_limit_is_one_line_and_exit_2(
    tmp_path: Path, line: str, message: str
) -> None:
    key = line.split(" = ")[0]
    config = "\n".join(
        line if existing.startswith(f"{key} = ") else existing for existing in CONFIG.splitlines()
    )
    (tmp_path / "sip-import.toml").write_text(config + "\n")
    (tmp_path / "sip-import.toml").chmod(0o600)
    sheet = write_csv(tmp_path / "s.csv", [{"name": "a", "host": "dynamic"}])
    proc = run_cli("import", str(sheet), cwd=tmp_path, env={})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {message}"]
    with pytest.raises(InputError):
        resolve_settings(None, tmp_path / "sip-import.toml")


def _import_with_config(
    tmp_path: Path, gateway: GatewayProcess, settings: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Import a one-row sheet with ``settings`` (TOML lines) in the config file's [gateway]."""
    config = (
        f'[gateway]\nurl = "{gateway.url}"\nuser = "{TEST_USER}"\npassword = "{TEST_PASSWORD}"\n'
        + settings
    )
    (tmp_path / "sip-import.toml").write_text(config)
    (tmp_path / "sip-import.toml").chmod(0o600)
    sheet = write_csv(tmp_path / "s.csv", [{"name": "a", "host": "dynamic"}])
    proc = run_cli("import", str(sheet), "--report-dir", "out", cwd=tmp_path, env={})
    return proc, json.loads((tmp_path / "out" / "summary.json").read_text())


def test_retry_attempts_from_the_config_file_bound_a_real_import(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    # The list call cannot answer within read_timeout: the file's 2 attempts are all it gets.
    gateway = gateway_server("--latency-ms", "1500")
    proc, summary = _import_with_config(
        tmp_path, gateway, "read_timeout = 0.3\nretry_attempts = 2\n"
    )
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: cannot list the gateway's endpoints: gave up after 2 attempts: timed out"
    )
    assert summary["requests"] == {"sip_endpoints.list": 2}


def test_a_call_that_keeps_timing_out_gives_up_saying_so(
    gateway_server: Callable[..., GatewayProcess],
) -> None:
    gateway = gateway_server("--latency-ms", "1500")
    settings = GatewaySettings(
        gateway.url, Credentials(TEST_USER, TEST_PASSWORD), concurrency=1
    ).with_overrides(read_timeout=0.3, retry_attempts=2, retry_wait_initial=0.01)

    async def call() -> GaveUp:
        async with GatewayClient(settings) as client:
            await client.login()
            with pytest.raises(GaveUp) as caught:
                await client.call("sip_endpoints.list", {})
            return caught.value

    gave_up = asyncio.run(call())
    assert str(gave_up) == "gave up after 2 attempts: timed out"
    assert gave_up.attempts == 2


class _CookieGateway(BaseHTTPRequestHandler):
    """A real HTTP server speaking just enough of the API to test the session cookie: the
    login sets ``sid=first`` (or no cookie at all), the first API call rotates it to
    ``sid=second``, and every request's Cookie header is kept."""

    login_cookie: ClassVar[str | None] = "sid=first; Path=/; HttpOnly"
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append((self.path, self.headers.get("Cookie", "")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path == "/admin/main.html" and self.login_cookie:
            self.send_header("Set-Cookie", self.login_cookie)
        elif self.path == "/json" and len(self.seen) == 2:
            self.send_header("Set-Cookie", "sid=second; Path=/")
        body = b'{"result": "success", "sip_endpoints": []}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def cookie_gateway() -> Iterator[tuple[str, type[_CookieGateway]]]:
    handler = type("Handler", (_CookieGateway,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _settings(url: str) -> GatewaySettings:
    return GatewaySettings(url, Credentials("u", "p"), concurrency=1)


def test_calls_send_the_session_cookie_and_follow_a_new_one(
    cookie_gateway: tuple[str, type[_CookieGateway]],
) -> None:
    url, handler = cookie_gateway

    async def calls() -> None:
        async with GatewayClient(_settings(url)) as client:
            await client.login()
            for _ in range(3):
                await client.call("sip_endpoints.list", {})

    asyncio.run(calls())
    assert handler.seen == [
        ("/admin/main.html", ""),
        ("/json", "sid=first"),
        ("/json", "sid=second"),
        ("/json", "sid=second"),
    ]


def test_a_login_without_a_session_cookie_is_one_clear_error(
    cookie_gateway: tuple[str, type[_CookieGateway]],
) -> None:
    url, handler = cookie_gateway
    handler.login_cookie = None

    async def login() -> None:
        async with GatewayClient(_settings(url)) as client:
            await client.login()

    with pytest.raises(GatewayUnavailable) as caught:
        asyncio.run(login())
    assert str(caught.value) == (
        f"the gateway at {url} answered the login without a session cookie; "
        "is --gateway the gateway's address?"
    )


class _LongListGateway(BaseHTTPRequestHandler):
    """Answers ``sip_endpoints.list`` with ``ENDPOINTS`` endpoints (several MB) framed as
    ``framing`` says: a Content-Length, chunked, gzip, or cut short after half of it."""

    protocol_version = "HTTP/1.1"
    framing: ClassVar[str] = "length"
    ENDPOINTS: ClassVar[int] = 12_000

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/admin/main.html":
            return self._send(b'{"result": "success"}', {"Set-Cookie": "sid=1; Path=/"})
        endpoints = [
            {"object_id": str(i), "name": f"ext-{i:05d}", "host": "dynamic", "port": "5060"}
            for i in range(self.ENDPOINTS)
        ]
        body = json.dumps({"result": "success", "sip_endpoints": endpoints}).encode()
        if self.framing == "gzip":
            self._send(gzip.compress(body), {"Content-Encoding": "gzip"})
        elif self.framing == "cut":
            self._send(body, {}, cut=len(body) // 2)
        elif self.framing == "chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 100_000):
                part = body[start : start + 100_000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._send(body, {})

    def _send(self, body: bytes, headers: dict[str, str], cut: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:cut])
        if cut is not None:
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("framing", ["length", "chunked", "gzip"])
def test_a_list_of_several_megabytes_is_read_whole_however_it_is_framed(
    framing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Answers past 1 MB are read into one buffer by the transport (importer/gateways/transport.py)
    # rather than by httpx: every framing must give the same endpoints. The list (0.9 MB, less
    # gzipped) is "large" here for every framing, so each one takes that path.
    monkeypatch.setattr("importer.gateways.transport._SMALL_ANSWER", 1_024)
    handler = type("Handler", (_LongListGateway,), {"framing": framing})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = _settings(f"http://127.0.0.1:{server.server_address[1]}")

    async def listed() -> Any:
        async with GatewayClient(settings) as client:
            await client.login()
            return await client_module.list_endpoint_columns(client)

    try:
        columns = asyncio.run(listed())
    finally:
        server.shutdown()
        server.server_close()
    count = _LongListGateway.ENDPOINTS
    assert columns.names == [f"ext-{i:05d}" for i in range(count)]
    assert columns.ids == [str(i) for i in range(count)]
    assert columns.endpoint(count - 1) == {
        "host": "dynamic", "port": "5060", "name": f"ext-{count - 1:05d}",
        "object_id": str(count - 1),
    }  # fmt: skip


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_an_answer_past_the_largest_read_is_refused_in_one_sentence(
    framing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Said by its Content-Length, or found while it is read: either way no more of it is read,
    # and the user reads why, not a memory error.
    monkeypatch.setattr("importer.gateways.transport._SMALL_ANSWER", 1_024)
    monkeypatch.setattr("importer.gateways.transport._LARGEST_ANSWER", 1 << 20)
    handler = type("Handler", (_LongListGateway,), {"framing": framing, "ENDPOINTS": 30_000})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = _settings(f"http://127.0.0.1:{server.server_address[1]}").with_overrides(
        retry_attempts=2, retry_wait_initial=0.01
    )

    async def listed() -> Any:
        async with GatewayClient(settings) as client:
            await client.login()
            return await client_module.list_endpoint_columns(client)

    try:
        with pytest.raises(GatewayUnavailable) as caught:
            asyncio.run(listed())
    finally:
        server.shutdown()
        server.server_close()
    assert str(caught.value) == (
        "cannot list the gateway's endpoints: gave up after 2 attempts: "
        "its answer is larger than 1 MB, the most sip-import reads"
    )


@pytest.mark.parametrize("endpoints", [50, 12_000])
def test_an_answer_cut_short_is_retried_then_named(endpoints: int) -> None:
    # A cut answer must give its connection back: with one connection (concurrency 1) the
    # retry waited for it until the retry budget ran out, then said "timed out".
    handler = type("Handler", (_LongListGateway,), {"framing": "cut", "ENDPOINTS": endpoints})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = _settings(f"http://127.0.0.1:{server.server_address[1]}").with_overrides(
        retry_attempts=2, retry_wait_initial=0.01
    )

    async def listed() -> Any:
        async with GatewayClient(settings) as client:
            await client.login()
            return await client_module.list_endpoint_columns(client)

    try:
        with pytest.raises(GatewayUnavailable) as caught:
            asyncio.run(listed())
    finally:
        server.shutdown()
        server.server_close()
    assert str(caught.value) == (
        "cannot list the gateway's endpoints: gave up after 2 attempts: "
        "connection closed without an answer"
    )


class _HangUpGateway(BaseHTTPRequestHandler):
    """Logs in like a gateway, then closes the connection on every API call without answering
    (as a gateway does when its process dies mid-call)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/admin/main.html":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = b'{"result": "success"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "sid=1; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_gateway_that_hangs_up_without_answering_is_retried_then_named() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HangUpGateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = _settings(url).with_overrides(retry_attempts=3, retry_wait_initial=0.01)

    async def call() -> tuple[GaveUp, dict[str, int]]:
        async with GatewayClient(settings) as client:
            await client.login()
            with pytest.raises(GaveUp) as caught:
                await client.call("sip_endpoint.save", {"name": "a"})
            return caught.value, dict(client.requests)

    try:
        gave_up, requests = asyncio.run(call())
    finally:
        server.shutdown()
        server.server_close()
    # Not "timed out": the transport's own name for a dropped connection is not what users read.
    assert str(gave_up) == "gave up after 3 attempts: connection closed without an answer"
    assert requests == {"sip_endpoint.save": 3}


def test_nothing_listening_is_refused_or_unreachable_at_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = _settings(f"http://127.0.0.1:{port}")

    async def login() -> None:
        async with GatewayClient(settings) as client:
            await client.login()

    with pytest.raises(GatewayUnavailable) as caught:
        asyncio.run(login())
    assert str(caught.value) == (
        f"cannot reach the gateway at http://127.0.0.1:{port}: connection refused or unreachable"
    )


def test_a_locked_out_login_says_so_instead_of_blaming_the_password(
    gateway_server: Callable[..., GatewayProcess],
) -> None:
    gateway = gateway_server()

    async def login(password: str) -> str:
        settings = GatewaySettings(gateway.url, Credentials(TEST_USER, password), concurrency=1)
        try:
            async with GatewayClient(settings) as client:
                await client.login()
        except GatewayUnavailable as exc:
            return str(exc)
        return "logged in"

    wrong = [asyncio.run(login("wrong")) for _ in range(5)]
    assert set(wrong) == {
        f"the gateway at {gateway.url} refused the login for user '{TEST_USER}'; check "
        "SIP_IMPORT_USER and SIP_IMPORT_PASSWORD"
    }
    # The gateway now locks this address out (30 s); even the right password is refused.
    assert asyncio.run(login(TEST_PASSWORD)) == (
        f"the gateway at {gateway.url} refuses logins from this address for now (too many "
        "failed logins); try again in 30 s"
    )


# --- circuit breaker ------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [1, 2, 5, 300])
def test_the_breaker_trips_at_exactly_its_threshold_of_consecutive_failures(
    threshold: int,
) -> None:
    # 300: beyond the small ints CPython shares, a count equal to the threshold is another object.
    breaker = CircuitBreaker(int(str(threshold)))
    for n in range(1, threshold):
        breaker.failure(f"failure {n}")
        assert not breaker.open, n
    breaker.failure("the last straw")
    assert breaker.open
    assert breaker.tripped_reason == "the last straw"
    breaker.failure("later")  # the first reason stays: it is what the run reports
    assert breaker.tripped_reason == "the last straw"


def test_an_answer_resets_the_breaker_count() -> None:
    breaker = CircuitBreaker(3)
    breaker.failure("a")
    breaker.failure("b")
    breaker.success()
    breaker.failure("c")
    breaker.failure("d")
    assert not breaker.open
    breaker.failure("e")
    assert breaker.tripped_reason == "e"


def test_a_call_stops_at_the_breaker_threshold_not_after_it(
    gateway_server: Callable[..., GatewayProcess],
) -> None:
    gateway = gateway_server("--error-rate", "1")  # every API call answers HTTP 500
    settings = GatewaySettings(
        gateway.url, Credentials(TEST_USER, TEST_PASSWORD), concurrency=1
    ).with_overrides(breaker_threshold=3, retry_attempts=10, retry_wait_initial=0.01)

    async def call() -> tuple[CircuitOpen, int]:
        async with GatewayClient(settings) as client:
            await client.login()
            with pytest.raises(CircuitOpen) as caught:
                await client.call("sip_endpoints.list", {})
            return caught.value, client.requests["sip_endpoints.list"]

    tripped, sent = asyncio.run(call())
    assert str(tripped) == "HTTP 500"
    assert sent == 3
    assert gateway.stats()["faults"] == {"error": 3}


def test_breaker_threshold_from_the_config_file_bounds_a_real_import(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server("--error-rate", "1")
    proc, summary = _import_with_config(
        tmp_path, gateway, "breaker_threshold = 4\nretry_attempts = 10\n"
    )
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: cannot list the gateway's endpoints: HTTP 500"
    )
    assert summary["requests"] == {"sip_endpoints.list": 4}
    assert gateway.stats()["faults"] == {"error": 4}


# --- rate cap and retry decisions -----------------------------------------------------------


class _Clock:
    """A clock whose sleeps pass at once: spacing is checked without waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(client_module, "time", fake)
    monkeypatch.setattr(client_module, "asyncio", SimpleNamespace(sleep=fake.sleep))
    return fake


def test_rate_limiter_spaces_calls_one_interval_apart_and_forgets_idle_time(
    clock: _Clock,
) -> None:
    clock.now = 0.125  # just after boot: the waits are slot - now, not anything near it
    limiter = RateLimiter(4)

    async def calls() -> None:
        for _ in range(3):  # back to back: the 2nd and 3rd wait
            await limiter.wait()
        clock.now += 10  # idle: the next call goes at once, no burst is saved up
        await limiter.wait()
        await limiter.wait()

    asyncio.run(calls())
    assert clock.slept == [0.25, 0.25, 0.25]
    assert clock.now == 10.875


@pytest.mark.parametrize("rate", [None, 0])
def test_rate_limiter_without_a_cap_never_waits(clock: _Clock, rate: float | None) -> None:
    limiter = RateLimiter(rate)

    async def calls() -> None:
        for _ in range(5):
            await limiter.wait()

    asyncio.run(calls())
    assert clock.slept == []
    assert limiter.interval == 0


def _answer(retry_after: str | None) -> SimpleNamespace:
    return SimpleNamespace(headers={} if retry_after is None else {"retry-after": retry_after})


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        (None, None),
        ("", None),
        ("3", 3.0),
        ("0.5", 0.5),
        ("0", 0.0),
        ("-2", 0.0),
        ("soon", None),
        ("Thu, 01 Jan 1970 00:16:40 GMT", 0.0),  # the clock's now (1000 s)
        ("Thu, 01 Jan 1970 00:18:40 GMT", 120.0),
        ("Thu, 01 Jan 1970 00:00:01 GMT", 0.0),  # in the past
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(
    clock: _Clock, header: str | None, wait: float | None
) -> None:
    assert _retry_after(_answer(header)) == wait  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("failure", "decision"),
    [
        (_Retryable("HTTP 503"), True),
        (_Retryable("HTTP 429", 2.5), 2.5),
        (_Retryable("HTTP 429", 0.0), 0.0),  # "now" is still the gateway's word
        (_SessionExpired(), True),
        (ValueError("not ours"), False),
    ],
)
def test_backoff_retries_transport_failures_at_the_gateways_pace(
    failure: Exception, decision: bool | float
) -> None:
    assert _backoff(failure) == decision
    assert type(_backoff(failure)) is type(decision)
