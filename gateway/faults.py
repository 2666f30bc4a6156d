"""Fault injection: what goes wrong with one call, decided up front and reproducibly.

Every ``POST /json`` call takes exactly two numbers from one ``random.Random(seed)``, in
arrival order, whatever faults are configured: one picks the fault kind, one the jitter.
So ``--seed N`` replays the same sequence of faults and delays for the same sequence of calls,
and turning one flag on does not reshuffle the draws another flag sees.

The rate limit and the in-flight cap are not random: they follow from arrival times and
concurrency, so a seed does not (and cannot) replay them.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .config import GatewayConfig

__all__ = ["Draw", "FaultInjector", "FaultKind", "InflightLimiter", "TokenBucket"]

FaultKind = Literal["drop", "error", "busy"]


@dataclass(frozen=True)
class Draw:
    """The random part of one call's fate."""

    kind: FaultKind | None
    delay_s: float


class FaultInjector:
    """Draws each call's fault kind and delay from one seeded generator."""

    def __init__(self, config: GatewayConfig) -> None:
        self._rng = random.Random(config.seed)
        # Consecutive slices of [0, 1): one draw decides the kind, so each rate is exactly
        # the asked share of calls (the config checks the rates sum to at most 1).
        self._slices: tuple[tuple[float, FaultKind], ...] = (
            (config.drop_rate, "drop"),
            (config.drop_rate + config.error_rate, "error"),
            (config.drop_rate + config.error_rate + config.busy_rate, "busy"),
        )
        self._latency_ms = config.latency_ms
        self._jitter_ms = config.jitter_ms

    def draw(self) -> Draw:
        # Both numbers are drawn on every call, before anything is decided (fixed order).
        u_kind = self._rng.random()
        u_jitter = self._rng.random()
        kind: FaultKind | None = None
        for upper, name in self._slices:
            if u_kind < upper:
                kind = name
                break
        delay_ms = self._latency_ms + (2.0 * u_jitter - 1.0) * self._jitter_ms
        return Draw(kind, max(0.0, delay_ms) / 1000.0)


class TokenBucket:
    """``rate`` requests per second with a burst of one second's worth (at least one call)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock()

    def take(self) -> float | None:
        """Take a token: ``None`` if allowed, else the seconds until one is available."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self._rate

    @staticmethod
    def retry_after(wait_s: float) -> str:
        """Retry-After takes whole seconds (RFC 9110); round up so a client that obeys it
        is never early."""
        return str(max(1, math.ceil(wait_s)))


class InflightLimiter:
    """Counts calls in progress. Single-threaded (event loop), so a plain int is enough."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.current = 0

    def try_enter(self) -> bool:
        if self.limit is not None and self.current >= self.limit:
            return False
        self.current += 1
        return True

    def leave(self) -> None:
        self.current -= 1
