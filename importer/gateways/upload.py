"""``sip-import import`` and ``sip-import sync``: validate, read the gateway once, plan, save
concurrently, optionally prune, report.

Every data row ends with exactly one outcome. Rows the sheet rejects never reach the gateway;
rows the gateway rejects or the network loses are reported with the gateway's key or the
transport reason; when the gateway goes away the run stops (exit 3) and says which rows were
saved and which were not. ``sync`` adds the journal (``--resume``), the lock and ``--prune``.
"""

from __future__ import annotations

import asyncio
import gc
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pandas as pd
import pyarrow as pa
import stamina.instrumentation

from schemas import MASK, PARAMETERS, SECRET_FIELDS

from ..config import Credentials, GatewaySettings, redact_url
from ..errors import GatewayUnavailable
from ..pipeline import (
    EXIT_GATEWAY,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_ROWS,
    RunResult,
    finish_run,
    prepare_sheet,
    validation_results,
)
from ..reports.report import RESULT_COLUMNS
from ..sheets.limits import DEFAULT_LIMITS, Limits
from ..sheets.normalize import NormalizedSheet
from ..validate import Problem, Validation
from .client import GatewayClient, list_endpoint_columns
from .journal import DONE, Journal, JournalRow, JournalRun, row_hashes
from .pacing import AdaptiveLimit, Pacer
from .plan import Action, GatewayState, plan_rows, row_values, unchanged_rows
from .prune import PrunePlan, delete_endpoints, plan_prune
from .save import NOT_ATTEMPTED, RowOutcome, outcome_without_call, save_actions

__all__ = [
    "EMBEDDED_DB",
    "SUCCESS",
    "GatewayJob",
    "GatewayRun",
    "JobOptions",
    "NoProgress",
    "ProgressSink",
    "concurrency_report",
    "embedded_gateway",
    "gateway_line",
    "gateway_problems",
    "journal_identity",
    "masked_rows_kept",
    "merge_results",
    "run_frozen",
    "run_job",
]

#: Where the embedded local gateway keeps its endpoints between runs.
EMBEDDED_DB = Path(".sip-import") / "gateway.db"

SUCCESS = frozenset({"created", "updated", "renamed", "unchanged", "deleted", "skipped", "valid"})
_FIELD_PREFIX = re.compile(r"^([a-z_-]+): ")
_DRY = {"create": "created", "update": "updated", "rename": "renamed", "save": "created"}
INTERRUPTED_IN_FLIGHT = (
    "interrupted before the gateway answered: this row may or may not be saved; "
    "run the same command with --resume to finish"
)
INTERRUPTED_UNSENT = "not attempted: the run was interrupted"

T = TypeVar("T")


class ProgressSink(Protocol):
    def start(self, total: int) -> None: ...
    #: ``count`` rows done, ``outcome`` the last of them (rows settled at once come as one).
    def advance(self, outcome: RowOutcome, count: int = 1) -> None: ...
    def stop(self) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, outcome: RowOutcome, count: int = 1) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass(frozen=True)
class JobOptions:
    command: str = "import"
    dry_run: bool = False
    #: None: no journal (and no lock).
    journal: Path | None = None
    resume: bool = False
    prune: bool = False
    max_prune: str | None = None


# repr=False: the run is the result of the task ``asyncio.run`` drives, and on Python 3.11 the
# runner's last ``signal.getsignal`` formats that task (an enum lookup error message), result
# included. A generated repr of thousands of outcomes and actions cost 0.2 s per 5,000 rows.
@dataclass(repr=False)
class GatewayRun:
    outcomes: dict[int, RowOutcome] = field(default_factory=dict)
    deletions: list[RowOutcome] = field(default_factory=list)
    unavailable: str | None = None
    #: Ctrl-C stopped the run: rows not finished say so, and the reports are still written.
    interrupted: bool = False
    listed: bool = True
    #: Rows planned so far, by kind (create, update, ...). The actions themselves are not
    #: kept: a save's payload is about 2.5 KB, 250 MB over a 100,000-row sheet.
    plan: Counter[str] = field(default_factory=Counter)
    prune: PrunePlan | None = None
    resumed_from: int | None = None
    seconds: float = 0.0
    requests: dict[str, int] = field(default_factory=dict)
    pacer: Pacer | None = None


