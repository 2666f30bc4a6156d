"""Login sessions: random cookie tokens with an absolute lifetime, kept in memory.

A restart forgets every session; clients answer the resulting 401 by logging in again,
which is exactly the path SPEC.md section 1 asks them to have.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from .config import Credentials

__all__ = ["COOKIE_NAME", "SessionStore"]

COOKIE_NAME = "sip_import_session"


class SessionStore:
    def __init__(
        self,
        credentials: Credentials,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials = credentials
        self._ttl_s = ttl_s
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def login(self, user: str, password: str) -> str | None:
        """A new session token, or ``None`` for wrong credentials."""
        # compare_digest on bytes: constant time for the content, and it accepts non-ASCII.
        # Both comparisons always run, so timing does not tell which one failed.
        user_ok = secrets.compare_digest(user.encode(), self._credentials.user.encode())
        password_ok = secrets.compare_digest(password.encode(), self._credentials.password.encode())
        if not (user_ok and password_ok):
            return None
        now = self._clock()
        # Forget expired sessions here, so the table cannot grow without bound.
        self._expiry = {t: e for t, e in self._expiry.items() if e > now}
        token = secrets.token_urlsafe(32)
        self._expiry[token] = now + self._ttl_s
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        expiry = self._expiry.get(token)
        if expiry is None:
            return False
        if expiry <= self._clock():
            del self._expiry[token]
            return False
        return True
