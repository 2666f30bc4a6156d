"""Pacing: the learned concurrency limit against a simulated gateway, and the asyncio gate.

The gateway is simulated in virtual time (a discrete-event model: ``capacity`` calls served at
once for ``service`` seconds each, the rest queued in order, optionally refused over a queue
length), so the figures are exact and the same on any machine; the real gateway's figures are
in benchmarks/RESULTS.md."""

from __future__ import annotations

import asyncio
import heapq
import random
import statistics
from dataclasses import dataclass

import pytest

from importer.gateways.pacing import AdaptiveLimit, FixedLimit, Pacer


@dataclass(frozen=True)
class Simulated:
    throughput: float
    median_latency: float
    refused: int
    final_limit: int
    peak: int


def simulate(
    limit: AdaptiveLimit | FixedLimit,
    *,
    capacity: int,
    service: float = 0.020,
    calls: int = 3_000,
    refuse_over: int | None = None,
    seed: int = 1,
) -> Simulated:
    """Send ``calls`` calls, as many at once as ``limit.current`` allows, to a gateway that
    serves ``capacity`` at once (service times within 10% of ``service``), the rest in order,
    and refuses a call at once (in 1 ms) when ``refuse_over`` calls are already waiting."""
    rng = random.Random(seed)
    free_at = [0.0] * capacity  # when each of the gateway's workers is next free (a heap)
    answers: list[tuple[float, float, float, bool]] = []  # (answered, sent, served from, refused)
    now, sent, refused, peak = 0.0, 0, 0, limit.current
    latencies: list[float] = []
    while sent < calls or answers:
        while sent < calls and len(answers) < limit.current:
            waiting = sum(1 for _, _, begin, _ in answers if begin > now)
            if refuse_over is not None and waiting >= refuse_over:
                heapq.heappush(answers, (now + 0.001, now, now, True))
            else:
                begin = max(now, heapq.heappop(free_at))
                done = begin + service * rng.uniform(0.9, 1.1)
                heapq.heappush(free_at, done)
                heapq.heappush(answers, (done, now, begin, False))
            sent += 1
        in_flight = len(answers)
        done, start, _, was_refused = heapq.heappop(answers)
        now = done
        refused += was_refused
        latencies.append(done - start)
        limit.sample(done - start, in_flight, was_refused, done)
        peak = max(peak, limit.current)
    return Simulated(calls / now, statistics.median(latencies), refused, limit.current, peak)


def best_fixed(capacity: int, **kwargs: object) -> float:
    return max(
        simulate(FixedLimit(n), capacity=capacity, **kwargs).throughput  # type: ignore[arg-type]
        for n in (1, 2, 4, 8, 16, 32, 64)
    )


def test_a_gateway_that_serves_4_at_once_gets_about_4_without_a_queue() -> None:
    run = simulate(AdaptiveLimit(64), capacity=4)
    assert run.throughput >= 0.9 * best_fixed(4)
    assert run.median_latency <= 1.5 * 0.020
    assert 4 <= run.final_limit <= 6
    # What a fixed 64 would have done: the same rate, with 60 calls queued in the gateway.
    fixed = simulate(FixedLimit(64), capacity=4)
    assert fixed.median_latency > 10 * 0.020


def test_an_idle_gateway_that_serves_64_gets_the_ceiling() -> None:
    run = simulate(AdaptiveLimit(64), capacity=64)
    assert run.peak == 64
    assert run.final_limit == 64
    assert run.median_latency <= 1.1 * 0.020
    assert run.throughput >= 0.9 * simulate(FixedLimit(32), capacity=64).throughput