def concurrency_report(pacer: Pacer | None) -> dict[str, Any] | None:
    """summary.json's ``concurrency``: the ceiling, whether the pace adapted, the highest and
    last limits, and the limit over the run (``[seconds, limit]`` at each change)."""
    if pacer is None:
        return None
    return {
        "ceiling": pacer.limit.ceiling,
        "adaptive": isinstance(pacer.limit, AdaptiveLimit),
        "peak": pacer.peak,
        "final": pacer.limit.current,
        "history": [[t, limit] for t, limit in pacer.history],
    }


def gateway_line(url: str, local: bool = False) -> str:
    """The first line of import, sync and export: the gateway they talk to, without
    credentials, so nobody writes to production believing it is a rehearsal (or the reverse)."""
    if not local:
        return f"gateway: {redact_url(url)}"
    return (
        f"gateway: {url} (no --gateway given: the local gateway, started for this run; "
        f"database {EMBEDDED_DB})"
    )


@contextmanager
def embedded_gateway(
    announce: Callable[[str], None], tuning: dict[str, Any]
) -> Iterator[GatewaySettings]:
    """Start the local gateway for the run; yields settings that reach it. ``announce`` gets
    its ``gateway_line`` once it is up."""
    from gateway import GatewayStartError, start_local_gateway

    EMBEDDED_DB.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        try:
            # Credentials of its own, made up for this run: only this process logs in, so
            # neither the environment's (which may be production's) nor admin/admin are needed.
            running = stack.enter_context(
                start_local_gateway(
                    EMBEDDED_DB, user="sip-import", password=secrets.token_urlsafe(24)
                )
            )
        except (GatewayStartError, ValueError) as exc:
            raise GatewayUnavailable(f"the local gateway did not start: {exc}") from None
        announce(gateway_line(running.url, local=True))
        creds = Credentials(running.user, running.password)
        yield GatewaySettings(running.url, creds).with_overrides(**tuning)


async def _read_state(client: GatewayClient) -> GatewayState:
    columns = await list_endpoint_columns(client)
    return GatewayState.unknown() if columns is None else GatewayState.from_columns(columns)


def _dry_outcome(action: Action) -> RowOutcome:
    done = outcome_without_call(action)
    if done is not None:
        return done
    changed = ", ".join(action.changed)
    message = "dry run, not sent" + (f"; would change {changed}" if changed else "")
    return RowOutcome(action.row, action.name, _DRY[action.kind], message=message)


