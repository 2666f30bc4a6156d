"""Fleet: one sheet kept on many gateways, each row sent to the gateways it names.

The sheet is loaded, normalized and validated once. A ``gateway`` column routes each row (a
name, several separated by commas, ``tag:NAME`` or ``*``); without one, ``--gateways`` sends
every row to the gateways it selects (all by default). ``--only`` narrows any run to some
gateways. A row naming no known gateway is rejected (``unknown-gateway``), once; so is a row
that fails validation, for every gateway it names.

Each gateway then runs the single-gateway job (``GatewayJob``: its own client, pacing, breaker
and journal run) on its rows, side by side within ``--max-connections`` (importer/gateways/
rollout.py decides which run when, ``--canary`` and ``--max-fail-percent`` included). A gateway
that is down fails its own rows with the reason and stops nothing else.

results.csv has one line per (row, gateway); summary.json has the counts, timings, pace and
availability of each gateway, and the gateways never started with the reason.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import stamina.instrumentation

from schemas.text import clip, header_key, quote

from ..config import redact_url
from ..errors import InputError
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
from ..reports.report import FLEET_RESULT_COLUMNS, RESULT_COLUMNS
from ..sheets.limits import DEFAULT_LIMITS, Limits
from ..sheets.mapping import ROUTING_KEYS
from ..sheets.normalize import NormalizedSheet
from ..validate import Problem, Validation
from .inventory import GatewayEntry, Inventory, UnknownGateway, pick
from .journal import Journal, JournalRow, JournalRun
from .prune import PrunePlan
from .rollout import Rollout, Stage, roll_out
from .save import NOT_ATTEMPTED, RowOutcome
from .upload import (
    SUCCESS,
    GatewayJob,
    GatewayRun,
    JobOptions,
    NoProgress,
    ProgressSink,
    concurrency_report,
    gateway_problems,
    journal_identity,
    run_frozen,
)

__all__ = ["DEFAULT_MAX_CONNECTIONS", "FleetOptions", "run_fleet"]

DEFAULT_MAX_CONNECTIONS = 64
_LISTED = 10


@dataclass(frozen=True)
class FleetOptions:
    inventory: Inventory
    #: The gateways every row goes to when the sheet has no ``gateway`` column (default ``*``).
    gateways: str | None = None
    #: Only these gateways take part in the run.
    only: str | None = None
    canary: int = 0
    max_fail_percent: float | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS


@dataclass(frozen=True)
class _Routes:
    #: Row -> the gateways it goes to in this run (within --only), in inventory order.
    to: dict[int, tuple[GatewayEntry, ...]]
    #: Row -> what its gateway cell says, for its results line when it goes nowhere.
    named: dict[int, str]
    #: Rows naming no known gateway.
    problems: list[Problem]
    #: Rows whose gateways --only leaves out -> their names.
    left_out: dict[int, str]


def _routing_column(sheet: NormalizedSheet) -> pd.Series | None:
    loaded = sheet.loaded
    headers = [h for h in loaded.headers if header_key(h) in ROUTING_KEYS]
    if len(headers) > 1:
        raise InputError(
            f"{loaded.path}: columns {quote(headers[0])} and {quote(headers[1])} both send rows "
            "to gateways; keep one of them"
        )
    return loaded.frame[headers[0]] if headers else None


def _route(sheet: NormalizedSheet, fleet: FleetOptions) -> _Routes:
    inventory = fleet.inventory
    every = pick(inventory, fleet.gateways or "*", "--gateways")
    allowed = {g.name for g in pick(inventory, fleet.only or "*", "--only")}
    column = _routing_column(sheet)
    if column is not None and fleet.gateways:
        raise InputError("--gateways is for sheets without a gateway column; this one has one")
    routes = _Routes({}, {}, [], {})
    cache: dict[str, tuple[GatewayEntry, ...] | str] = {}
    default = ", ".join(g.name for g in every)
    for row in sheet.frame.index.tolist():
        if column is None:
            chosen: tuple[GatewayEntry, ...] | str = every
            routes.named[row] = default
        else:
            cell = column.get(row)
            text = "" if cell is None or pd.isna(cell) else str(cell).strip()
            routes.named[row] = clip(text)
            if not text:
                chosen = "empty; name a gateway, several separated by commas, tag:NAME or *"
            elif text in cache:
                chosen = cache[text]
            else:
                try:
                    chosen = cache[text] = inventory.select(text)
                except UnknownGateway as exc:
                    chosen = cache[text] = str(exc)
        if isinstance(chosen, str):
            routes.problems.append(
                Problem(row, "gateway", "unknown-gateway", f"gateway: {chosen}", "error")
            )
            continue
        inside = tuple(g for g in chosen if g.name in allowed)
        if not inside:
            routes.left_out[row] = ", ".join(g.name for g in chosen)
        routes.to[row] = inside
    return routes


def _duplicates(sheet: NormalizedSheet, routes: _Routes) -> list[Problem]:
    """``duplicate-name`` for rows that name one endpoint twice on one gateway."""
    names = sheet.frame["name"]
    seen: dict[tuple[str, str], list[int]] = {}
    for row, gateways in routes.to.items():
        name = names.get(row)
        if name is None or pd.isna(name):
            continue
        for entry in gateways:
            seen.setdefault((entry.name, str(name).lower()), []).append(row)
    problems: dict[int, Problem] = {}
    for (gateway, _name), rows in seen.items():
        if len(rows) < 2:
            continue
        for row in rows:
            others = ", ".join(str(r) for r in rows[:21] if r != row)
            if len(rows) > 21:
                others += f" and {len(rows) - 21} more"
            problems.setdefault(
                row,
                Problem(
                    row, "name", "duplicate-name",
                    f"name: {quote(names[row])} is also on row {others} for gateway {gateway}",
                    "error",
                ),
            )  # fmt: skip
    return list(problems.values())


def _failed(run: GatewayRun) -> bool:
    return run.unavailable is not None or any(o.outcome == "failed" for o in run.outcomes.values())


def _lines(
    base: pd.DataFrame,
    routes: _Routes,
    order: list[GatewayEntry],
    rollout: Rollout[GatewayRun],
) -> pd.DataFrame:
    """results.csv's lines: a line per (row, gateway) for rows that went to gateways, one line
    for every other row (rejected, skipped), then the endpoints each prune deleted."""
    columns = FLEET_RESULT_COLUMNS
    records: list[tuple[Any, ...]] = []
    lines: list[list[Any]] = [base[c].tolist() for c in RESULT_COLUMNS]
    for row, sheet, name, outcome, error_key, message, attempts in zip(*lines, strict=True):
        gateways = routes.to.get(int(row), ()) if outcome == "valid" else ()
        if not gateways:
            if outcome == "valid":  # its gateways are all outside --only
                outcome = "skipped"
                message = f"for {routes.left_out.get(int(row), '')}, which --only leaves out"
            named = routes.named.get(int(row), "")
            records.append((row, sheet, name, named, outcome, error_key, message, attempts))
            continue
        warning = message  # the sheet check's warnings stay with the row
        for gateway in gateways:
            ran = rollout.ran.get(gateway.name)
            if ran is None:
                why = rollout.not_started.get(gateway.name) or "not started"
                done = RowOutcome(
                    int(row), str(name), "failed", "not-started", f"not started: {why}"
                )
            else:
                done = ran.result.outcomes.get(int(row)) or RowOutcome(
                    int(row), str(name), "failed", "not-attempted", NOT_ATTEMPTED
                )
                if done.error_key == "not-attempted" and ran.result.unavailable:
                    # Each line says why, not only the summary: a fleet's reader filters by row.
                    done = replace(done, message=f"not attempted: {ran.result.unavailable}")
            said = (
                done.message
                if not warning
                else (f"{done.message}; {warning}" if done.message else warning)
            )
            records.append(
                (row, sheet, name, gateway.name, done.outcome, done.error_key, said, done.attempts)
            )
    for gateway in order:
        ran = rollout.ran.get(gateway.name)
        for deleted in ran.result.deletions if ran else ():
            records.append(
                ("", "", deleted.name, gateway.name, deleted.outcome, deleted.error_key,
                 deleted.message, deleted.attempts)
            )  # fmt: skip
    return pd.DataFrame.from_records(records, columns=columns)


def _gateway_summary(
    entry: GatewayEntry, rows: int, ran: GatewayRun | None, not_started: str | None, dry_run: bool
) -> dict[str, Any]:
    if ran is None:
        return {
            "url": redact_url(entry.settings.url),
            "rows": rows,
            "availability": "not started" if not_started is not None else "no rows",
            "not_started": not_started,
        }
    sent = sum(1 for o in ran.outcomes.values() if o.attempts)
    prune: PrunePlan | None = ran.prune
    return {
        "url": redact_url(entry.settings.url),
        "rows": rows,
        "availability": "unavailable" if ran.unavailable else "ok",
        "unavailable": ran.unavailable,
        "interrupted": ran.interrupted,
        "outcomes": dict(Counter(o.outcome for o in ran.outcomes.values())),
        "plan": dict(ran.plan),
        "seconds": round(ran.seconds, 3),
        "saves_per_second": round(sent / ran.seconds, 1) if ran.seconds else None,
        "requests": dict(ran.requests),
        "resumed_run": ran.resumed_from,
        "concurrency": concurrency_report(ran.pacer),
        "prune": None
        if prune is None
        else {
            "candidates": list(prune.candidates),
            "limit": prune.limit,
            "refused": prune.refused,
            "names": prune.describe(dry_run),
            "deleted": [d.name for d in ran.deletions if d.outcome == "deleted"],
        },
    }


def gateways_line(inventory: Inventory, chosen: list[GatewayEntry]) -> str:
    """The first line of a fleet run: which gateways, from where (URLs without credentials)."""
    shown = ", ".join(f"{g.name} ({redact_url(g.settings.url)})" for g in chosen[:_LISTED])
    more = f", and {len(chosen) - _LISTED} more" if len(chosen) > _LISTED else ""
    return f"gateways: {len(chosen)} from {inventory.path}: {shown}{more}"


def run_fleet(
    path: str | Path,
    *,
    fleet: FleetOptions,
    options: JobOptions,
    sheet: str | None = None,
    mapping: str | Path | None = None,
    preset: str | None = None,
    report_dir: str | Path | None = None,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    announce: Callable[[str], None] = lambda _: None,
    progress: Callable[[str], ProgressSink] | None = None,
    notice: Callable[[str], None] = lambda _: None,
) -> RunResult:
    """``sip-import import``/``sync`` on a fleet (see the module's docstring)."""
    # stamina logs each retry through stdlib logging by default; the reports count attempts.
    stamina.instrumentation.set_on_retry_hooks([])
    normalized, validation, clock = prepare_sheet(
        path, sheet, mapping, strict, preset, limits, routing=True
    )
    routes = _route(normalized, fleet)
    # As in run_job: the plan, not the sheet check, decides what a masked secret means. A name
    # may stand once per gateway: an endpoint that differs between gateways is a row each.
    kept = (p for p in validation.problems if p.code not in ("masked-secret", "duplicate-name"))
    problems = tuple(
        sorted(
            (*kept, *routes.problems, *_duplicates(normalized, routes)),
            key=lambda p: (p.row, p.severity != "error"),
        )
    )
    validation = Validation(validation.sheet, problems)
    rejected = validation.rejected_rows
    # One pass over the routes (rows in sheet order), not one per gateway.
    routed: dict[str, list[int]] = {}
    for row, entries in routes.to.items():
        for entry in entries:
            routed.setdefault(entry.name, []).append(row)
    order = [g for g in fleet.inventory.gateways if g.name in routed]
    scope = {g.name: routed[g.name] for g in order}
    rows_for = {name: [r for r in rows if r not in rejected] for name, rows in scope.items()}
    announce(gateways_line(fleet.inventory, order))

    with ExitStack() as stack:
        journal: Journal | None = None
        if options.journal is not None and not options.dry_run:
            journal = stack.enter_context(Journal.open(options.journal, options.command))
        jobs: dict[str, tuple[GatewayJob, JournalRun | None]] = {}

        def job(entry: GatewayEntry, gate: asyncio.Semaphore) -> GatewayJob:
            run: JournalRun | None = None
            done: dict[str, JournalRow] = {}
            if journal is not None:
                run, done = journal.begin(
                    options.command,
                    normalized.loaded.sha256,
                    journal_identity(entry.settings),
                    options.resume,
                )
                if options.resume and run.resumed_from is None:
                    notice(f"{entry.name}: nothing to resume for this sheet: starting a new run")
            sink = progress(entry.name) if progress is not None else NoProgress()
            made = GatewayJob(
                entry.settings, normalized, rows_for[entry.name], options, sink, run, done,
                gate=gate, scope=scope[entry.name],
            )  # fmt: skip
            jobs[entry.name] = (made, run)
            return made

        async def main() -> Rollout[GatewayRun]:
            gate = asyncio.Semaphore(fleet.max_connections)

            def stage(entry: GatewayEntry) -> Stage[GatewayRun]:
                # The job (and its journal run) is made when the gateway starts: one that never
                # starts leaves nothing behind to resume.
                return Stage(entry.name, entry.settings.concurrency, lambda: job(entry, gate).go())

            return await roll_out(
                [stage(g) for g in order],
                _failed,
                max_connections=fleet.max_connections,
                canary=fleet.canary,
                max_fail_percent=fleet.max_fail_percent,
            )

        started = time.perf_counter()
        rollout = run_frozen(main())
        seconds = time.perf_counter() - started
        for name, ran in rollout.ran.items():
            run = jobs[name][1]
            if run is not None and ran.result.unavailable is None and not ran.result.interrupted:
                run.finish()
    clock.lap("save")

    base = validation_results(validation)
    results = _lines(base, routes, order, rollout)
    extra_problems = [
        replace(p, message=f"{name}: {p.message}")
        for name, ran in rollout.ran.items()
        for p in gateway_problems(ran.result.outcomes)
    ]
    all_problems = tuple(
        sorted((*problems, *extra_problems), key=lambda p: (p.row, p.severity != "error"))
    )
    interrupted = any(o.result.interrupted for o in rollout.ran.values()) or any(
        reason == "the run was interrupted" for reason in rollout.not_started.values()
    )
    unavailable = {
        name: o.result.unavailable for name, o in rollout.ran.items() if o.result.unavailable
    }
    refused = {
        name: o.result.prune.refused
        for name, o in rollout.ran.items()
        if o.result.prune and o.result.prune.refused and o.result.prune.candidates
    }
    if interrupted:
        exit_code = EXIT_INTERRUPTED
    elif unavailable or rollout.not_started:
        exit_code = EXIT_GATEWAY
    elif set(results["outcome"]) <= SUCCESS and not refused:
        exit_code = EXIT_OK
    else:
        exit_code = EXIT_ROWS
    gateways = {
        g.name: _gateway_summary(
            g,
            len(rows_for[g.name]),
            rollout.ran[g.name].result if g.name in rollout.ran else None,
            rollout.not_started.get(g.name),
            options.dry_run,
        )
        for g in order
    }
    reason = "; ".join(f"{name}: {why}" for name, why in unavailable.items())
    if rollout.not_started:
        why = next(iter(rollout.not_started.values()))
        reason = "; ".join(
            filter(None, [reason, f"{len(rollout.not_started)} gateway(s) not started: {why}"])
        )
    warnings = tuple(f"{name}: {why}" for name, why in refused.items())
    extra: dict[str, Any] = {
        "dry_run": options.dry_run,
        "gateway_unavailable": reason or None,
        "interrupted": interrupted,
        "fleet": {
            "inventory": str(fleet.inventory.path),
            "gateways": gateways,
            "not_started": dict(rollout.not_started),
            "max_connections": fleet.max_connections,
            "canary": fleet.canary,
            "max_fail_percent": fleet.max_fail_percent,
            "seconds": round(seconds, 3),
        },
        "requests": dict(
            sum((Counter(o.result.requests) for o in rollout.ran.values()), Counter())
        ),
    }
    return finish_run(
        options.command,
        normalized,
        results,
        all_problems,
        clock,
        report_dir,
        exit_code,
        gateway=f"fleet of {len(order)} from {fleet.inventory.path}",
        warnings=warnings,
        **extra,
    )
