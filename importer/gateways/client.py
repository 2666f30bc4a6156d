"""The gateway client: session login, method calls, retries, rate cap and circuit breaker.

HTTP is httpx, as the project's brief names it: one ``httpx.AsyncClient`` for the run, over the
transport that ``importer/gateways/transport.py`` builds (the one module that names the library
underneath). At concurrency 32 the client's CPU is what limits the save rate on a 2-core machine:
httpx's own transport (httpcore) costs about 2.5 ms of CPU a call there; over that transport's
connection pool and C parser the whole client costs about 0.3 ms, within a few per cent of a bare
client of the library underneath (benchmarks/RESULTS.md, section 3). The per-call work is kept
small the way a careful httpx user would: the URLs and headers are built once, requests are built
directly (not through ``build_request``, which merges the client's cookies on every call), and the
session cookie is one header rebuilt only when the gateway sets a new one.

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
import math
import ssl
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx
import stamina

from ..config import GatewaySettings, redact_url
from ..errors import GatewayUnavailable
from .pacing import AdaptiveLimit, FixedLimit, Pacer
from .state import EndpointColumns, UnreadableValue, decode_list_answer
from .transport import AnswerTooLarge, build_transport

__all__ = [
    "ApiError",
    "CallResult",
    "CircuitBreaker",
    "CircuitOpen",
    "GatewayClient",
    "GaveUp",
    "RateLimiter",
    "list_endpoint_columns",
    "list_endpoints",
    "unreadable_list",
]

logger = logging.getLogger("sip_import.client")

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
#: What a request that got no HTTP answer raises (refused, reset, dropped, timed out).
_TRANSPORT_ERRORS = (httpx.TransportError,)


def _user_agent() -> str:
    try:
        return f"sip-import/{version('sip-import')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "sip-import"


_BASE_HEADERS = {"User-Agent": _user_agent()}
_JSON_HEADERS = {**_BASE_HEADERS, "Content-Type": "application/json"}


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
    """The TLS error behind a failed connection, if that is what it was (the transport puts it
    as the cause of the ``httpx.ConnectError``)."""
    cause = exc.__cause__
    return cause if isinstance(cause, ssl.SSLError) else None


def _describe(exc: BaseException) -> str:
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
    if isinstance(exc, AnswerTooLarge):
        return str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or unreachable"
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return "connection closed without an answer"
    return exc.__class__.__name__


def _join(base: str, path: str) -> str:
    """``base`` plus ``path``, the base's own path kept (a gateway under /pbx/ stays there)."""
    return base.rstrip("/") + "/" + path.lstrip("/")


