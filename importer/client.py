"""The gateway client: session login, method calls, retries, rate cap and circuit breaker.

One ``httpx.AsyncClient`` per shard of ``connections_per_client`` connections, each shard with its
own session: httpx's connection pool gets slower as it grows (measured: one client with 32
connections made 333 calls/s, four clients of 8 made 1,270), so a concurrency of 32 uses four
shards.

What is retried (stamina, exponential backoff with jitter, bounded in attempts and seconds):
connection errors, timeouts, dropped connections, HTTP 429/500/502/503/504 (``Retry-After``
honoured). A 500 is retried too: it carries no API answer, so the call did not complete at the API
level, and ``sip_endpoint.save`` is an upsert that is safe to repeat. An API answer
``{"result": "error"}`` is final and never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import stamina

from .config import GatewaySettings, redact_url
from .errors import GatewayUnavailable

__all__ = [
    "ApiError",
    "CallResult",
    "CircuitBreaker",
    "CircuitOpen",
    "GatewayClient",
    "GaveUp",
    "RateLimiter",
    "list_endpoints",
]

logger = logging.getLogger("sip_import.client")

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class ApiError(Exception):
    """The gateway answered ``{"result": "error"}``: final for that call."""

    def __init__(self, error: str, error_key: str, attempts: int) -> None:
        super().__init__(error)
        self.error = error
        self.error_key = error_key
        self.attempts = attempts


class GaveUp(Exception):
    """Every retry of one call failed at the transport level."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class CircuitOpen(Exception):
    """The circuit breaker tripped: no more calls in this run."""


class _Retryable(Exception):
    """A failed attempt worth another try; ``wait`` is the gateway's Retry-After, if any."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class _SessionExpired(Exception):
    pass


@dataclass(frozen=True)
class CallResult:
    response: dict[str, Any]
    attempts: int


class CircuitBreaker:
    """Counts consecutive transport failures across all workers; trips at ``threshold``.

    A gateway that answers at all (success, API error, 429) resets the count: it is busy, not gone.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.consecutive = 0
        self.tripped_reason: str | None = None

    @property
    def open(self) -> bool:
        return self.tripped_reason is not None

    def success(self) -> None:
        self.consecutive = 0

    def failure(self, reason: str) -> None:
        self.consecutive += 1
        if self.consecutive >= self.threshold and self.tripped_reason is None:
            self.tripped_reason = reason


class RateLimiter:
    """Spaces requests at least ``1/rate`` seconds apart across all workers (``--max-rps``)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next_slot = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind a failed connection, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _describe(exc: Exception) -> str:
    tls = _tls_failure(exc)
    if isinstance(tls, ssl.SSLCertVerificationError):
        return (
            "its TLS certificate is not trusted; give the gateway's CA certificate with "
            "--ca-bundle FILE, or --insecure to skip the check"
        )
    if tls is not None and tls.reason == "WRONG_VERSION_NUMBER":
        return "the TLS handshake failed: the gateway does not speak HTTPS there (try http://)"
    if tls is not None:
        return f"the TLS handshake failed ({tls.reason or tls.__class__.__name__})"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or unreachable"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "connection closed without an answer"
    return exc.__class__.__name__


def _tls_context(verify: bool | str) -> ssl.SSLContext | bool:
    """``verify`` as httpx takes it: False (``--insecure``), a context trusting the CA bundle
    given (``--ca-bundle``), or httpx's default context (certifi, or SSL_CERT_FILE)."""
    if verify is False:
        return False
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context()


class _Shard:
    """One httpx client with its own session cookie."""

    def __init__(
        self, settings: GatewaySettings, index: int, connections: int, tls: ssl.SSLContext | bool
    ) -> None:
        self.index = index
        self.settings = settings
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.pool_timeout,
        )
        self.http = httpx.AsyncClient(
            base_url=settings.url,
            limits=limits,
            timeout=timeout,
            verify=tls,
            follow_redirects=False,
        )
        self.session_generation = 0
        self.login_lock = asyncio.Lock()

    async def login(self) -> None:
        creds = self.settings.credentials
        response = await self.http.post(
            self.settings.login_path,
            data={"admin_uid": creds.user, "admin_password": creds.password},
        )
        refused = response.status_code in (401, 403)
        if not refused and "json" in response.headers.get("content-type", ""):
            try:
                refused = response.json().get("result") != "success"
            except (ValueError, AttributeError):
                refused = True
        if refused:
            raise GatewayUnavailable(
                f"the gateway at {redact_url(self.settings.url)} refused the login for user "
                f"{creds.user!r}; check SIP_IMPORT_USER and SIP_IMPORT_PASSWORD"
            )
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code} on login", _retry_after(response))
        if not self.http.cookies:
            raise GatewayUnavailable(
                f"the gateway at {redact_url(self.settings.url)} answered the login without a "
                "session cookie; is --gateway the gateway's address?"
            )
        self.session_generation += 1

    async def relogin(self, seen_generation: int) -> None:
        async with self.login_lock:
            # Another worker on this shard may have logged in again already.
            if self.session_generation == seen_generation:
                self.http.cookies.clear()
                await self.login()

    async def post(self, method: str, parameters: Mapping[str, Any]) -> httpx.Response:
        payload = {"method": method, "parameters": dict(parameters)}
        if self.settings.body == "form":
            return await self.http.post(
                self.settings.api_path, data={"request": json.dumps(payload)}
            )
        return await self.http.post(self.settings.api_path, json=payload)