class GatewayJob:
    """One run against one gateway: the async half of ``run_job``."""

    def __init__(
        self,
        settings: GatewaySettings,
        normalized: NormalizedSheet,
        valid_rows: list[int],
        options: JobOptions,
        progress: ProgressSink,
        journal: Journal | JournalRun | None,
        done: dict[str, JournalRow],
        *,
        gate: asyncio.Semaphore | None = None,
        scope: list[int] | None = None,
    ) -> None:
        self.settings = settings
        #: A fleet's bound on connections across its gateways (``--max-connections``).
        self.gate = gate
        #: The sheet rows this gateway is given, valid or not (default: every row); its prune
        #: keeps their names and counts their problems.
        self.scope = scope
        self.normalized = normalized
        self.valid_rows = valid_rows
        self.options = options
        self.progress = progress
        self.journal = journal
        self.done = done
        self.run = GatewayRun(resumed_from=journal.resumed_from if journal else None)
        self.hashes: dict[int, tuple[str, str]] = {}
        self.in_flight: set[int] = set()
        #: Rows settled before any row is sent (found unchanged column by column).
        self.settled: set[int] = set()
        #: The rows to plan and send, read one at a time (a generator: nothing is read yet).
        self.rows = self._rows_to_send()
        #: True while the progress bar runs: skipped rows then count as done on it.
        self.counting = False

    def _unavailable(self, reason: str) -> GatewayRun:
        self._skip_the_rest()
        names = self.normalized.frame["name"]
        for row in self.valid_rows:
            self.run.outcomes.setdefault(
                row, RowOutcome(row, str(names[row]), "failed", "not-attempted", NOT_ATTEMPTED)
            )
        self.run.unavailable = reason
        return self.run

    def _interrupted(self) -> GatewayRun:
        """Ctrl-C: every row not finished yet gets an outcome that says so (none is lost)."""
        self._skip_the_rest()
        names = self.normalized.frame["name"]
        # A row that needs no call (unchanged, rejected by the plan) has its outcome from the
        # moment it is planned, so a row without one was either in flight or never sent.
        for row in self.valid_rows:
            if row in self.run.outcomes:
                continue
            if row in self.in_flight:
                outcome = RowOutcome(
                    row, str(names[row]), "failed", "interrupted", INTERRUPTED_IN_FLIGHT
                )
            else:
                outcome = RowOutcome(
                    row, str(names[row]), "failed", "not-attempted", INTERRUPTED_UNSENT
                )
            self.run.outcomes[row] = outcome
        self.run.interrupted = True
        return self.run

    def _record(self, outcome: RowOutcome) -> None:
        self.in_flight.discard(outcome.row)
        self.run.outcomes[outcome.row] = outcome
        self.progress.advance(outcome)
        if self.journal is not None and outcome.row in self.hashes:
            key, digest = self.hashes.pop(outcome.row)  # needed once
            self.journal.record(key, outcome.row, digest, outcome.outcome, outcome.error_key)

    def _frame(self, leave_out: set[int]) -> pd.DataFrame:
        """The valid rows but ``leave_out``, in the sheet's order."""
        frame = self.normalized.frame
        if leave_out or len(self.valid_rows) != len(frame):
            frame = frame[frame.index.isin(set(self.valid_rows) - leave_out)]
        return frame

    def _resumed(self, row: int, name: str, digest: str) -> RowOutcome | None:
        """``skipped`` when the interrupted run being resumed finished this row with these
        values (the outcome is recorded and counted); None otherwise."""
        before = self.done.get(name.lower())
        if before is None or before.values_hash != digest or before.outcome not in DONE:
            return None
        skipped = RowOutcome(
            row,
            name,
            "skipped",
            message=f"already {before.outcome} by the interrupted run being resumed",
        )
        self.run.outcomes[row] = skipped
        if self.counting:
            self.progress.advance(skipped)
        return skipped

    def _rows_to_send(self) -> Iterator[tuple[int, dict[str, str]]]:
        """The valid rows' values, each read when a worker asks for it, so the first saves go
        out while later rows are still being read. A row an interrupted run already finished
        with the same values is recorded ``skipped`` instead of being sent."""
        frame = self._frame(self.settled)
        # Hashed column by column up front (0.2 s at 100,000 rows, 0.8 s one by one).
        hashes = row_hashes(frame) if self.journal is not None else None
        for at, (row, values) in enumerate(row_values(frame)):
            if hashes is not None:
                name, digest = values["name"], hashes[at]
                self.hashes[row] = (name.lower(), digest)
                if self._resumed(row, name, digest) is not None:
                    continue
            yield row, values

    def _settle_unchanged(self, state: GatewayState) -> None:
        """Rows the gateway already holds as the sheet says, found column by column
        (``unchanged_rows``), get their outcome at once; only the others are planned one by
        one (at 100,000 unchanged rows, ``plan_rows`` took several seconds).

        They get no journal line: nothing was sent for them, and a resumed run checks them
        against the gateway again (a fraction of a second, and it sees an endpoint changed
        on the gateway since) rather than skipping them. Their 100,000 lines, and the values
        hash of each, were 0.6 s of a 2.5 s sync that changes nothing. Only a row the
        interrupted run being resumed finished is hashed, to be ``skipped``."""
        frame = self._frame(set())
        unchanged = unchanged_rows(frame, state)
        if not unchanged.any():
            return
        found = frame if unchanged.all() else frame[unchanged]
        rows = found.index.tolist()
        names = found["name"].tolist()
        digests = self._finished_before(found, names)
        outcomes = self.run.outcomes
        outcome: RowOutcome | None = None
        count = 0
        for at, (row, name) in enumerate(zip(rows, names, strict=True)):
            digest = digests.get(at)
            if digest is not None and self._resumed(row, name, digest) is not None:
                continue
            outcome = outcomes[row] = RowOutcome(row, name, "unchanged")
            count += 1
        self.settled.update(rows)
        self.run.plan["unchanged"] += count
        if self.counting and outcome is not None:
            # One step of the bar for them all: a step a row was 0.3 s at 100,000 rows.
            self.progress.advance(outcome, count)

    def _finished_before(self, found: pd.DataFrame, names: list[str]) -> dict[int, str]:
        """``{position in found: values hash}`` of the rows the interrupted run being resumed
        finished under their name with a values hash: the only ones that may be skipped."""
        if not self.done:
            return {}
        positions = []
        for at, name in enumerate(names):
            before = self.done.get(name.lower())
            if before is not None and before.values_hash and before.outcome in DONE:
                positions.append(at)
        if not positions:
            return {}
        return dict(zip(positions, row_hashes(found.iloc[positions]), strict=True))

    def _skip_the_rest(self) -> None:
        """The run stops early: rows not read yet that an interrupted run finished still count
        as ``skipped``, not as unsent."""
        for _ in self.rows:
            pass

    def _planned(
        self, rows: Iterator[tuple[int, dict[str, str]]], state: GatewayState
    ) -> Iterator[Action]:
        """The rows' actions as the workers take them, each counted by kind."""
        for action in plan_rows(rows, state):
            self.run.plan[action.kind] += 1
            yield action

    async def go(self) -> GatewayRun:
        started = time.perf_counter()
        try:
            return await self._go()
        except asyncio.CancelledError:
            # asyncio.run cancels this task on the first Ctrl-C (a second one stops at once).
            # Returning instead of raising lets run_job write the reports of what was done.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            return self._interrupted()
        finally:
            self.run.seconds = time.perf_counter() - started

    async def _go(self) -> GatewayRun:
        async with GatewayClient(self.settings, gate=self.gate) as client:
            self.run.requests = client.requests  # live: counts every request of the run
            self.run.pacer = client.pacer
            try:
                await client.login()
                state = await _read_state(client)
                # The list answer's bytes (47 MB at 100,000 endpoints) sit in a reference
                # cycle of httpx's response and its stream until a full collection; run_frozen
                # keeps that cheap (5 ms), and the memory is free before the rows are settled.
                gc.collect()
            except GatewayUnavailable as exc:
                return self._unavailable(str(exc))
            self.run.listed = state.listed
            actions = self._planned(self.rows, state)
            if self.options.dry_run:
                self._settle_unchanged(state)
                for action in actions:
                    self.run.outcomes[action.row] = _dry_outcome(action)
            else:
                self.progress.start(len(self.valid_rows))
                self.counting = True
                try:
                    self._settle_unchanged(state)
                    saved = await save_actions(
                        client,
                        actions,
                        on_outcome=self._record,
                        on_send=lambda action: self.in_flight.add(action.row),
                    )
                except GatewayUnavailable as exc:
                    return self._unavailable(str(exc))
                finally:
                    self.counting = False
                    self.progress.stop()
                if saved.breaker:
                    return self._unavailable(
                        f"the gateway at {redact_url(self.settings.url)} stopped answering "
                        f"({saved.breaker}); the circuit breaker stopped the run"
                    )
            if self.options.prune:
                await self._prune(client, state)
        return self.run

    async def _prune(self, client: GatewayClient, state: GatewayState) -> None:
        frame = self.normalized.frame
        if self.scope is not None:
            frame = frame.loc[self.scope]
        kept = set(frame["name"].dropna().str.lower())
        # A row the mapping skips is not managed by the sheet: its endpoint is not pruned either.
        kept |= {row.name.lower() for row in self.normalized.skipped if row.name}
        for column in ("old_name",):
            if column in frame.columns:
                kept |= set(frame[column].dropna().str.lower())
        if "object_id" in frame.columns:
            kept |= {
                state.by_id[i]["name"].lower()
                for i in frame["object_id"].dropna()
                if i in state.by_id
            }
        unsafe = sum(
            1 for o in self.run.outcomes.values() if o.outcome in ("rejected", "failed")
        ) + (len(frame) - len(self.valid_rows))
        plan = plan_prune(state.names(), kept, self.options.max_prune, unsafe)
        self.run.prune = plan
        if plan.refused or not plan.candidates:
            return
        if self.options.dry_run:
            self.run.deletions = [
                RowOutcome(0, name, "deleted", message="dry run, not sent; not in the sheet")
                for name in plan.candidates
            ]
            return
        await delete_endpoints(client, plan.candidates, self.run.deletions.append)


