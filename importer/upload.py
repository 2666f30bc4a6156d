"""``sip-import import``: validate, read the gateway once, plan, save concurrently, report.

Every data row ends with exactly one outcome. Rows the sheet rejects never reach the gateway;
rows the gateway rejects or the network loses are reported with the gateway's key or the
transport reason; when the gateway goes away the run stops (exit 3) and says which rows were
saved and which were not.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import stamina.instrumentation

from schemas import PARAMETERS

from .client import ApiError, CircuitOpen, GatewayClient, GaveUp
from .config import Credentials, GatewaySettings, redact_url
from .errors import GatewayUnavailable
from .normalize import NormalizedSheet
from .pipeline import (
    EXIT_GATEWAY,
    EXIT_OK,
    EXIT_ROWS,
    RunResult,
    _finish,
    _prepare,
    _validation_results,
)
from .plan import Action, GatewayState, plan_rows
from .save import NOT_ATTEMPTED, RowOutcome, SaveRun, outcome_without_call, save_actions
from .validate import Problem, Validation

__all__ = ["EMBEDDED_DB", "ProgressSink", "import_file"]

#: Where the embedded local gateway keeps its endpoints between runs.
EMBEDDED_DB = Path(".sip-import") / "gateway.db"

_SUCCESS = frozenset({"created", "updated", "renamed", "unchanged", "deleted", "skipped", "valid"})
_FIELD_PREFIX = re.compile(r"^([a-z_-]+): ")


class ProgressSink(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, outcome: RowOutcome) -> None: ...
    def stop(self) -> None: ...


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, outcome: RowOutcome) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass(frozen=True)
class _GatewayRun:
    outcomes: dict[int, RowOutcome]
    unavailable: str | None
    listed: bool
    plan: Counter[str]
    seconds: float


@contextmanager
def embedded_gateway(
    notice: Callable[[str], None], tuning: dict[str, Any]
) -> Iterator[GatewaySettings]:
    """Start the local gateway for the run; yields settings that reach it."""
    from gateway import GatewayStartError, start_local_gateway

    EMBEDDED_DB.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        try:
            running = stack.enter_context(start_local_gateway(EMBEDDED_DB))
        except (GatewayStartError, ValueError) as exc:
            raise GatewayUnavailable(f"the local gateway did not start: {exc}") from None
        notice(
            f"no --gateway given: started the local gateway at {running.url} "
            f"(database {EMBEDDED_DB})"
        )
        creds = Credentials(running.user, running.password)
        yield GatewaySettings(running.url, creds).with_overrides(**tuning)


async def _talk(
    settings: GatewaySettings,
    normalized: NormalizedSheet,
    valid_rows: list[int],
    dry_run: bool,
    progress: ProgressSink,
) -> _GatewayRun:
    started = time.perf_counter()
    names = normalized.frame["name"]
    outcomes: dict[int, RowOutcome] = {}

    def unavailable_run(reason: str, listed: bool = False) -> _GatewayRun:
        for row in valid_rows:
            outcomes.setdefault(
                row, RowOutcome(row, str(names[row]), "failed", "not-attempted", NOT_ATTEMPTED)
            )
        return _GatewayRun(outcomes, reason, listed, Counter(), time.perf_counter() - started)

    async with GatewayClient(settings) as client:
        try:
            await client.login()
            state = await _read_state(client)
        except GatewayUnavailable as exc:
            return unavailable_run(str(exc))
        except (GaveUp, CircuitOpen) as exc:
            return unavailable_run(f"cannot list the gateway's endpoints: {exc}")
        actions = plan_rows(normalized.frame, valid_rows, state)
        plan = Counter(a.kind for a in actions)
        if dry_run:
            for action in actions:
                outcomes[action.row] = _dry_outcome(action)
            return _GatewayRun(outcomes, None, state.listed, plan, time.perf_counter() - started)
        progress.start(len(actions))

        def record(outcome: RowOutcome) -> None:
            outcomes[outcome.row] = outcome
            progress.advance(outcome)

        try:
            run: SaveRun = await save_actions(client, actions, on_outcome=record)
        except GatewayUnavailable as exc:
            return unavailable_run(str(exc), state.listed)
        finally:
            progress.stop()
        reason = None
        if run.breaker:
            reason = (
                f"the gateway at {redact_url(settings.url)} stopped answering "
                f"({run.breaker}); the circuit breaker stopped the run"
            )
        return _GatewayRun(outcomes, reason, state.listed, plan, time.perf_counter() - started)


async def _read_state(client: GatewayClient) -> GatewayState:
    try:
        result = await client.call("sip_endpoints.list", {})
    except ApiError as exc:
        if exc.error_key == "UNKNOWN_METHOD":
            return GatewayState.unknown()
        raise GatewayUnavailable(
            f"the gateway refused to list its endpoints: {exc.error} ({exc.error_key})"
        ) from None
    endpoints = result.response.get("sip_endpoints")
    if not isinstance(endpoints, list):
        raise GatewayUnavailable("the gateway's sip_endpoints.list answer has no endpoint list")
    return GatewayState.from_list(endpoints)


_DRY = {"create": "created", "update": "updated", "rename": "renamed", "save": "created"}


def _dry_outcome(action: Action) -> RowOutcome:
    done = outcome_without_call(action)
    if done is not None:
        return done
    changed = ", ".join(action.changed)
    return RowOutcome(
        action.row, action.name, _DRY[action.kind],
        message=f"dry run, not sent" + (f"; would change {changed}" if changed else ""),
    )  # fmt: skip


def _gateway_problems(outcomes: dict[int, RowOutcome]) -> list[Problem]:
    """Gateway rejections as problems, pointing at the cell when the text names a field."""
    problems = []
    for o in outcomes.values():
        if o.outcome not in ("rejected", "failed"):
            continue
        hit = _FIELD_PREFIX.match(o.message)
        field = hit.group(1) if hit and hit.group(1) in PARAMETERS else ""
        if o.error_key in ("ENDPOINT_NAME_EXISTS", "ENDPOINT_NOT_FOUND"):
            field = "old_name"
        message = o.message if hit or not field else f"{field}: {o.message}"
        problems.append(Problem(o.row, field, o.error_key, message, "error"))
    return problems


def _merge_results(validation: Validation, outcomes: dict[int, RowOutcome]) -> pd.DataFrame:
    results = _validation_results(validation)
    if not outcomes:
        return results
    rows = results["row"].to_numpy()
    picked = [outcomes.get(int(r)) for r in rows]
    keep = [o is None for o in picked]
    for column in ("outcome", "error_key", "message", "attempts"):
        results[column] = [
            old if o is None else getattr(o, column)
            for old, o in zip(results[column], picked, strict=True)
        ]
    # Warnings found by the sheet check still belong in the message of rows that were saved.
    warnings = _validation_results(validation)["message"]
    results["message"] = [
        msg if k or not w else (f"{msg}; {w}" if msg else w)
        for msg, w, k in zip(results["message"], warnings, keep, strict=True)
    ]
    return results


def import_file(
    path: str | Path,
    *,
    settings: GatewaySettings | None,
    tuning: dict[str, Any] | None = None,
    sheet: str | None = None,
    mapping: str | Path | None = None,
    report_dir: str | Path | None = None,
    strict: bool = False,
    dry_run: bool = False,
    progress: ProgressSink | None = None,
    notice: Callable[[str], None] = lambda _: None,
) -> RunResult:
    """``sip-import import``. ``settings=None`` starts the embedded local gateway."""
    # stamina logs each retry through stdlib logging by default; our report counts attempts.
    stamina.instrumentation.set_on_retry_hooks([])
    normalized, validation, clock = _prepare(path, sheet, mapping, strict)
    # The masked-secret warning is for validate, which cannot ask the gateway; here the plan
    # decides (keep the gateway's secret, or reject a row for an endpoint that is not there).
    validation = Validation(
        validation.sheet, tuple(p for p in validation.problems if p.code != "masked-secret")
    )
    rejected = validation.rejected_rows
    valid_rows = [int(r) for r in normalized.frame.index if int(r) not in rejected]
    sink = progress or _NoProgress()

    def run(resolved: GatewaySettings) -> _GatewayRun:
        return asyncio.run(_talk(resolved, normalized, valid_rows, dry_run, sink))

    if settings is None:
        with embedded_gateway(notice, tuning or {}) as local:
            gateway_run = run(local)
            url = local.url
    else:
        gateway_run = run(settings)
        url = settings.url
    clock.lap("save")

    results = _merge_results(validation, gateway_run.outcomes)
    problems = tuple(sorted(
        (*validation.problems, *_gateway_problems(gateway_run.outcomes)),
        key=lambda p: (p.row, p.severity != "error"),
    ))  # fmt: skip
    if gateway_run.unavailable:
        exit_code = EXIT_GATEWAY
    elif set(results["outcome"]) <= _SUCCESS:
        exit_code = EXIT_OK
    else:
        exit_code = EXIT_ROWS
    extra: dict[str, Any] = {
        "dry_run": dry_run,
        "plan": dict(gateway_run.plan),
        "gateway_unavailable": gateway_run.unavailable,
        "saves_per_second": round(
            sum(1 for o in gateway_run.outcomes.values() if o.attempts) / gateway_run.seconds, 1
        ) if gateway_run.seconds > 0 else None,
    }  # fmt: skip
    warnings = ()
    if not gateway_run.listed:
        warnings = (
            "the gateway has no sip_endpoints.list: every valid row was sent, and saved rows are "
            "reported as created because created and updated cannot be told apart",
        )
    return _finish(
        "import", normalized, results, problems, clock, report_dir, exit_code,
        gateway=redact_url(url), warnings=warnings, **extra,
    )  # fmt: skip
