"""The Starlette app: login, ``POST /json`` with fault injection, sip.conf and stats.

Order of events for one ``POST /json`` (the README's fault table follows it):

1. session check (401): an anonymous call is answered at once and spends nothing (no draw, no
   rate-limit token, no in-flight slot, no latency);
2. draw the call's random fate (kind, delay) — for every logged-in call, so ``--seed`` replays
   by arrival order;
3. rate limit (429) and in-flight cap (503): rejected before anything else happens;
4. the capacity queue (``--capacity``): the call waits for one of N places; steps 5-7 run in
   that place, so the injected latency is service time and waiting adds to it;
5. injected latency;
6. the drawn fault (drop / 500 / 503), unless ``fault_after_commit`` defers drop and 500;
7. request parsing (400), method lookup, the method itself;
8. with ``fault_after_commit``: the deferred drop or 500 replaces the method's answer.

So by default a faulted call changed nothing; with ``fault_after_commit`` it ran (a save is
committed) and the client does not hear about it.

Hostile input is refused at two layers, whatever its shape: parsing (invalid JSON, nesting
deeper than ``_MAX_DEPTH``, a body that does not arrive in time) and the method layer, where
the exception classes a value can raise when it cannot be used at all (``OverflowError``,
``ValueError``, e.g. a number too large for SQLite) become ``INVALID_PARAMETER``. Both answer
HTTP 400 in the SPEC's error shape; neither reaches uvicorn as a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from schemas.text import quote

from .config import Credentials, GatewayConfig, resolve_credentials
from .errors import (
    INVALID_PARAMETER,
    LOGIN_FAILED,
    MALFORMED_REQUEST,
    NOT_LOGGED_IN,
    RATE_LIMITED,
    SERVER_BUSY,
    UNKNOWN_METHOD,
    ApiError,
    error_body,
)
from .faults import Draw, FaultInjector, FaultKind, InflightLimiter, TokenBucket
from .methods import METHODS
from .sessions import COOKIE_NAME, SessionStore
from .sipconf import UnsafeConfigValue, render_sip_conf
from .stats import Stats
from .store import Store, all_rows
from .throttle import LoginThrottle

__all__ = ["CLOSE_CONNECTION", "DELAY_HEADER", "create_app"]

logger = logging.getLogger("gateway")

#: ASGI scope extension holding a callable that closes the connection without a response.
#: ``server.py`` provides it under uvicorn; ASGI has no standard way to do this.
CLOSE_CONNECTION = "sip_import.close_connection"
#: Response header with the injected delay (ms), so tests can check that a seed replays it.
DELAY_HEADER = "X-Injected-Delay-Ms"
#: No SPEC request comes near this; larger bodies are refused (413) before they are parsed.
_MAX_BODY = 1 << 20
_FORM = "application/x-www-form-urlencoded"
#: The deepest SPEC request is 4 levels (call, parameters, audio_codecs, one codec); anything
#: much deeper is refused before any code walks it (recursive reprs would overflow the stack).
_MAX_DEPTH = 16
#: SQLite's INTEGER holds 19 digits; JSON numbers longer than that are refused while parsing.
_MAX_DIGITS = 19
#: Quoted exception texts are cut here, so an answer cannot echo a huge value back.
_MAX_QUOTE = 200


def _json_error(
    key: str, message: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(key, message), status_code=status, headers=headers)


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _cap(text: str) -> str:
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1] + "…"


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _whole_number(text: str) -> int:
    # Checked before int() runs: int() of a few thousand digits fails with a message about
    # sys.set_int_max_str_digits, and anything past SQLite's 19 digits is useless anyway.
    digits = len(text.lstrip("-"))
    if digits > _MAX_DIGITS:
        raise ApiError(
            INVALID_PARAMETER,
            f"the request holds a number of {digits} digits; at most {_MAX_DIGITS} are allowed",
            400,
        )
    return int(text)


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests deeper than ``_MAX_DEPTH``; iterative, so any depth is safe."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > _MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _loads(text: str) -> Any:
    too_deep = ApiError(
        MALFORMED_REQUEST, f"the request is nested deeper than {_MAX_DEPTH} levels", 400
    )
    try:
        # NaN and Infinity are Python's extensions, not JSON.
        value = json.loads(text, parse_constant=_not_json, parse_int=_whole_number)
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:
        raise ApiError(
            MALFORMED_REQUEST, f"the request is not valid JSON: {_cap(str(exc))}", 400
        ) from exc
    # Counting brackets (in C) spares the walk for every ordinary request; strings holding
    # brackets only make it walk when it need not.
    if text.count("[") + text.count("{") > _MAX_DEPTH and _too_deep(value):
        raise too_deep
    return value


def _parse_form(body: bytes) -> dict[str, list[str]]:
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise ApiError(MALFORMED_REQUEST, "the form is not valid UTF-8", 400) from exc


async def _read_body(request: Request, timeout_s: float) -> bytes:
    """The whole body, or 408 when it does not arrive within ``timeout_s`` (a stalled or
    trickling upload must not hold the call, or its in-flight slot, for ever)."""
    try:
        async with asyncio.timeout(timeout_s):
            return await request.body()
    except TimeoutError:
        raise ApiError(
            MALFORMED_REQUEST, f"the request body did not arrive within {timeout_s:g} s", 408
        ) from None


def _parse_call(body: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """``{"method", "parameters"}`` from a JSON body or from the form field ``request``."""
    if content_type == _FORM:
        field = _parse_form(body).get("request")
        if not field:
            raise ApiError(MALFORMED_REQUEST, "the form has no 'request' field", 400)
        text = field[0]
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(MALFORMED_REQUEST, "the body is not valid UTF-8", 400) from exc
    call = _loads(text)
    if not isinstance(call, dict):
        raise ApiError(
            MALFORMED_REQUEST, 'the request must be a JSON object {"method", "parameters"}', 400
        )
    method = call.get("method")
    if not isinstance(method, str):
        raise ApiError(MALFORMED_REQUEST, "'method' must be a string", 400)
    params = call.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ApiError(MALFORMED_REQUEST, "'parameters' must be a JSON object", 400)
    return method, params


class _Gateway:
    """State of one running gateway; its bound methods are the routes."""

    def __init__(self, config: GatewayConfig, credentials: Credentials) -> None:
        self.config = config
        self.credentials = credentials
        self.store = Store(config.db, config.synchronous)
        self.sessions = SessionStore(credentials, config.session_ttl)
        self.faults = FaultInjector(config)
        self.bucket = TokenBucket(config.rate_limit) if config.rate_limit else None
        self.inflight = InflightLimiter(config.max_inflight)
        self.capacity = asyncio.Semaphore(config.capacity) if config.capacity else None
        self.logins = LoginThrottle()
        self.stats = Stats()

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self.credentials.is_default:
            # Said once per start, at startup (when the server's logging is configured).
            logger.warning(
                "SIP_IMPORT_USER and SIP_IMPORT_PASSWORD are not set: "
                "the local gateway accepts user 'admin' with password 'admin'"
            )
        await self.store.open()
        try:
            yield
        finally:
            await self.store.close()

    def _logged_in(self, request: Request) -> bool:
        return self.sessions.valid(request.cookies.get(COOKIE_NAME))

    @staticmethod
    def _not_logged_in() -> JSONResponse:
        return _json_error(NOT_LOGGED_IN, "not logged in", 401)

    @staticmethod
    def _refused(exc: ApiError) -> JSONResponse:
        # After a 408 the rest of the body may still be on its way: the connection cannot
        # carry another request, so uvicorn closes it after this answer.
        headers = {"Connection": "close"} if exc.status == 408 else None
        return JSONResponse(exc.body(), exc.status, headers=headers)

    # -- POST /admin/main.html ------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        address = request.client.host if request.client else ""
        if (wait := self.logins.retry_after(address)) is not None:
            # Refused before the password is even read: guessing during a lockout gains nothing.
            return _json_error(
                RATE_LIMITED,
                f"too many failed logins from {address}; retry in {wait} s",
                429,
                {"Retry-After": str(wait)},
            )
        # Only urlencoded forms: that is what browsers and httpx's data= send, and it keeps
        # python-multipart out of the dependencies.
        try:
            body = await _read_body(request, self.config.body_timeout)
            if body and _content_type(request) != _FORM:
                raise ApiError(
                    MALFORMED_REQUEST, f"send admin_uid and admin_password as {_FORM}", 400
                )
            form = _parse_form(body)
        except ApiError as exc:
            return self._refused(exc)
        user = (form.get("admin_uid") or [""])[0]
        password = (form.get("admin_password") or [""])[0]
        token = self.sessions.login(user, password)
        if token is None:
            self.logins.failed(address)
            # 401, not 200: a client that ignores the body must still not believe it is in.
            return _json_error(LOGIN_FAILED, "login failed: wrong user name or password", 401)
        self.logins.succeeded(address)
        response = JSONResponse({"result": "success"})
        response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=math.ceil(self.config.session_ttl),
            httponly=True,
            samesite="strict",
        )
        return response

    # -- POST /json -----------------------------------------------------------------------------

    async def call(self, request: Request) -> Response:
        if not self._logged_in(request):
            return self._not_logged_in()
        draw = self.faults.draw()
        if self.bucket is not None and (wait := self.bucket.take()) is not None:
            self.stats.faults["rate_limit"] += 1
            return _json_error(
                RATE_LIMITED,
                f"more than {self.config.rate_limit:g} requests per second; slow down",
                429,
                {"Retry-After": TokenBucket.retry_after(wait)},
            )
        if not self.inflight.try_enter():
            self.stats.faults["max_inflight"] += 1
            return _json_error(
                SERVER_BUSY, f"more than {self.inflight.limit} calls in progress; retry later", 503
            )
        try:
            if self.capacity is None:
                return await self._serve(request, draw)
            async with self.capacity:
                return await self._serve(request, draw)
        finally:
            self.inflight.leave()

    async def _serve(self, request: Request, draw: Draw) -> Response:
        """Steps 5-8 of the module's docstring."""
        if self.config.has_latency and draw.delay_s > 0:
            self.stats.faults["latency"] += 1
            await asyncio.sleep(draw.delay_s)
        deferred = self.config.fault_after_commit and draw.kind in ("drop", "error")
        if draw.kind is not None and not deferred:
            return await self._inject(request, draw.kind)
        response = await self._dispatch(request)
        if deferred and draw.kind is not None:
            return await self._inject(request, draw.kind)
        if self.config.has_latency:
            response.headers[DELAY_HEADER] = f"{draw.delay_s * 1000:.3f}"
        return response

    async def _inject(self, request: Request, kind: FaultKind) -> Response:
        self.stats.faults[kind] += 1
        if kind == "busy":
            return _json_error(SERVER_BUSY, "the gateway is busy; retry later", 503)
        if kind == "error":
            # A bare 500 without the SPEC's JSON, like a crashing web stack would send.
            return PlainTextResponse("Internal Server Error", status_code=500)
        return await self._drop(request)

    async def _drop(self, request: Request) -> Response:
        close = request.scope.get("extensions", {}).get(CLOSE_CONNECTION)
        if close is None:
            # Not under our uvicorn protocol: the server turns this into a 500 or a reset.
            raise RuntimeError("injected drop: this ASGI server cannot close connections")
        close()
        # Wait until the server has noticed the closed transport; from then on it discards
        # whatever the app sends, so the client gets no response at all.
        receive = request.receive

        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        await asyncio.wait_for(until_disconnect(), timeout=5)
        return Response(status_code=500)

    async def _dispatch(self, request: Request) -> Response:
        try:
            body = await _read_body(request, self.config.body_timeout)
            name, params = _parse_call(body, _content_type(request))
            method = METHODS.get(name)
            if method is None:
                known = ", ".join(METHODS)
                raise ApiError(UNKNOWN_METHOD, f"unknown method {quote(name)} (known: {known})")
            self.stats.calls[method.name] += 1
            try:
                method.check(params)
                run = self.store.write if method.writes else self.store.read
                if method.encoded is not None:
                    encoded = method.encoded
                    body = await run(lambda conn: encoded(conn, params))
                    return Response(body, media_type="application/json")
                result = await run(lambda conn: method.apply(conn, params))
            except (OverflowError, ValueError) as exc:
                # A value the checks let through that cannot be used at all (a number too
                # large for SQLite or for int()): the client's fault, whichever value it was.
                logger.info("refused a %s call: %s", method.name, _cap(str(exc)))
                raise ApiError(
                    INVALID_PARAMETER, f"a parameter value cannot be used: {_cap(str(exc))}", 400
                ) from exc
        except ApiError as exc:
            return self._refused(exc)
        if method.name == "sip_endpoint.save":
            self.stats.saves_by_name[params["name"]] += 1
        return JSONResponse(result)

    # -- GET /admin/sip.conf, GET /admin/stats -------------------------------------------------

    async def sip_conf(self, request: Request) -> Response:
        if not self._logged_in(request):
            return self._not_logged_in()
        rows = await self.store.read(all_rows)
        try:
            text = render_sip_conf(row.to_wire() for row in rows)
        except UnsafeConfigValue as exc:
            logger.error("refusing to render sip.conf: %s", exc)
            return PlainTextResponse(f"refusing to render sip.conf: {exc}\n", status_code=500)
        return PlainTextResponse(text)

    async def stats_view(self, request: Request) -> Response:
        if not self._logged_in(request):
            return self._not_logged_in()
        return JSONResponse(self.stats.snapshot())


async def _client_gone(request: Request, exc: Exception) -> Response:
    """A client that hung up mid-call (an importer stopped with Ctrl-C) is routine: one info
    line, no traceback. The response goes nowhere; uvicorn drops it."""
    client = f"{request.client.host}:{request.client.port}" if request.client else "a client"
    logger.info(
        "%s disconnected before %s %s was answered", client, request.method, request.url.path
    )
    return Response(status_code=400)


def create_app(config: GatewayConfig, credentials: Credentials | None = None) -> Starlette:
    """The local gateway as an ASGI app. The database opens on lifespan startup."""
    if credentials is None:
        credentials = resolve_credentials(config)
    gateway = _Gateway(config, credentials)
    routes = [
        Route("/admin/main.html", gateway.login, methods=["POST"]),
        Route("/json", gateway.call, methods=["POST"]),
        Route("/admin/sip.conf", gateway.sip_conf, methods=["GET"]),
        Route("/admin/stats", gateway.stats_view, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=gateway.lifespan,
        max_body_size=_MAX_BODY,
        exception_handlers={ClientDisconnect: _client_gone},
    )
