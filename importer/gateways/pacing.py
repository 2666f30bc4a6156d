"""Pacing: how many calls one gateway gets at once, found from its latency and its refusals.

A gateway's CPU serves the API and its live calls alike, so the right concurrency is the
gateway's knee: close to its best throughput while its queue (and so everything else it does)
does not grow. A fixed ``--concurrency`` is too timid for an idle gateway and too much for a
busy one; instead, as TCP Vegas and Netflix's concurrency-limits do, the limit is learned:

- the lowest latency seen (a window's median) is the gateway's unloaded latency;
- each window of about one limit's worth of answers compares its median latency with that:
  at ``ratio`` times the unloaded latency, about ``limit / ratio`` calls are being served and
  the rest wait in the gateway's queue;
- the limit starts low and doubles while latency stays within 10% of the unloaded (slow
  start), then grows while it stays within 20%, and past 40% is cut to 1.25 times what the
  gateway serves at once;
- a refusal (HTTP 429 or 503) or a timeout cuts it by a quarter at once, at most once a window.

``--concurrency`` is the ceiling; ``--fixed-concurrency`` turns the learning off. ``AdaptiveLimit``
is arithmetic only (answers in, limit out), so it is tested against a simulated server;
``Pacer`` is the asyncio gate the client's calls pass.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import deque
from collections.abc import Callable

__all__ = ["AdaptiveLimit", "FixedLimit", "Pacer"]

#: At most this many points of the limit's history are kept (one per change).
_HISTORY = 2_000
#: Latency over the unloaded latency: slow start doubles below the first, the limit grows
#: below the second and is cut above the third, to the fourth (so the median call takes at
#: most about 1.25-1.4 times as long as on an idle gateway).
_SLOW_START_UNTIL = 1.1
_GROW_BELOW = 1.2
_SHRINK_ABOVE = 1.4
_AIM = 1.25


class FixedLimit:
    """``--fixed-concurrency``: the limit is the ceiling, whatever happens."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.current = ceiling

    def sample(self, latency: float, in_flight: int, dropped: bool) -> None:
        pass


class AdaptiveLimit:
    """The learned limit of one gateway (see the module's docstring).

    ``sample`` takes each answered call: its latency in seconds, the calls in flight when it
    was answered (itself included), and whether the gateway refused it or it timed out.
    """

    def __init__(self, ceiling: int, *, initial: int = 2, floor: int = 1) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self.limit = float(min(max(initial, self.floor), self.ceiling))
        self.current = int(self.limit)
        #: The gateway's latency with nothing queued: the lowest window median seen.
        self.unloaded: float | None = None
        self.slow_start = True
        self._latencies: list[float] = []
        self._dropped = False
        self._busiest = 0

    def sample(self, latency: float, in_flight: int, dropped: bool) -> None:
        self._latencies.append(latency)
        self._dropped = self._dropped or dropped
        self._busiest = max(self._busiest, in_flight)
        if len(self._latencies) >= self.current:
            self._close_window()

    def _close_window(self) -> None:
        latency = statistics.median(self._latencies)
        dropped, busiest = self._dropped, self._busiest
        self._latencies, self._dropped, self._busiest = [], False, 0
        if not dropped and (self.unloaded is None or latency < self.unloaded):
            self.unloaded = latency
        unloaded = self.unloaded or latency
        if dropped:
            self.slow_start = False
            self._set(self.limit * 0.75)
            return
        if busiest * 2 < self.current:
            return  # the run, not the gateway, kept the calls few: nothing learned
        ratio = latency / unloaded if unloaded > 0 else 1.0
        if self.slow_start and ratio < _SLOW_START_UNTIL:
            self._set(self.limit * 2)
            return
        self.slow_start = False
        if ratio < _GROW_BELOW:
            self._set(self.limit + max(0.5, math.log10(self.limit)))
        elif ratio > _SHRINK_ABOVE:
            # limit / ratio is about what the gateway serves at once (the rest queue): aim just
            # above it, so it never waits for work and its queue stays short.
            self._set(self.limit / ratio * _AIM)

    def _set(self, limit: float) -> None:
        self.limit = min(float(self.ceiling), max(float(self.floor), limit))
        self.current = int(self.limit)


class Pacer:
    """At most ``limit.current`` calls in flight; every answer teaches the limit.

    ``history`` holds ``(seconds since the pacer started, limit)`` at every change of the
    limit (the first ``_HISTORY`` changes, then one point in ten), ``peak`` the highest limit.
    """

    def __init__(
        self, limit: AdaptiveLimit | FixedLimit, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.in_flight = 0
        self.started = clock()
        self.history: list[tuple[float, int]] = [(0.0, limit.current)]
        self.peak = limit.current
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._changes = 0

    async def acquire(self) -> float:
        """Wait for a slot; returns the call's start time, for ``release``."""
        while self.in_flight >= self.limit.current or self._waiters:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                self._wake()
                raise
            if self.in_flight < self.limit.current:
                break
        self.in_flight += 1
        return self.clock()

    def release(self, started: float, *, dropped: bool = False, answered: bool = True) -> None:
        """The call is over. ``answered`` False (refused connection, cancelled): no sample."""
        in_flight = self.in_flight
        self.in_flight -= 1
        if answered:
            before = self.limit.current
            self.limit.sample(self.clock() - started, in_flight, dropped)
            if self.limit.current != before:
                self._note(self.limit.current)
        self._wake()

    def _note(self, limit: int) -> None:
        self.peak = max(self.peak, limit)
        self._changes += 1
        if len(self.history) < _HISTORY or self._changes % 10 == 0:
            self.history.append((round(self.clock() - self.started, 3), limit))

    def _wake(self) -> None:
        free = self.limit.current - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1
