"""Rollout: which gateways of a fleet run when, and when to stop starting more.

Gateways run side by side while their ceilings fit in ``--max-connections`` (one always runs,
whatever its ceiling). ``--canary N`` runs the first N gateways alone first and starts no other
if any of them failed; ``--max-fail-percent P`` stops starting gateways once more than P% of
all the run's gateways have failed (Ansible's ``max_fail_percentage``). Gateways already
running always finish. What a failure is, the caller says (``Outcome.failed``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Outcome", "Rollout", "Stage", "roll_out"]

T = TypeVar("T")


@dataclass(frozen=True)
class Stage(Generic[T]):
    """One gateway to run: ``run()`` does its whole job and returns its result."""

    name: str
    ceiling: int
    run: Callable[[], Awaitable[T]]


@dataclass(frozen=True)
class Outcome(Generic[T]):
    result: T
    failed: bool


@dataclass(frozen=True)
class Rollout(Generic[T]):
    #: Each gateway that ran, by name, in the order given.
    ran: dict[str, Outcome[T]]
    #: Gateways never started, by name, and why.
    not_started: dict[str, str]


async def roll_out(
    stages: Sequence[Stage[T]],
    judge: Callable[[T], bool],
    *,
    max_connections: int,
    canary: int = 0,
    max_fail_percent: float | None = None,
) -> Rollout[T]:
    """Run ``stages`` as the module's docstring says; ``judge(result)`` is True for a failure."""
    outcomes: dict[str, Outcome[T]] = {}
    waiting = deque(stages)
    total = len(stages)
    stop: str | None = None

    def failures() -> list[str]:
        return [name for name, o in outcomes.items() if o.failed]

    async def run(stage: Stage[T]) -> None:
        result = await stage.run()
        outcomes[stage.name] = Outcome(result, judge(result))

    running: dict[asyncio.Task[None], Stage[T]] = {}

    def start(stage: Stage[T]) -> None:
        running[asyncio.ensure_future(run(stage))] = stage

    async def settle(until: str) -> None:
        done, _ = await asyncio.wait(running, return_when=until)
        for task in done:
            del running[task]
            task.result()

    try:
        if canary > 0 and waiting:
            for _ in range(min(canary, len(waiting))):
                start(waiting.popleft())
            await settle(asyncio.ALL_COMPLETED)
            failed = failures()
            if failed and waiting:
                stop = f"the canary {_names(failed)} failed"
        while waiting and stop is None:
            in_use = sum(stage.ceiling for stage in running.values())
            while waiting and (not running or in_use + waiting[0].ceiling <= max_connections):
                in_use += waiting[0].ceiling
                start(waiting.popleft())
            await settle(asyncio.FIRST_COMPLETED)
            failed = failures()
            if max_fail_percent is not None and len(failed) * 100 > max_fail_percent * total:
                stop = (
                    f"more than {max_fail_percent:g}% of the {total} gateways failed "
                    f"({len(failed)}: {_names(failed)})"
                )
        if running:
            await settle(asyncio.ALL_COMPLETED)
    except asyncio.CancelledError:
        # Ctrl-C: the gateways running are told to stop; each reports its rows as it does.
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        for task in running:
            if not task.cancelled():
                task.result()
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        stop = "the run was interrupted"
    ordered = {s.name: outcomes[s.name] for s in stages if s.name in outcomes}
    return Rollout(ordered, {stage.name: stop or "" for stage in waiting})


def _names(names: list[str], shown: int = 5) -> str:
    text = ", ".join(names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")