def gateway_problems(outcomes: dict[int, RowOutcome]) -> list[Problem]:
    """Gateway rejections as problems, pointing at the cell when the text names a field."""
    problems = []
    for o in outcomes.values():
        if o.outcome not in ("rejected", "failed"):
            continue
        hit = _FIELD_PREFIX.match(o.message)
        field_name = hit.group(1) if hit and hit.group(1) in PARAMETERS else ""
        if o.error_key in ("ENDPOINT_NAME_EXISTS", "ENDPOINT_NOT_FOUND"):
            field_name = "old_name"
        message = o.message if hit or not field_name else f"{field_name}: {o.message}"
        problems.append(Problem(o.row, field_name, o.error_key, message, "error"))
    return problems


def merge_results(
    validation: Validation, outcomes: dict[int, RowOutcome], deletions: list[RowOutcome]
) -> pd.DataFrame:
    results = validation_results(validation)
    # Columns as lists first: iterating a Series boxes its Arrow strings one at a time (0.5 s
    # of a 100,000-row sync).
    warnings = results["message"].tolist()
    picked = [outcomes.get(int(r)) for r in results["row"].tolist()]
    for column in ("outcome", "error_key", "message", "attempts"):
        results[column] = [
            old if o is None else getattr(o, column)
            for old, o in zip(results[column].tolist(), picked, strict=True)
        ]
    # Warnings from the sheet check still belong in the message of rows the gateway handled.
    results["message"] = [
        msg if o is None or not w else (f"{msg}; {w}" if msg else w)
        for msg, w, o in zip(results["message"].tolist(), warnings, picked, strict=True)
    ]
    if deletions:
        # Deleted endpoints are not sheet rows: their lines have no row number.
        extra = pd.DataFrame(
            [("", "", d.name, d.outcome, d.error_key, d.message, d.attempts) for d in deletions],
            columns=RESULT_COLUMNS,
        )
        results = pd.concat([results.astype({"row": object}), extra], ignore_index=True)
    return results