class GatewayClient:
    """``async with GatewayClient(settings) as client: await client.call(method, params)``."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        per_client = max(1, settings.connections_per_client)
        shards = max(1, -(-settings.concurrency // per_client))
        # One TLS context for every shard: loading the CA store costs about 50 ms each time.
        tls = _tls_context(settings.verify)
        self.shards = [
            _Shard(settings, i, min(per_client, settings.concurrency), tls) for i in range(shards)
        ]
        self.breaker = CircuitBreaker(settings.breaker_threshold)
        self.limiter = RateLimiter(settings.max_rps)
        #: HTTP requests sent per method (retries included), for the run's summary.
        self.requests: Counter[str] = Counter()

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(s.http.aclose() for s in self.shards), return_exceptions=True)

    def shard(self, worker: int) -> _Shard:
        return self.shards[worker % len(self.shards)]

    async def login(self) -> None:
        """Log every shard in; a gateway that cannot be reached or refuses raises
        ``GatewayUnavailable`` within a few seconds."""
        url = redact_url(self.settings.url)

        def worth_retrying(exc: Exception) -> bool:
            # A certificate that is not trusted now will not be trusted in a second either.
            if isinstance(exc, httpx.TransportError):
                return _tls_failure(exc) is None
            return isinstance(exc, _Retryable)

        try:
            async for attempt in stamina.retry_context(
                on=worth_retrying, attempts=3, timeout=8.0, wait_initial=0.2, wait_max=2.0,
            ):  # fmt: skip
                with attempt:
                    await asyncio.gather(*(s.login() for s in self.shards))
        except httpx.TransportError as exc:
            raise GatewayUnavailable(
                f"cannot reach the gateway at {url}: {_describe(exc)}"
            ) from None
        except _Retryable as exc:
            raise GatewayUnavailable(f"the gateway at {url} is failing: {exc.reason}") from None

    async def call(
        self, method: str, parameters: Mapping[str, Any], *, worker: int = 0
    ) -> CallResult:
        """One API call with retries. Raises ApiError (final), GaveUp, or CircuitOpen."""
        shard = self.shard(worker)
        attempts = 0
        relogged = False

        def backoff(exc: Exception) -> bool | float:
            if isinstance(exc, _Retryable):
                return exc.wait if exc.wait is not None else True
            return isinstance(exc, _SessionExpired)

        try:
            async for attempt in stamina.retry_context(
                on=backoff,
                attempts=self.settings.retry_attempts,
                timeout=self.settings.retry_timeout,
                wait_initial=self.settings.retry_wait_initial,
                wait_max=self.settings.retry_wait_max,
                wait_jitter=self.settings.retry_wait_jitter,
            ):
                with attempt:
                    if self.breaker.open:
                        raise CircuitOpen(self.breaker.tripped_reason)
                    attempts += 1
                    self.requests[method] += 1
                    generation = shard.session_generation
                    await self.limiter.wait()
                    try:
                        response = await shard.post(method, parameters)
                    except httpx.TransportError as exc:
                        self.breaker.failure(_describe(exc))
                        raise _Retryable(_describe(exc)) from exc
                    if response.status_code == 401 or _is_login_page(response):
                        if relogged:
                            raise GatewayUnavailable(
                                "the gateway keeps answering 'not logged in' right after a login"
                            )
                        relogged = True
                        await self._relogin(shard, generation)
                        attempts -= 1  # the expired session is not the row's fault
                        raise _SessionExpired()
                    if response.status_code in _RETRY_STATUS:
                        reason = _status_reason(response)
                        if response.status_code == 429:
                            self.breaker.success()
                        else:
                            self.breaker.failure(reason)
                        raise _Retryable(reason, _retry_after(response))
                    self.breaker.success()
                    body = _json_body(response)
                    if body.get("result") == "success":
                        return CallResult(body, attempts)
                    raise ApiError(
                        str(body.get("error") or "the gateway gave no reason"),
                        str(body.get("error_key") or "GATEWAY_ERROR"),
                        attempts,
                    )
        except _Retryable as exc:
            if self.breaker.open:
                raise CircuitOpen(self.breaker.tripped_reason) from None
            raise GaveUp(
                f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}: {exc.reason}",
                attempts,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _relogin(self, shard: _Shard, generation: int) -> None:
        try:
            await shard.relogin(generation)
        except httpx.TransportError as exc:
            self.breaker.failure(_describe(exc))
            raise _Retryable(_describe(exc)) from exc


def _is_login_page(response: httpx.Response) -> bool:
    # Some gateways answer an expired session with their HTML login page instead of a 401.
    return response.status_code == 200 and "text/html" in response.headers.get("content-type", "")


def _status_reason(response: httpx.Response) -> str:
    key = ""
    with contextlib.suppress(ValueError, AttributeError):
        key = str(response.json().get("error_key") or "")
    return f"HTTP {response.status_code}" + (f" {key}" if key else "")


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return {
            "result": "error",
            "error": f"the gateway answered HTTP {response.status_code} without a JSON object",
            "error_key": "MALFORMED_RESPONSE",
        }
    return body


async def list_endpoints(client: GatewayClient) -> list[dict[str, Any]] | None:
    """The gateway's endpoints (``sip_endpoints.list``); None if it has no such method.

    Any other failure is ``GatewayUnavailable``: without the list, nothing can be planned.
    """
    try:
        result = await client.call("sip_endpoints.list", {})
    except ApiError as exc:
        if exc.error_key == "UNKNOWN_METHOD":
            return None
        raise GatewayUnavailable(
            f"the gateway refused to list its endpoints: {exc.error} ({exc.error_key})"
        ) from None
    except (GaveUp, CircuitOpen) as exc:
        raise GatewayUnavailable(f"cannot list the gateway's endpoints: {exc}") from None
    endpoints = result.response.get("sip_endpoints")
    if not isinstance(endpoints, list) or not all(isinstance(e, dict) for e in endpoints):
        raise GatewayUnavailable("the gateway's sip_endpoints.list answer has no endpoint list")
    return endpoints
