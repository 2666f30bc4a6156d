"""Rollout: gateways side by side within the connection budget, canaries, the failure limit."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from importer.gateways.rollout import Rollout, Stage, roll_out


class Fleet:
    """Fake gateway jobs: each takes a turn of the loop (or waits for ``release``) and returns
    whether it failed; the most running at once is kept."""

    def __init__(self, failing: Collection[str] = (), hold: bool = False) -> None:
        self.failing = failing
        self.running = 0
        self.most = 0
        self.order: list[str] = []
        self.release = asyncio.Event() if hold else None

    def stage(self, name: str, ceiling: int = 8) -> Stage[bool]:
        async def run() -> bool:
            self.running += 1
            self.most = max(self.most, self.running)
            self.order.append(name)
            try:
                if self.release is not None:
                    await self.release.wait()
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                return True  # a job stopped by Ctrl-C still returns its (interrupted) run
            finally:
                self.running -= 1
            return name in self.failing

        return Stage(name, ceiling, run)


def run(fleet: Fleet, names: list[str], **kwargs: object) -> Rollout[bool]:
    stages = [fleet.stage(n) for n in names]
    return asyncio.run(roll_out(stages, lambda failed: failed, **kwargs))  # type: ignore[arg-type]


NAMES = [f"gw{i}" for i in range(10)]


def test_gateways_run_side_by_side_within_the_connection_budget() -> None:
    fleet = Fleet()
    rollout = run(fleet, NAMES, max_connections=24)
    assert fleet.most == 3  # three ceilings of 8 fit in 24
    assert list(rollout.ran) == NAMES
    assert not any(o.failed for o in rollout.ran.values())
    assert rollout.not_started == {}


def test_one_gateway_runs_even_when_its_ceiling_is_over_the_budget() -> None:
    fleet = Fleet()
    stages = [fleet.stage("big", ceiling=100), fleet.stage("small", ceiling=8)]
    rollout = asyncio.run(roll_out(stages, lambda failed: failed, max_connections=64))
    assert list(rollout.ran) == ["big", "small"]
    assert fleet.most == 1


def test_a_failed_canary_stops_the_rest() -> None:
    fleet = Fleet(failing={"gw0"})
    rollout = run(fleet, NAMES, max_connections=64, canary=1)
    assert list(rollout.ran) == ["gw0"]
    assert rollout.ran["gw0"].failed
    assert rollout.not_started == {n: "the canary gw0 failed" for n in NAMES[1:]}


def test_canaries_run_alone_first_then_the_rest() -> None:
    fleet = Fleet(failing={"gw5"})
    rollout = run(fleet, NAMES, max_connections=64, canary=2)
    assert fleet.order[:2] == ["gw0", "gw1"]
    assert list(rollout.ran) == NAMES
    assert [n for n, o in rollout.ran.items() if o.failed] == ["gw5"]
    assert rollout.not_started == {}


def test_more_failures_than_the_percentage_stop_new_starts() -> None:
    # One at a time (a ceiling of 8 in a budget of 8); the first three are down.
    fleet = Fleet(failing={"gw0", "gw1", "gw2"})
    rollout = run(fleet, NAMES, max_connections=8, max_fail_percent=20)
    # 2 of 10 is not more than 20%: the third failure is what stops the rollout.
    assert list(rollout.ran) == ["gw0", "gw1", "gw2"]
    reason = "more than 20% of the 10 gateways failed (3: gw0, gw1, gw2)"
    assert rollout.not_started == {n: reason for n in NAMES[3:]}


def test_failures_within_the_percentage_do_not_stop_anything() -> None:
    fleet = Fleet(failing={"gw0", "gw1"})
    rollout = run(fleet, NAMES, max_connections=8, max_fail_percent=20)
    assert list(rollout.ran) == NAMES
    assert rollout.not_started == {}


def test_gateways_already_running_finish_when_starts_stop() -> None:
    fleet = Fleet(failing={"gw0", "gw2", "gw4"})
    rollout = run(fleet, NAMES, max_connections=16, max_fail_percent=20)
    assert {"gw0", "gw2", "gw4"} <= set(rollout.ran)
    assert set(rollout.ran) | set(rollout.not_started) == set(NAMES)
    assert not set(rollout.ran) & set(rollout.not_started)


def test_ctrl_c_stops_the_running_gateways_and_keeps_their_runs() -> None:
    async def main() -> tuple[Rollout[bool], Fleet]:
        fleet = Fleet(hold=True)
        stages = [fleet.stage(n) for n in NAMES]
        task = asyncio.ensure_future(roll_out(stages, lambda f: f, max_connections=16))
        while fleet.running < 2:
            await asyncio.sleep(0)
        task.cancel()
        return await task, fleet

    rollout, fleet = asyncio.run(main())
    assert fleet.running == 0
    assert list(rollout.ran) == ["gw0", "gw1"]
    assert rollout.not_started == {n: "the run was interrupted" for n in NAMES[2:]}
