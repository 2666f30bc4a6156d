"""Login throttling per client address: password guessing gets slower the longer it goes on.

After ``failures`` failed logins within ``window_s`` an address is locked out for
``lockout_s``; each failure after a lockout ended locks it again for twice as long as the
last time (up to ``max_lockout_s``). While locked out, logins are refused with 429 and
``Retry-After`` without looking at the password, so guessing gains nothing and a client that
honours ``Retry-After`` is never punished for its retry. A successful login forgets the
address; so does a quiet ``window_s`` after the last lockout ended.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoginThrottle"]

#: Above this many tracked addresses, forgotten ones are swept out on the next failure, so
#: failures from many addresses cannot grow the table without bound.
_SWEEP_ABOVE = 10_000


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    lockouts: int = 0
    until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        failures: int = 5,
        window_s: float = 60.0,
        lockout_s: float = 30.0,
        max_lockout_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_lockout_s = max_lockout_s
        self._clock = clock
        self._records: dict[str, _Record] = {}

    def retry_after(self, address: str) -> int | None:
        """Whole seconds until ``address`` may try again (rounded up), or ``None`` if it may
        try now."""
        record = self._records.get(address)
        if record is None:
            return None
        remaining = record.until - self._clock()
        return math.ceil(remaining) if remaining > 0 else None

    def failed(self, address: str) -> None:
        now = self._clock()
        if len(self._records) > _SWEEP_ABOVE:
            self._records = {a: r for a, r in self._records.items() if not self._stale(r, now)}
        record = self._records.get(address)
        if record is None or self._stale(record, now):
            record = self._records[address] = _Record()
        record.failures.append(now)
        while record.failures and record.failures[0] <= now - self.window_s:
            record.failures.popleft()
        if record.lockouts or len(record.failures) >= self.failures:
            # The exponent is capped: past the cap the doubling no longer matters.
            lockout = min(self.max_lockout_s, self.lockout_s * 2 ** min(record.lockouts, 30))
            record.lockouts += 1
            record.until = now + lockout

    def succeeded(self, address: str) -> None:
        self._records.pop(address, None)

    def _stale(self, record: _Record, now: float) -> bool:
        last = record.failures[-1] if record.failures else 0.0
        return now - max(last, record.until) >= self.window_s
