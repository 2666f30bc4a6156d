"""httpx's transport for the gateway client: httpx-aiohttp's ``AiohttpTransport``.

The client (``importer/gateways/client.py``) speaks httpx only; this is the one module of the
importer that names aiohttp. httpx's own transport (httpcore) costs about 2.5 ms of CPU a call at
concurrency 32 on this project's 2-core machines, and the client's CPU is what limits the save rate
there; over aiohttp's connection pool and C parser the whole httpx client costs about 0.3 ms
(benchmarks/RESULTS.md, section 3).

Two things are settled here rather than left to the package's defaults:

- The pool: one connection per worker, idle ones closed after 5 s, TLS verified against the
  system's CA store (as OpenSSL sets it up, so ``SSL_CERT_FILE``/``SSL_CERT_DIR`` apply),
  against only ``--ca-bundle``'s CAs when one is given, or not at all with ``--insecure``. No
  cookie jar in aiohttp (httpx keeps the session cookie), and the proxy from the environment
  looked up once.
- What a failure is called. httpx-aiohttp files a dropped connection under ``ConnectTimeout``
  and a read timeout under ``TimeoutException``; the client's retry decisions and the reasons
  users read depend on the class, so every aiohttp failure is turned into the httpx exception
  that says what happened, with the TLS error itself (if any) as its cause.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from urllib.parse import urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from ..config import GatewaySettings

__all__ = ["AnswerTooLarge", "build_transport", "tls_context"]

#: Idle connections close after this many seconds (a gateway may drop them sooner).
_KEEPALIVE = 5.0
#: Answers up to this size (every answer but a long endpoint list) are read by httpx itself.
_SMALL_ANSWER = 1 << 20
#: The most of an answer that is read: a gateway of 1,000,000 endpoints lists them in about
#: 470 MB; past this, the answer is not a gateway's list and would only fill the memory.
_LARGEST_ANSWER = 1 << 30


class AnswerTooLarge(httpx.ProtocolError):
    """The gateway's answer is larger than ``_LARGEST_ANSWER``; nothing more of it is read."""


def tls_context(url: str, verify: bool | str) -> ssl.SSLContext:
    """The TLS context for ``url``: ``--insecure`` (False), ``--ca-bundle`` (a path), or the
    system's CA store (True). A plain-HTTP gateway gets a bare context: loading a CA store costs
    tens of milliseconds and http:// never uses it."""
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if not url.lower().startswith("https:"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return ssl.create_default_context()


def _env_proxy(url: str) -> httpx.Proxy | None:
    """The proxy for ``url`` from HTTP_PROXY / HTTPS_PROXY / ALL_PROXY, unless NO_PROXY
    exempts its host."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    return httpx.Proxy(proxy) if proxy else None


def _tls_error(exc: BaseException) -> ssl.SSLError | None:
    """The ssl module's own error behind a failed connection, if TLS is what failed."""
    seen: BaseException | None = exc
    while seen is not None:
        # aiohttp's TLS errors subclass ssl.SSLError without its fields; they chain the real one.
        if isinstance(seen, ssl.SSLError) and not isinstance(seen, aiohttp.ClientError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _as_httpx(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception that says what an aiohttp failure was."""
    message = str(exc) or exc.__class__.__name__
    tls = _tls_error(exc)
    if tls is not None:
        return httpx.ConnectError(str(tls), request=request)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # waiting for the pool, or connecting
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, asyncio.TimeoutError):  # aiohttp's read timeouts subclass it
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unreachable, name not found
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)  # reset, broken pipe, other socket errors


class _Transport(AiohttpTransport):
    """``AiohttpTransport`` that reads each answer whole (the gateway's are small) so that a
    failure while reading it is translated here too, with the rest of them."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
            try:
                if _length(response) <= _SMALL_ANSWER:
                    await response.aread()
                else:
                    response = await _read_large(response)
            except BaseException:
                # An answer cut short still holds its pool slot until closed: at concurrency 1
                # the retry waited for that slot until the retry budget ran out.
                await response.aclose()
                raise
        except httpx.TransportError as exc:
            cause = exc.__cause__
            if cause is None:
                raise
            raise _as_httpx(cause, request) from _tls_error(cause)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _as_httpx(exc, request) from _tls_error(exc)
        return response


def _length(response: httpx.Response) -> int:
    """The answer's Content-Length; unknown (chunked) counts as large."""
    try:
        return int(response.headers.get("content-length", ""))
    except ValueError:
        return _SMALL_ANSWER + 1


async def _read_large(response: httpx.Response) -> httpx.Response:
    """``response`` read whole into one buffer, as a new response holding it.

    httpx's ``aread`` keeps every 16 KB part until it joins them: for the 47 MB endpoint list
    of a 100,000-endpoint gateway, 3,000 small blocks that the C allocator kept after they were
    freed (35 MB more at the run's peak). Here each part is copied as it comes and dropped.
    """
    too_large = AnswerTooLarge(
        f"its answer is larger than {_LARGEST_ANSWER >> 20:,} MB, the most sip-import reads",
        request=response.request,
    )
    if _length(response) > _LARGEST_ANSWER:
        raise too_large  # said by its Content-Length: not a byte of it is read
    body = bytearray()
    async for part in response.aiter_raw():
        body += part
        if len(body) > _LARGEST_ANSWER:
            raise too_large
    await response.aclose()
    # A Response made from bytes takes them as its content without a copy (a gzip answer is
    # decoded, as ``aread`` would have).
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=bytes(body),
        request=response.request,
        extensions=response.extensions,
    )


def build_transport(settings: GatewaySettings) -> httpx.AsyncBaseTransport:
    """The transport for one run against one gateway: a pool of ``settings.concurrency``
    connections. Its aiohttp session is made on the first request, inside the running loop."""
    context = tls_context(settings.url, settings.verify)

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=settings.concurrency, keepalive_timeout=_KEEPALIVE, ssl=context
        )
        # httpx keeps the cookies: aiohttp's jar would filter them again on every request.
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return _Transport(
        verify=context,
        limits=httpx.Limits(max_connections=settings.concurrency, keepalive_expiry=_KEEPALIVE),
        proxy=_env_proxy(settings.url),
        client=session,
    )