def masked_rows_kept(frame: pd.DataFrame, outcomes: dict[int, RowOutcome]) -> int:
    """Rows whose masked secret cells left the gateway's secret as it was."""
    masked = pd.Series(False, index=frame.index)
    for column in SECRET_FIELDS & set(frame.columns):
        masked |= (frame[column] == MASK).fillna(False).astype(bool)
    return sum(
        1 for row in frame.index[masked] if row in outcomes and outcomes[row].outcome in SUCCESS
    )


def run_frozen(job: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` with the objects that exist before it out of the garbage collector's
    sight (``gc.freeze``). The sheet, pandas and every imported module are long-lived; a full
    collection that walked them paused all workers for about 0.1 s, once or twice a run."""
    gc.freeze()
    try:
        return asyncio.run(job)
    finally:
        gc.unfreeze()


def journal_identity(settings: GatewaySettings | None) -> str:
    if settings is None:
        return f"embedded:{EMBEDDED_DB.resolve()}"
    return redact_url(settings.url)


def run_job(
    path: str | Path,
    *,
    settings: GatewaySettings | None,
    tuning: dict[str, Any] | None = None,
    options: JobOptions = JobOptions(),
    sheet: str | None = None,
    mapping: str | Path | None = None,
    preset: str | None = None,
    report_dir: str | Path | None = None,
    strict: bool = False,
    announce: Callable[[str], None] = lambda _: None,
    progress: ProgressSink | None = None,
    notice: Callable[[str], None] = lambda _: None,
    limits: Limits = DEFAULT_LIMITS,
) -> RunResult:
    """``sip-import import`` / ``sync``. ``settings=None`` starts the embedded local gateway.

    ``announce`` gets the ``gateway_line`` once, before anything else is said and before the
    first call to the gateway; a run stopped earlier by unusable input never reaches it."""
    # stamina logs each retry through stdlib logging by default; our report counts attempts.
    stamina.instrumentation.set_on_retry_hooks([])
    normalized, validation, clock = prepare_sheet(path, sheet, mapping, strict, preset, limits)
    # What Arrow's allocator kept of the sheet's passes (30 MB at 100,000 rows) goes back
    # before the gateway's list is read: the list is the run's peak.
    pa.default_memory_pool().release_unused()
    # The masked-secret warning is for validate, which cannot ask the gateway; here the plan
    # decides (keep the gateway's secret, or reject a row for an endpoint that is not there).
    validation = Validation(
        validation.sheet, tuple(p for p in validation.problems if p.code != "masked-secret")
    )
    rejected = validation.rejected_rows
    valid_rows = [int(r) for r in normalized.frame.index if int(r) not in rejected]
    sink = progress or NoProgress()

    with ExitStack() as stack:
        journal: Journal | None = None
        done: dict[str, JournalRow] = {}
        if options.journal is not None and not options.dry_run:
            journal = stack.enter_context(Journal.open(options.journal, options.command))
            done = journal.start(
                options.command,
                normalized.loaded.sha256,
                journal_identity(settings),
                options.resume,
            )
        if settings is None:
            resolved = stack.enter_context(embedded_gateway(announce, tuning or {}))
        else:
            resolved = settings
            announce(gateway_line(settings.url))
        if journal is not None and options.resume and journal.resumed_from is None:
            notice("nothing to resume for this sheet and gateway: starting a new run")
        job = GatewayJob(resolved, normalized, valid_rows, options, sink, journal, done)
        gateway_run = run_frozen(job.go())
        if journal is not None and gateway_run.unavailable is None and not gateway_run.interrupted:
            journal.finish()
    clock.lap("save")

    results = merge_results(validation, gateway_run.outcomes, gateway_run.deletions)
    problems = tuple(
        sorted(
            (*validation.problems, *gateway_problems(gateway_run.outcomes)),
            key=lambda p: (p.row, p.severity != "error"),
        )
    )
    prune = gateway_run.prune
    if gateway_run.interrupted:
        exit_code = EXIT_INTERRUPTED
    elif gateway_run.unavailable:
        exit_code = EXIT_GATEWAY
    elif set(results["outcome"]) <= SUCCESS and not (prune and prune.refused and prune.candidates):
        exit_code = EXIT_OK
    else:
        exit_code = EXIT_ROWS
    warnings: list[str] = []
    if not gateway_run.listed:
        warnings.append(
            "the gateway has no sip_endpoints.list: every valid row was sent, and saved rows are "
            "reported as created because created and updated cannot be told apart"
        )
    if prune is not None and prune.refused and prune.candidates:
        warnings.append(prune.refused)
    sent = sum(1 for o in gateway_run.outcomes.values() if o.attempts)
    extra: dict[str, Any] = {
        "dry_run": options.dry_run,
        "plan": dict(gateway_run.plan),
        "gateway_unavailable": gateway_run.unavailable,
        "interrupted": gateway_run.interrupted,
        "saves_per_second": round(sent / gateway_run.seconds, 1) if gateway_run.seconds else None,
        "resumed_run": gateway_run.resumed_from,
        "requests": dict(gateway_run.requests),
        "concurrency": concurrency_report(gateway_run.pacer),
        "masked_secrets_kept": masked_rows_kept(normalized.frame, gateway_run.outcomes),
    }  # fmt: skip
    if options.prune:
        extra["prune"] = {
            "candidates": list(prune.candidates) if prune else [],
            "limit": prune.limit if prune else None,
            "refused": prune.refused if prune else "the gateway was not reached",
            "names": prune.describe(options.dry_run) if prune else None,
            "deleted": [d.name for d in gateway_run.deletions if d.outcome == "deleted"],
        }
    return finish_run(
        options.command,
        normalized,
        results,
        problems,
        clock,
        report_dir,
        exit_code,
        gateway=journal_identity(settings) if settings is None else redact_url(settings.url),
        warnings=tuple(warnings),
        **extra,
    )
