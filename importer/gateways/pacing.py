"""Pacing: how many calls one gateway gets at once, found from its latency and its refusals.

A gateway's CPU serves the API and its live calls alike, so the right concurrency is the
gateway's knee: close to its best throughput while its queue (and so everything else it does)
does not grow. A fixed ``--concurrency`` is too timid for an idle gateway and too much for a
busy one; instead the limit is learned, as TCP BBR and Netflix's concurrency-limits learn
theirs, from two things the answers show:

- the gateway's unloaded latency: the lowest median latency of a window (about one limit's
  worth of answers);
- its best delivery rate: the most answers per second of a recent window.

Their product is what the gateway can hold in work without a queue (its "bandwidth-delay
product"); the limit aims at 1.2 times it. Below the knee, each window delivers more than the
last, so the aim rises by a fifth a window; past it, the rate stops growing, latency takes the
excess, and the aim stays put with about a fifth of a call's time in queue. So:

- the limit starts low and doubles while latency stays within 10% of the unloaded (slow start),
  each doubling's rate measured at its own limit;
- then it is 1.2 x best rate x unloaded latency, window after window, and at least a fifth
  more while even the slowest quarter of a window's calls stays near the unloaded latency
  (the rate, measured over a few windows, lags; the median alone missed a call or two
  queued at a gateway that serves a few at once);
- a refusal (HTTP 429 or 503) or a timeout cuts it by a quarter at once, at most once a window;
- a window in which the run itself kept few calls in flight (the sheet running out) teaches
  nothing.

``--concurrency`` is the ceiling; ``--fixed-concurrency`` turns the learning off. ``AdaptiveLimit``
is arithmetic only (answers in, limit out), so it is tested against a simulated server;
``Pacer`` is the asyncio gate the client's calls pass.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import deque
from collections.abc import Callable

__all__ = ["AdaptiveLimit", "FixedLimit", "Pacer"]

#: At most this many points of the limit's history are kept (one per change).
_HISTORY = 2_000
#: Slow start doubles the limit while a window's latency is below this many unloaded ones.
_SLOW_START_UNTIL = 1.1
#: The limit aims at this many bandwidth-delay products (so about 1.2 unloaded latencies).
_AIM = 1.2
#: The best delivery rate is the best of this many recent windows (a gateway that slows down
#: is followed within that many windows).
_RATE_WINDOWS = 10
#: Each rate is measured over this many consecutive windows.
_SPAN = 3


class FixedLimit:
    """``--fixed-concurrency``: the limit is the ceiling, whatever happens."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.current = ceiling

    def sample(self, latency: float, in_flight: int, dropped: bool, now: float) -> None:
        pass


class AdaptiveLimit:
    """The learned limit of one gateway (see the module's docstring).

    ``sample`` takes each answered call: its latency in seconds, the calls in flight when it
    was answered (itself included), whether the gateway refused it or it timed out, and when
    (seconds on any steady clock).
    """

    def __init__(self, ceiling: int, *, initial: int = 2, floor: int = 1) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self.limit = float(min(max(initial, self.floor), self.ceiling))
        self.current = int(self.limit)
        #: The gateway's latency with nothing queued: the lowest window median seen.
        self.unloaded: float | None = None
        #: Answers per second of the recent windows, each over its last _SPAN windows.
        self.rates: deque[float] = deque(maxlen=_RATE_WINDOWS)
        self._spans: deque[tuple[int, float]] = deque(maxlen=_SPAN)
        self.slow_start = True
        self._latencies: list[float] = []
        self._dropped = False
        self._busiest = 0
        self._window_start: float | None = None

    def sample(self, latency: float, in_flight: int, dropped: bool, now: float) -> None:
        if self._window_start is None:
            self._window_start = now - latency
        self._latencies.append(latency)
        self._dropped = self._dropped or dropped
        self._busiest = max(self._busiest, in_flight)
        if len(self._latencies) >= self.current:
            self._close_window(now)

    def _close_window(self, now: float) -> None:
        latency = statistics.median(self._latencies)
        # The quarter of the window's calls that took longest: with a call or two queued at a
        # gateway that serves a few at once the median stays unloaded, and this one does not.
        slowest = (
            max(self._latencies)
            if len(self._latencies) < 4
            else (statistics.quantiles(self._latencies, n=4)[2])
        )
        # ``is None``, not ``or``: a clock may start at 0.0, and that window had no length at all.
        start = now if self._window_start is None else self._window_start
        answers, elapsed = len(self._latencies), now - start
        dropped, busiest = self._dropped, self._busiest
        self._latencies, self._dropped, self._busiest = [], False, 0
        self._window_start = now
        if dropped:
            self.slow_start = False
            self._set(self.limit * 0.75)
            return
        if busiest * 2 < self.current:
            return  # the run, not the gateway, kept the calls few: nothing learned
        if self.unloaded is None or latency < self.unloaded:
            self.unloaded = latency
        self._spans.append((answers, elapsed))
        spanned = sum(t for _, t in self._spans)
        if spanned > 0:
            # Over a few windows: a gateway that works in batches (N at a time) answers in
            # bursts, and one window's count over its own time would overstate its rate.
            self.rates.append(sum(a for a, _ in self._spans) / spanned)
        ratio = latency / self.unloaded if self.unloaded > 0 else 1.0
        if self.slow_start and ratio < _SLOW_START_UNTIL:
            self._set(self.limit * 2)
            # The next rate is measured at the new limit alone: spanning the windows of the
            # smaller limits before it, it understated what the gateway delivers, and the aim
            # that ends slow start fell to half the limit it had reached.
            self._spans.clear()
            return
        self.slow_start = False
        if self.rates and self.unloaded > 0:
            aim = _AIM * max(self.rates) * self.unloaded
            # Below the knee latency stays near the unloaded: grow by at least one call, or a
            # limit cut low (after a refusal) could round down to itself for ever.
            calm = ratio < _SLOW_START_UNTIL and slowest / self.unloaded < _SLOW_START_UNTIL
            self._set(max(aim, self.limit * _AIM, self.limit + 1) if calm else aim)

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
            now = self.clock()
            self.limit.sample(now - started, in_flight, dropped, now)
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