@pytest.mark.parametrize("capacity", [1, 2, 8, 16])
def test_the_limit_settles_just_above_what_the_gateway_serves(capacity: int) -> None:
    run = simulate(AdaptiveLimit(64), capacity=capacity)
    assert capacity <= run.final_limit <= capacity + max(2, capacity // 2)
    assert run.throughput >= 0.9 * best_fixed(capacity)


def test_refusals_cut_the_limit_and_stay_rare() -> None:
    """A gateway that refuses once 3 calls wait (as ``--max-inflight 7`` does with 4 served):
    the overshoot of slow start meets a few refusals, then the limit stays under the line."""
    run = simulate(AdaptiveLimit(64), capacity=4, refuse_over=3)
    assert 0 < run.refused < 0.01 * 3_000
    assert run.final_limit <= 6


def test_a_refusal_cuts_the_limit_by_a_quarter_at_once() -> None:
    limit = AdaptiveLimit(64, initial=16)
    limit.slow_start = False
    limit.unloaded = 0.020
    for i in range(15):
        limit.sample(0.020, 16, False, 1 + i / 1000)
    assert limit.current == 16  # not a whole window yet
    limit.sample(0.020, 16, True, 1.02)
    assert limit.limit == 12.0
    assert limit.slow_start is False


def test_slow_start_doubles_while_nothing_queues() -> None:
    limit = AdaptiveLimit(64)
    seen = [limit.current]
    now = 0.0
    while limit.current < 64:
        now += 0.020
        for _ in range(limit.current):
            limit.sample(0.020, limit.current, False, now)
        seen.append(limit.current)
    assert seen == [2, 4, 8, 16, 32, 64]


def test_a_run_that_keeps_few_calls_in_flight_teaches_nothing() -> None:
    limit = AdaptiveLimit(64, initial=16)
    for i in range(160):
        limit.sample(0.020, 3, False, i / 100)  # the sheet had few rows left, not the gateway's
    assert limit.current == 16
    # Half the limit in flight is still the gateway's pace: that window teaches (it doubles).
    for i in range(16):
        limit.sample(0.020, 8, False, 2 + i / 100)
    assert limit.current == 32


def test_the_limit_never_leaves_its_bounds() -> None:
    limit = AdaptiveLimit(8, initial=50)
    assert limit.current == 8
    for i in range(200):
        limit.sample(5.0, 8, True, float(i))
    assert limit.current == 1
    assert AdaptiveLimit(0).ceiling == 1


def test_fixed_never_moves() -> None:
    fixed = FixedLimit(8)
    for i in range(100):
        fixed.sample(9.0, 8, True, float(i))
    assert fixed.current == 8


def test_the_gate_never_lets_more_than_the_limit_through() -> None:
    async def run() -> tuple[int, int, list[tuple[float, int]]]:
        limit = AdaptiveLimit(16, initial=2)
        # A clock that stands still: every call takes the unloaded time, so the limit doubles.
        pacer = Pacer(limit, clock=lambda: 0.0)
        busiest = 0

        async def call(i: int) -> None:
            nonlocal busiest
            started = await pacer.acquire()
            busiest = max(busiest, pacer.in_flight)
            assert pacer.in_flight <= limit.current
            await asyncio.sleep(0.001 * (i % 3))
            pacer.release(started)

        await asyncio.gather(*(call(i) for i in range(200)))
        return busiest, pacer.in_flight, pacer.history

    busiest, left, history = asyncio.run(run())
    assert left == 0
    assert 2 <= busiest <= 16
    assert history[0] == (0.0, 2)
    assert [limit for _, limit in history][:4] == [2, 4, 8, 16]


def test_a_cancelled_wait_gives_its_turn_to_the_next() -> None:
    async def run() -> int:
        pacer = Pacer(FixedLimit(1))
        first = await pacer.acquire()
        waiting = asyncio.ensure_future(pacer.acquire())
        behind = asyncio.ensure_future(pacer.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.sleep(0)
        pacer.release(first, answered=False)
        await asyncio.wait_for(behind, 1)
        return pacer.in_flight

    assert asyncio.run(run()) == 1


def _window(limit: AdaptiveLimit, latency: float, now: float) -> float:
    """One window of answers at ``limit.current``, all in flight, each taking ``latency``;
    returns the time it ends."""
    now += latency
    for _ in range(limit.current):
        limit.sample(latency, limit.current, False, now)
    return now


def test_slow_start_ends_at_the_rate_of_the_limit_it_reached() -> None:
    # 2, 4, 8 answer at the unloaded 20 ms; at 16, latency is 15% up: slow start ends, and the
    # aim is 1.2 x what 16 in flight delivered x 20 ms. A rate spanning the windows at 4 and 8
    # as well made it 10: half the limit reached, then a slow climb back.
    limit = AdaptiveLimit(64)
    now = 0.0
    for _ in range(3):
        now = _window(limit, 0.020, now)
    assert (limit.current, limit.slow_start) == (16, True)
    _window(limit, 0.023, now)
    assert limit.slow_start is False
    assert limit.current == int(1.2 * (16 / 0.023) * 0.020)  # 16


def test_after_slow_start_the_limit_grows_by_a_fifth_while_nothing_queues() -> None:
    limit = AdaptiveLimit(64, initial=10)
    limit.slow_start = False
    now = 0.0
    seen = []
    for _ in range(5):
        now = _window(limit, 0.020, now)
        seen.append(limit.current)
    assert seen == [12, 14, 17, 20, 24]


@pytest.mark.parametrize(
    ("last", "grown_to"),
    [(0.020, 6), (0.040, 3)],
    ids=["nothing-queued", "one-call-queued"],
)
def test_the_limit_grows_only_while_no_call_waits(last: float, grown_to: int) -> None:
    # Five in flight at a gateway that serves four at once: the fifth call waits one call's
    # time. The median is still the unloaded 20 ms; the slowest quarter of the window is not,
    # so the limit goes to the aim (1.2 x 125 answers/s x 20 ms) instead of growing past it.
    limit = AdaptiveLimit(64, initial=5)
    limit.slow_start = False
    limit.unloaded = 0.020
    for _ in range(4):
        limit.sample(0.020, 5, False, 0.020)
    limit.sample(last, 5, False, last)
    assert limit.current == grown_to
