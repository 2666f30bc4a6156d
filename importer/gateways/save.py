"""Save: send the planned actions with a fixed pool of workers; one outcome per row.

The pool never holds more than ``concurrency`` rows in flight, whatever the sheet's size. When the
circuit breaker trips, workers stop taking rows and the rows they never sent end ``failed`` with
"not attempted: gateway unavailable".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .client import ApiError, CircuitOpen, GatewayClient, GaveUp
from .plan import Action

__all__ = ["NOT_ATTEMPTED", "RowOutcome", "SaveRun", "outcome_without_call", "save_actions"]

NOT_ATTEMPTED = "not attempted: gateway unavailable"

_DONE_OUTCOME = {"create": "created", "update": "updated", "rename": "renamed", "save": "created"}


# slots: a sync keeps one per row (100,000 rows: 10 MB less than with a __dict__ each).
@dataclass(frozen=True, slots=True)
class RowOutcome:
    row: int
    name: str
    outcome: str
    error_key: str = ""
    message: str = ""
    attempts: int = 0


@dataclass(frozen=True)
class SaveRun:
    outcomes: list[RowOutcome]
    #: Why the circuit breaker stopped the run, or None.
    breaker: str | None


def outcome_without_call(action: Action) -> RowOutcome | None:
    """The outcome of an action that needs no call (unchanged, rejected by the plan)."""
    if action.kind == "unchanged":
        return RowOutcome(action.row, action.name, "unchanged")
    if action.kind == "reject":
        return RowOutcome(action.row, action.name, "rejected", action.error_key, action.message)
    return None


async def _confirm_rename(client: GatewayClient, action: Action) -> bool:
    """After a rename whose first answer was lost, ENDPOINT_NOT_FOUND may mean it went through."""
    try:
        await client.call("sip_endpoint.list", {"object_name": action.name})
    except (ApiError, GaveUp):
        return False
    return True


async def _send(client: GatewayClient, action: Action) -> RowOutcome:
    try:
        result = await client.call("sip_endpoint.save", action.payload)
    except ApiError as exc:
        if (
            action.kind == "rename"
            and exc.error_key == "ENDPOINT_NOT_FOUND"
            and exc.attempts > 1
            and await _confirm_rename(client, action)
        ):
            return RowOutcome(action.row, action.name, "renamed", attempts=exc.attempts)
        return RowOutcome(
            action.row, action.name, "rejected", exc.error_key, exc.error, exc.attempts
        )
    except GaveUp as exc:
        return RowOutcome(
            action.row, action.name, "failed", "transport-error", exc.reason, exc.attempts
        )
    return RowOutcome(action.row, action.name, _DONE_OUTCOME[action.kind], attempts=result.attempts)


async def save_actions(
    client: GatewayClient,
    actions: Iterable[Action],
    *,
    on_outcome: Callable[[RowOutcome], None] = lambda _: None,
    on_send: Callable[[Action], None] = lambda _: None,
) -> SaveRun:
    """Send every action that needs a call; report each outcome as soon as it is known.

    ``on_send`` hears of each row just before its first call, so a run that is stopped can tell
    rows in flight (maybe saved) from rows never sent.
    """
    outcomes: list[RowOutcome] = []
    pending: Iterator[Action] = iter(actions)

    def record(outcome: RowOutcome) -> None:
        outcomes.append(outcome)
        on_outcome(outcome)

    async def worker() -> None:
        # Workers share one iterator: each takes the next row when it is free.
        for action in pending:
            done = outcome_without_call(action)
            if done is not None:
                record(done)
                continue
            if client.breaker.open:
                record(
                    RowOutcome(action.row, action.name, "failed", "not-attempted", NOT_ATTEMPTED)
                )
                continue
            on_send(action)
            try:
                record(await _send(client, action))
            except CircuitOpen:
                message = (
                    "not confirmed: the gateway stopped answering while this row was being sent"
                )
                record(
                    RowOutcome(action.row, action.name, "failed", "gateway-unavailable", message)
                )

    await asyncio.gather(*(worker() for _ in range(client.settings.concurrency)))
    return SaveRun(outcomes, client.breaker.tripped_reason)