class _SessionCookies(httpx.Cookies):
    """The client's cookie jar, reading only answers that set a cookie: most set none, and
    httpx's extraction builds urllib request and response stand-ins for every answer (about
    25 µs, near a tenth of a call's CPU)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _HttpClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` with ``_SessionCookies`` as its jar."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session_cookies = _SessionCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._session_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:  # what httpx.Cookies() takes
        self._session_cookies = _SessionCookies(cookies)


class _Session:
    """The httpx client (a connection per worker) and the session cookie."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.api_url = httpx.URL(_join(settings.url, settings.api_path))
        self.login_url = httpx.URL(_join(settings.url, settings.login_path))
        self.http = _HttpClient(
            transport=build_transport(settings),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                # Waiting for a free connection of the pool (the transport counts connecting in it).
                pool=settings.pool_timeout,
            ),
            follow_redirects=False,
            # The transport took the proxy from the environment once; httpx's trust_env would
            # mount its own transport for it, and read ~/.netrc.
            trust_env=False,
        )
        self.timeout = self.http.timeout.as_dict()
        #: Request headers for API calls, with the session cookie: (form body, JSON body).
        self._headers: tuple[dict[str, str], dict[str, str]] = (_BASE_HEADERS, _JSON_HEADERS)
        self.session_generation = 0
        self.login_lock = asyncio.Lock()

    def _refresh_headers(self) -> None:
        # The cookie jar decides which cookies go to the API URL, once per Set-Cookie.
        probe = httpx.Request("POST", self.api_url)
        self.http.cookies.set_cookie_header(probe)
        cookie = probe.headers.get("cookie")
        form = {**_BASE_HEADERS, "Cookie": cookie} if cookie else _BASE_HEADERS
        self._headers = (form, {**form, **_JSON_HEADERS})

    async def _send(self, request: httpx.Request) -> httpx.Response:
        request.extensions["timeout"] = self.timeout
        # AsyncClient.send files any Set-Cookie in the client's jar.
        response = await self.http.send(request)
        if "set-cookie" in response.headers:
            self._refresh_headers()
        return response

    async def login(self) -> None:
        creds = self.settings.credentials
        response = await self._send(
            httpx.Request(
                "POST",
                self.login_url,
                headers=_BASE_HEADERS,
                data={"admin_uid": creds.user, "admin_password": creds.password},
            )
        )
        if response.status_code == 429:
            # A login lockout (too many failed logins from here) lasts minutes, not the
            # seconds a retry waits: say so at once rather than blame the password.
            wait = _retry_after(response)
            after = f"; try again in {math.ceil(wait)} s" if wait is not None else ""
            raise GatewayUnavailable(
                f"the gateway at {redact_url(self.settings.url)} refuses logins from this "
                f"address for now (too many failed logins){after}"
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
        if not len(self.http.cookies.jar):
            raise GatewayUnavailable(
                f"the gateway at {redact_url(self.settings.url)} answered the login without a "
                "session cookie; is --gateway the gateway's address?"
            )
        self.session_generation += 1

    async def relogin(self, seen_generation: int) -> None:
        async with self.login_lock:
            # Another worker may have logged in again already.
            if self.session_generation == seen_generation:
                self.http.cookies.clear()
                self._refresh_headers()
                await self.login()

    async def post(self, method: str, parameters: Mapping[str, Any]) -> httpx.Response:
        payload = json.dumps({"method": method, "parameters": dict(parameters)})
        form, json_ = self._headers
        if self.settings.body == "form":
            request = httpx.Request("POST", self.api_url, headers=form, data={"request": payload})
        else:
            request = httpx.Request("POST", self.api_url, headers=json_, content=payload.encode())
        return await self._send(request)


class GatewayClient:
    """``async with GatewayClient(settings) as client: await client.call(method, params)``."""

    def __init__(self, settings: GatewaySettings, *, gate: asyncio.Semaphore | None = None) -> None:
        self.settings = settings
        #: Connections in flight across a whole fleet (``--max-connections``), if any.
        self.gate = gate
        self.session = _Session(settings)
        self.breaker = CircuitBreaker(settings.breaker_threshold)
        self.limiter = RateLimiter(settings.max_rps)
        limit = FixedLimit if settings.fixed_concurrency else AdaptiveLimit
        #: How many calls are in flight at once: learned from the gateway's latency and
        #: refusals, up to ``settings.concurrency`` (importer/pacing.py).
        self.pacer = Pacer(limit(settings.concurrency))
        #: HTTP requests sent per method (retries included), for the run's summary.
        self.requests: Counter[str] = Counter()

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.http.aclose()

    async def login(self) -> None:
        """Log in; a gateway that cannot be reached or refuses raises
        ``GatewayUnavailable`` within a few seconds."""
        url = redact_url(self.settings.url)

        def worth_retrying(exc: Exception) -> bool:
            # A certificate that is not trusted now will not be trusted in a second either.
            if isinstance(exc, _TRANSPORT_ERRORS):
                return _tls_failure(exc) is None
            return isinstance(exc, _Retryable)

        try:
            async for attempt in stamina.retry_context(
                on=worth_retrying, attempts=3, timeout=8.0, wait_initial=0.2, wait_max=2.0,
            ):  # fmt: skip
                with attempt:
                    await self.session.login()
        except _TRANSPORT_ERRORS as exc:
            raise GatewayUnavailable(
                f"cannot reach the gateway at {url}: {_describe(exc)}"
            ) from None
        except _Retryable as exc:
            raise GatewayUnavailable(f"the gateway at {url} is failing: {exc.reason}") from None

    async def call(
        self,
        method: str,
        parameters: Mapping[str, Any],
        decode: Callable[[httpx.Response], dict[str, Any]] | None = None,
    ) -> CallResult:
        """One API call with retries. Raises ApiError (final), GaveUp, or CircuitOpen.

        ``decode`` reads the answer's JSON object (default: ``response.json()``, with an
        answer that is not a JSON object as a MALFORMED_RESPONSE error)."""
        attempt = _Attempt(self, method, parameters, decode or _json_body)
        started = time.monotonic()
        try:
            # The first try runs outside stamina: setting up its retry machinery costs about
            # 40 µs per call, a tenth of a call's whole CPU, and almost every call succeeds.
            try:
                return await attempt()
            except (_Retryable, _SessionExpired) as exc:
                failed: BaseException | None = exc
            # Retries: stamina's first "attempt" re-raises the failure above, so the backoff
            # (Retry-After honoured), the attempt count and the time limit are what they would
            # be had stamina run the first try too.
            async for retry in stamina.retry_context(
                on=_backoff,
                attempts=self.settings.retry_attempts,
                timeout=max(0.0, self.settings.retry_timeout - (time.monotonic() - started)),
                wait_initial=self.settings.retry_wait_initial,
                wait_max=self.settings.retry_wait_max,
                wait_jitter=self.settings.retry_wait_jitter,
            ):
                with retry:
                    if failed is not None:
                        first, failed = failed, None
                        raise first
                    return await attempt()
        except _Retryable as exc:
            if self.breaker.open:
                raise CircuitOpen(self.breaker.tripped_reason) from None
            n = attempt.attempts
            raise GaveUp(
                f"gave up after {n} attempt{'s' if n != 1 else ''}: {exc.reason}", n
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _relogin(self, generation: int) -> None:
        try:
            await self.session.relogin(generation)
        except _TRANSPORT_ERRORS as exc:
            self.breaker.failure(_describe(exc))
            raise _Retryable(_describe(exc)) from exc


def _backoff(exc: Exception) -> bool | float:
    """stamina's ``on``: retry this failure? A float is the gateway's Retry-After."""
    if isinstance(exc, _Retryable):
        return exc.wait if exc.wait is not None else True
    return isinstance(exc, _SessionExpired)


#: Logins one call may ask for before a 'not logged in' answer means the gateway refuses them.
_RELOGINS = 3


class _Attempt:
    """One try of one call (``await attempt()``); counts the tries that are the row's."""

    __slots__ = ("attempts", "client", "decode", "method", "parameters", "relogged")

    def __init__(
        self,
        client: GatewayClient,
        method: str,
        parameters: Mapping[str, Any],
        decode: Callable[[httpx.Response], dict[str, Any]],
    ) -> None:
        self.client = client
        self.method = method
        self.parameters = parameters
        self.decode = decode
        self.attempts = 0
        self.relogged = 0

    async def __call__(self) -> CallResult:
        client, session, method = self.client, self.client.session, self.method
        breaker = client.breaker
        if breaker.open:
            raise CircuitOpen(breaker.tripped_reason)
        self.attempts += 1
        client.requests[method] += 1
        generation = session.session_generation
        await client.limiter.wait()
        pacer, gate = client.pacer, client.gate
        started = await pacer.acquire()
        try:
            if gate is None:
                response = await session.post(method, self.parameters)
            else:
                await gate.acquire()
                started = pacer.clock()  # the fleet's queue is not the gateway's latency
                try:
                    response = await session.post(method, self.parameters)
                finally:
                    gate.release()
        except _TRANSPORT_ERRORS as exc:
            # A timeout is the gateway's load talking; a refused connection says nothing of it.
            pacer.release(started, dropped=True, answered=isinstance(exc, httpx.TimeoutException))
            breaker.failure(_describe(exc))
            raise _Retryable(_describe(exc)) from exc
        except BaseException:  # cancelled (Ctrl-C): the slot is free again
            pacer.release(started, answered=False)
            raise
        status = response.status_code
        pacer.release(started, dropped=status in (429, 503))
        if logger.isEnabledFor(logging.DEBUG):  # the check is cached; a log record is not free
            logger.debug("%s: HTTP %d (attempt %d)", method, status, self.attempts)
        if status == 401 or _is_login_page(response):
            # Another worker's login may be the one this row retries on, and that session may
            # itself run out before the retry is answered (a short session lifetime on a busy
            # host): a few logins a row before the gateway is judged to refuse them all.
            if self.relogged >= _RELOGINS:
                raise GatewayUnavailable(
                    "the gateway keeps answering 'not logged in' right after a login"
                )
            self.relogged += 1
            await client._relogin(generation)
            self.attempts -= 1  # the expired session is not the row's fault
            raise _SessionExpired()
        if status in _RETRY_STATUS:
            reason = _status_reason(response)
            if status == 429:
                breaker.success()
            else:
                breaker.failure(reason)
            raise _Retryable(reason, _retry_after(response))
        breaker.success()
        body = self.decode(response)
        if body.get("result") == "success":
            return CallResult(body, self.attempts)
        raise ApiError(
            str(body.get("error") or "the gateway gave no reason"),
            str(body.get("error_key") or "GATEWAY_ERROR"),
            self.attempts,
        )


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


def _list_body(response: httpx.Response) -> dict[str, Any]:
    """``_json_body`` for ``sip_endpoints.list``, the endpoints read into columns as the
    answer is walked (importer/gateways/state.py)."""
    try:
        return decode_list_answer(response.content)
    except (ValueError, UnicodeDecodeError):
        return _json_body(response)


async def _list(
    client: GatewayClient, decode: Callable[[httpx.Response], dict[str, Any]]
) -> tuple[bool, Any]:
    """(whether the gateway has ``sip_endpoints.list``, its answer's ``sip_endpoints`` as
    ``decode`` reads them). Any other failure is ``GatewayUnavailable``."""
    try:
        result = await client.call("sip_endpoints.list", {}, decode)
    except ApiError as exc:
        if exc.error_key == "UNKNOWN_METHOD":
            return False, None
        raise GatewayUnavailable(
            f"the gateway refused to list its endpoints: {exc.error} ({exc.error_key})"
        ) from None
    except (GaveUp, CircuitOpen) as exc:
        raise GatewayUnavailable(f"cannot list the gateway's endpoints: {exc}") from None
    except UnreadableValue as exc:
        raise GatewayUnavailable(unreadable_list(exc)) from None
    return True, result.response.get("sip_endpoints")


def unreadable_list(exc: UnreadableValue) -> str:
    return f"the gateway's endpoint list holds a value sip-import cannot read: {exc}"


_NO_LIST = "the gateway's sip_endpoints.list answer has no endpoint list"


async def list_endpoints(client: GatewayClient) -> list[dict[str, Any]] | None:
    """The gateway's endpoints (``sip_endpoints.list``); None if it has no such method.

    Any other failure is ``GatewayUnavailable``: without the list, nothing can be planned.
    """
    listed, endpoints = await _list(client, _json_body)
    if not listed:
        return None
    if not isinstance(endpoints, list) or not all(isinstance(e, dict) for e in endpoints):
        raise GatewayUnavailable(_NO_LIST)
    return endpoints


async def list_endpoint_columns(client: GatewayClient) -> EndpointColumns | None:
    """``list_endpoints`` as ``EndpointColumns``, never holding the endpoints as dicts."""
    listed, endpoints = await _list(client, _list_body)
    if not listed:
        return None
    if not isinstance(endpoints, EndpointColumns):
        raise GatewayUnavailable(_NO_LIST)
    return endpoints
