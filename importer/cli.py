"""Command line: parse options, call the pipeline, turn named exceptions into one line + exit code.

Pipeline modules are imported inside the commands so ``--help`` answers at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = ["app", "main"]

app = typer.Typer(
    name="sip-import",
    help="Bulk-load SIP endpoints from spreadsheets into Digium/Sangoma gateways.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: flags appear as flags (rich help shows '--strict <bool>', which invites
    # '--strict true', an error).
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")

EXIT_INPUT = 2
EXIT_GATEWAY = 3

_OUTCOME_ORDER = (
    "valid", "created", "updated", "renamed", "unchanged", "deleted", "skipped", "rejected", "failed",
)  # fmt: skip


def _print_version(value: bool) -> None:
    if value:
        from .pipeline import tool_version

        out.print(f"sip-import {tool_version()}", markup=False)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Bulk-load SIP endpoints from spreadsheets into Digium/Sangoma gateways."""


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(code)


def _guard(job: Callable[[], T]) -> T:
    """Run a job; every failure becomes one line on stderr and a documented exit code."""
    from .errors import GatewayUnavailable, InputError

    try:
        return job()
    except InputError as exc:
        raise _fail(str(exc), EXIT_INPUT) from None
    except GatewayUnavailable as exc:
        raise _fail(str(exc), EXIT_GATEWAY) from None
    except KeyboardInterrupt:
        raise _fail("interrupted", 130) from None
    except typer.Exit:
        raise
    except Exception as exc:  # a bug: still no traceback for the user
        raise _fail(
            f"internal error ({exc.__class__.__name__}: {exc}); please report it", EXIT_INPUT
        ) from None


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"{summary['command']}: {summary['input']['path']}", title_justify="left")
    table.add_column("outcome")
    # A fleet's outcomes are per (row, gateway); its total stays the sheet's rows.
    table.add_column("rows x gateways" if "fleet" in summary else "rows", justify="right")
    outcomes = summary["outcomes"]
    for name in _OUTCOME_ORDER:
        if name in outcomes:
            table.add_row(name, str(outcomes[name]))
    table.add_row("blank (skipped)", str(summary["blank"]), style="dim")
    if summary.get("title_rows"):
        table.add_row("title rows above the header", str(summary["title_rows"]), style="dim")
    table.add_row("total data rows", str(summary["rows"]), style="bold")
    out.print(table)
    for warning in summary["warnings"]:
        out.print(f"warning: {warning}", markup=False)
    if summary.get("rows_with_warnings"):
        out.print(f"{summary['rows_with_warnings']} row(s) have warnings (see results.csv)")
    if summary.get("error_keys"):
        keys = ", ".join(f"{k} {v}" for k, v in sorted(summary["error_keys"].items()))
        out.print(f"problems: {keys}", markup=False)
    if fleet := summary.get("fleet"):
        _print_fleet(fleet)


def _print_fleet(fleet: dict[str, Any]) -> None:
    """One line a gateway: its rows' outcomes, pace and availability."""
    table = Table(title="gateways", title_justify="left")
    for column in ("gateway", "rows", "outcomes", "saves/s", "concurrency", "state"):
        table.add_column(column, justify="right" if column in ("rows", "saves/s") else "left")
    for name, gw in fleet["gateways"].items():
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(gw.get("outcomes", {}).items()))
        pace = gw.get("concurrency") or {}
        reached = f"{pace['peak']} of {pace['ceiling']}" if pace else ""
        state = gw["availability"]
        if gw.get("unavailable"):
            state = f"unavailable: {gw['unavailable']}"
        elif gw.get("not_started"):
            state = f"not started: {gw['not_started']}"
        table.add_row(
            name, str(gw["rows"]), outcomes, str(gw.get("saves_per_second") or ""), reached, state
        )
    out.print(table)


SheetArg = Annotated[
    Path,
    typer.Argument(help="CSV, XLSX, XLSM, XLS or ODS file.", show_default=False, metavar="SHEET"),
]
SheetOpt = Annotated[
    str | None,
    typer.Option("--sheet", help="Worksheet to read (default: first with a 'name' column)."),
]
MappingOpt = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        help='TOML mapping file: header aliases (or "ignore"), value translations, list '
        "separators, rows to skip (see the README). Extends --preset.",
    ),
]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help="A shipped mapping for another system's export: freepbx or switchvox "
        "(sip-import presets lists them).",
        show_default=False,
    ),
]
ReportDirOpt = Annotated[
    Path | None,
    typer.Option("--report-dir", help="Where to write the reports (default: reports/<UTC time>/)."),
]
LimitOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--limit",
        metavar="NAME=VALUE",
        help="Raise (or lower) a limit the sheet is read under; repeatable. NAME is file-size "
        "(1G), rows (1048576), cells (16384, per row), cell-chars (32767), unzipped (8G, one "
        "XLSX/ODS part inflated) or zip-ratio (100). Sizes take K, M, G: --limit file-size=2G.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]


@app.command()
def validate(
    sheet_file: SheetArg,
    sheet: SheetOpt = None,
    mapping: MappingOpt = None,
    preset: PresetOpt = None,
    report_dir: ReportDirOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    limit: LimitOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check every row of a sheet against the gateway's rules; save nothing.

    Exit 0 when every row is valid, 1 when some rows are rejected, 2 when the file is unusable.
    A file past a limit (--limit) is unusable: the message names the limit to raise.

    Example:

    \b
        sip-import validate carriers.xlsx --report-dir reports/today --limit rows=2000000
    """
    from .pipeline import validate_file
    from .sheets.limits import parse_limits

    limits = _guard(lambda: parse_limits(limit or ()))
    result = _guard(
        lambda: validate_file(
            sheet_file, sheet=sheet, mapping=mapping, preset=preset, report_dir=report_dir,
            strict=strict, limits=limits,
        )
    )  # fmt: skip
    _show(result, json_out, quiet)
    _written.append(True)
    raise typer.Exit(result.exit_code)


@app.command("presets")
def presets_() -> None:
    """List the shipped mappings that --preset takes (exports of other systems).

    Each is a mapping file inside the package; docs/presets.md shows what each translates.
    A --mapping file given with --preset extends it.

    Example:

    \b
        sip-import validate freepbx-export.csv --preset freepbx
    """
    from .sheets.mapping import presets

    for name, description in _guard(presets).items():
        out.print(f"{name}: {description}", markup=False)


@app.command("template")
def template_(
    out_file: Annotated[
        Path, typer.Argument(help="The workbook to write (.xlsx).", show_default=False)
    ],
    quiet: QuietOpt = False,
) -> None:
    """Write an empty endpoints workbook that catches mistakes as people type.

    One column per parameter (common ones first), dropdowns and number ranges, a note on each
    header, ID and secret columns formatted as Text, and a 'help' sheet with the parameter table.

    Example:

    \b
        sip-import template carriers.xlsx
    """
    from .reports.template import TEMPLATE_COLUMNS, write_template

    _guard(lambda: write_template(out_file))
    if not quiet:
        out.print(
            f"wrote {out_file}: {len(TEMPLATE_COLUMNS)} columns; the 'help' sheet explains each",
            markup=False,
        )


@app.command("export")
def export_(
    out_file: Annotated[
        Path,
        typer.Argument(help="The file to write: .xlsx or .csv, by its name.", show_default=False),
    ],
    gateway: GatewayOpt = None,
    config: ConfigOpt = None,
    include_secrets: Annotated[
        bool,
        typer.Option(
            "--include-secrets",
            help="Write secret, remotesecret and auth in clear (default: masked as ********).",
        ),
    ] = False,
    body: BodyOpt = "json",
    api_path: ApiPathOpt = None,
    ca_bundle: CaBundleOpt = None,
    insecure: InsecureOpt = False,
    inventory: InventoryOpt = None,
    only: OnlyOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Write every endpoint on a gateway to a sheet that imports back unchanged.

    With --inventory, every gateway of the fleet (or those --only selects) goes into one sheet
    with a 'gateway' column; an endpoint identical on several gateways is one row naming them.

    Same columns as the template (only those some endpoint uses). Secrets are masked as ********
    unless --include-secrets; a masked cell imported back keeps the gateway's secret.

    Example:

    \b
        SIP_IMPORT_USER=admin SIP_IMPORT_PASSWORD=... sip-import export today.xlsx --gateway https://10.0.0.5
    """
    from .config import configured_inventory, resolve_settings
    from .reports.export import export_endpoints

    _setup_logging(verbose, quiet)
    fleet = inventory or _guard(lambda: configured_inventory(config))
    if fleet is not None:
        result = _guard(
            lambda: _export_fleet(out_file, fleet, gateway, only, include_secrets, quiet)
        )
        _say_exported(result, quiet)
        return
    if only:
        raise _fail("--only is for a fleet: give its --inventory too", EXIT_INPUT)
    settings, tuning, warnings = _guard(
        lambda: resolve_settings(
            gateway, config, body=body, api_path=api_path, ca_bundle=ca_bundle, insecure=insecure
        )
    )
    if settings is not None:
        _secret_filter.secrets.add(settings.credentials.password)
    result = _guard(
        lambda: export_endpoints(
            out_file, settings=settings, tuning=tuning, include_secrets=include_secrets,
            notice=lambda line: None if quiet else err.print(line, markup=False),
            announce=_announcer(warnings, quiet),
        )
    )  # fmt: skip
    _say_exported(result, quiet)


def _export_fleet(
    out_file: Path, path: Path, gateway: str | None, only: str | None, secrets: bool, quiet: bool
) -> Any:
    from .errors import InputError
    from .gateways.inventory import load_inventory, pick
    from .reports.export import export_fleet

    if gateway:
        raise InputError("give --gateway or --inventory, not both")
    inventory = load_inventory(path)
    chosen = pick(inventory, only or "*", "--only")
    for entry in chosen:
        _secret_filter.secrets.add(entry.settings.credentials.password)
    return export_fleet(
        out_file, gateways=[(g.name, g.settings) for g in chosen], include_secrets=secrets,
        notice=lambda line: None if quiet else err.print(line, markup=False),
        announce=_announcer(list(inventory.warnings), quiet), where=str(path),
    )  # fmt: skip


def _say_exported(result: Any, quiet: bool) -> None:
    if not quiet:
        masked = (
            f"; {result.secrets_masked} secret(s) masked in {result.rows_masked} row(s) "
            "(--include-secrets writes them)"
            if result.secrets_masked
            else ""
        )
        out.print(
            f"exported {result.rows} endpoint(s) from {result.gateway} to {result.path} "
            f"({len(result.columns)} columns){masked}",
            markup=False,
        )


def _announcer(warnings: list[str], quiet: bool) -> Callable[[str], None]:
    """The job's first lines on stderr: which gateway it talks to (not with --quiet, which
    prints nothing but errors and warnings; still with --json, whose stdout stays JSON), then
    the configuration's warnings. A job stopped by unusable input before it reaches a gateway
    prints only its one error line."""

    def announce(line: str) -> None:
        if not quiet:
            err.print(line, markup=False)
        for warning in warnings:
            err.print(f"warning: {warning}", markup=False)
        warnings.clear()

    return announce


class _SecretFilter(logging.Filter):
    """Masks known secret strings in every log record (library debug output included)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            for secret in self.secrets:
                text = text.replace(secret, "********")
            record.msg, record.args = text, None
        return True


_secret_filter = _SecretFilter()


def _setup_logging(verbose: bool, quiet: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    )
    logging.Formatter.converter = time.gmtime  # log lines carry UTC time
    handler.addFilter(_secret_filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "uvicorn", "uvicorn.error", "gateway"):
        logging.getLogger(noisy).setLevel(level if verbose else max(level, logging.WARNING))


class _Progress:
    """A rich bar on a terminal; a plain line every few seconds otherwise (cron, CI)."""

    def __init__(self, enabled: bool, label: str = "saving") -> None:
        self.enabled = enabled
        self.label = label
        self.bar: Any = None
        self.task: Any = None
        self.total = 0
        self.done = 0
        self.started = 0.0
        self.last_line = 0.0

    def start(self, total: int) -> None:
        self.total, self.done = total, 0
        self.started = self.last_line = time.monotonic()
        if not self.enabled or total == 0:
            return
        if err.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn(f"{self.label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} rows/s"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self.task = self.bar.add_task(self.label, total=total, rate="-")
            self.bar.start()

    def advance(self, outcome: Any, count: int = 1) -> None:
        self.done += count
        if not self.enabled:
            return
        now = time.monotonic()
        rate = self.done / max(now - self.started, 1e-9)
        if self.bar is not None:
            self.bar.update(self.task, advance=count, rate=f"{rate:,.0f}")
        elif now - self.last_line >= 5.0:
            self.last_line = now
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            err.print(
                f"{stamp} {self.label} {self.done}/{self.total} rows ({rate:,.0f} rows/s)",
                markup=False,
            )

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class _FleetProgress:
    """A fleet's progress: on a terminal, one rich bar per gateway that is saving plus the
    total; otherwise (cron, CI) every few seconds one line per gateway that is saving."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        self.total_task: Any = None
        self.done: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.started: dict[str, float] = {}
        self.active: set[str] = set()
        self.last_line = time.monotonic()

    def sink(self, name: str) -> _GatewaySink:
        return _GatewaySink(self, name)

    def start(self, name: str, total: int) -> None:
        self.totals[name], self.done[name] = total, 0
        self.started[name] = time.monotonic()
        self.active.add(name)
        if not self.enabled or not err.is_terminal:
            return
        if self.bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} rows/s"),
                console=err,
                transient=True,
            )
            self.total_task = self.bar.add_task("total", total=0, rate="-")
            self.bar.start()
        self.tasks[name] = self.bar.add_task(name, total=total, rate="-")
        self.bar.update(self.total_task, total=sum(self.totals.values()))

    def advance(self, name: str, count: int = 1) -> None:
        self.done[name] = self.done.get(name, 0) + count
        if not self.enabled:
            return
        now = time.monotonic()
        if self.bar is not None and name in self.tasks:
            rate = self.done[name] / max(now - self.started[name], 1e-9)
            self.bar.update(self.tasks[name], advance=count, rate=f"{rate:,.0f}")
            self.bar.update(self.total_task, advance=count)
        elif self.bar is None and now - self.last_line >= 5.0:
            self.last_line = now
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for gateway in sorted(self.active):
                rate = self.done[gateway] / max(now - self.started[gateway], 1e-9)
                err.print(
                    f"{stamp} {gateway}: saving {self.done[gateway]}/{self.totals[gateway]} "
                    f"rows ({rate:,.0f} rows/s)",
                    markup=False,
                )

    def stop(self, name: str) -> None:
        self.active.discard(name)
        if self.bar is not None and name in self.tasks:
            self.bar.remove_task(self.tasks.pop(name))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class _GatewaySink:
    """One gateway's view of a ``_FleetProgress`` (what the job reports its rows to)."""

    def __init__(self, progress: _FleetProgress, name: str) -> None:
        self.progress, self.name = progress, name

    def start(self, total: int) -> None:
        self.progress.start(self.name, total)

    def advance(self, outcome: Any, count: int = 1) -> None:
        self.progress.advance(self.name, count)

    def stop(self) -> None:
        self.progress.stop(self.name)


GatewayOpt = Annotated[
    str | None,
    typer.Option(
        "--gateway",
        help="Gateway base URL, e.g. https://10.0.0.5 (or SIP_IMPORT_GATEWAY). "
        "Default: start the local gateway.",
        show_default=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file (default: ./sip-import.toml if present)."),
]
ConcurrencyOpt = Annotated[
    int,
    typer.Option(
        "--concurrency",
        help="Most calls in flight at once; below it, the pace is learned from the gateway's "
        "latency and refusals.",
    ),
]
FixedConcurrencyOpt = Annotated[
    bool,
    typer.Option(
        "--fixed-concurrency",
        help="Keep --concurrency calls in flight instead of learning the gateway's pace.",
    ),
]
MaxRpsOpt = Annotated[
    float | None, typer.Option("--max-rps", help="Cap on requests per second.", show_default=False)
]
BodyOpt = Annotated[str, typer.Option("--body", help="Request body style: json or form.")]
ApiPathOpt = Annotated[
    str | None, typer.Option("--api-path", help="Method-call path (default /json).")
]
CaBundleOpt = Annotated[
    Path | None, typer.Option("--ca-bundle", help="CA certificates to trust for the gateway's TLS.")
]
InsecureOpt = Annotated[
    bool, typer.Option("--insecure", help="Do not check the gateway's TLS certificate.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging on stderr.")]


ResumeOpt = Annotated[
    bool,
    typer.Option("--resume", help="Continue the interrupted run for this sheet and gateway."),
]
JournalOpt = Annotated[
    Path | None,
    typer.Option(
        "--journal", help="Journal file (default .sip-import/journal.db).", show_default=False
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show the plan and write reports; send nothing.")
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")]
InventoryOpt = Annotated[
    Path | None,
    typer.Option(
        "--inventory",
        help="A fleet's gateways (TOML, see the README); rows go to the gateways their "
        "'gateway' column names. Default: inventory in sip-import.toml, if any.",
        show_default=False,
    ),
]
GatewaysOpt = Annotated[
    str | None,
    typer.Option(
        "--gateways",
        help="With --inventory and no 'gateway' column: the gateways every row goes to "
        "(names separated by commas, tag:NAME, or *). Default: all.",
        show_default=False,
    ),
]
OnlyOpt = Annotated[
    str | None,
    typer.Option(
        "--only", help="With --inventory: run only these gateways (names, tag:NAME).",
        show_default=False,
    ),
]  # fmt: skip
CanaryOpt = Annotated[
    int,
    typer.Option(
        "--canary", help="With --inventory: run the first N gateways first; stop if one failed."
    ),
]
MaxFailOpt = Annotated[
    float | None,
    typer.Option(
        "--max-fail-percent",
        help="With --inventory: start no more gateways once more than this % of them failed.",
        show_default=False,
    ),
]
MaxConnectionsOpt = Annotated[
    int,
    typer.Option("--max-connections", help="With --inventory: connections across the fleet."),
]


def _fleet_job(options: Any, sheet_file: Path, cli: dict[str, Any], inventory_path: Path) -> None:
    """import and sync on a fleet (``--inventory``)."""
    from .errors import InputError
    from .gateways.fleet import FleetOptions, run_fleet
    from .gateways.inventory import load_inventory
    from .sheets.limits import parse_limits

    def fleet() -> FleetOptions:
        if cli["gateway"]:
            raise InputError("give --gateway or --inventory, not both")
        if cli["max_connections"] < 1:
            raise InputError("--max-connections must be at least 1")
        if cli["canary"] < 0:
            raise InputError("--canary must be 0 or more")
        inventory = load_inventory(inventory_path)
        for entry in inventory.gateways:
            _secret_filter.secrets.add(entry.settings.credentials.password)
        return FleetOptions(
            inventory, cli["gateways"], cli["only"], cli["canary"], cli["max_fail_percent"],
            cli["max_connections"],
        )  # fmt: skip

    limits = _guard(lambda: parse_limits(cli["limit"] or ()))
    _setup_logging(cli["verbose"], cli["quiet"] or cli["json_out"])
    chosen = _guard(fleet)
    quiet = cli["quiet"] or cli["json_out"]
    progress = _FleetProgress(enabled=not quiet)
    try:
        result = _guard(
            lambda: run_fleet(
                sheet_file, fleet=chosen, options=options, sheet=cli["sheet"],
                mapping=cli["mapping"], preset=cli["preset"], report_dir=cli["report_dir"],
                strict=cli["strict"], limits=limits, progress=progress.sink,
                notice=lambda line: None if quiet else err.print(line, markup=False),
                announce=_announcer(list(chosen.inventory.warnings), cli["quiet"]),
            )
        )  # fmt: skip
    finally:
        progress.close()
    _finish_job(result, cli)


def _finish_job(result: Any, cli: dict[str, Any]) -> None:
    _show(result, cli["json_out"], cli["quiet"])
    # The journal, the reports and the local gateway are closed by now (run_job's with).
    _written.append(True)
    reason = result.summary.get("gateway_unavailable")
    if result.summary.get("interrupted"):
        reason = (
            "interrupted: the rows not sent or not confirmed are marked failed in the reports; "
            "run the same command with --resume to finish"
        )
    if reason:
        err.print(f"[bold red]error:[/] {escape(reason)}", markup=True, highlight=False)
    raise typer.Exit(result.exit_code)


def _gateway_job(options: Any, sheet_file: Path, cli: dict[str, Any]) -> None:
    """What import and sync share: settings, logging, progress, the run, the exit code."""
    from .config import configured_inventory, resolve_settings
    from .errors import InputError
    from .gateways.upload import run_job
    from .sheets.limits import parse_limits

    inventory = cli["inventory"] or _guard(lambda: configured_inventory(cli["config"]))
    if inventory is not None:
        return _fleet_job(options, sheet_file, cli, inventory)

    def no_fleet() -> None:
        for flag, key in (("--gateways", "gateways"), ("--only", "only"), ("--canary", "canary"),
                          ("--max-fail-percent", "max_fail_percent")):  # fmt: skip
            if cli[key]:
                raise InputError(f"{flag} is for a fleet: give its --inventory too")

    _guard(no_fleet)
    limits = _guard(lambda: parse_limits(cli["limit"] or ()))
    _setup_logging(cli["verbose"], cli["quiet"] or cli["json_out"])
    settings, tuning, warnings = _guard(
        lambda: resolve_settings(
            cli["gateway"], cli["config"], body=cli["body"], api_path=cli["api_path"],
            ca_bundle=cli["ca_bundle"], insecure=cli["insecure"],
            concurrency=cli["concurrency"], fixed_concurrency=cli["fixed_concurrency"],
            max_rps=cli["max_rps"],
        )
    )  # fmt: skip
    if settings is not None:
        _secret_filter.secrets.add(settings.credentials.password)
    quiet = cli["quiet"] or cli["json_out"]
    result = _guard(
        lambda: run_job(
            sheet_file, settings=settings, tuning=tuning, options=options,
            sheet=cli["sheet"], mapping=cli["mapping"], preset=cli["preset"],
            report_dir=cli["report_dir"], strict=cli["strict"], limits=limits,
            progress=_Progress(enabled=not quiet),
            notice=lambda line: None if quiet else err.print(line, markup=False),
            announce=_announcer(warnings, cli["quiet"]),
        )
    )  # fmt: skip
    _finish_job(result, cli)


@app.command("import")
def import_(
    sheet_file: SheetArg,
    gateway: GatewayOpt = None,
    config: ConfigOpt = None,
    sheet: SheetOpt = None,
    mapping: MappingOpt = None,
    preset: PresetOpt = None,
    report_dir: ReportDirOpt = None,
    strict: StrictOpt = False,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = 8,
    fixed_concurrency: FixedConcurrencyOpt = False,
    max_rps: MaxRpsOpt = None,
    inventory: InventoryOpt = None,
    gateways: GatewaysOpt = None,
    only: OnlyOpt = None,
    canary: CanaryOpt = 0,
    max_fail_percent: MaxFailOpt = None,
    max_connections: MaxConnectionsOpt = 64,
    dry_run: DryRunOpt = False,
    resume: ResumeOpt = False,
    journal: JournalOpt = None,
    body: BodyOpt = "json",
    api_path: ApiPathOpt = None,
    ca_bundle: CaBundleOpt = None,
    insecure: InsecureOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Save every valid row of a sheet to a gateway; unchanged rows are not sent.

    Credentials come from SIP_IMPORT_USER and SIP_IMPORT_PASSWORD (or sip-import.toml), never
    from a flag. Exit 0 when every row succeeded, 1 when some were rejected or failed, 2 when the
    input is unusable, 3 when the gateway is unusable.

    Example:

    \b
        SIP_IMPORT_USER=admin SIP_IMPORT_PASSWORD=... sip-import import carriers.xlsx --gateway https://10.0.0.5 --concurrency 16
    """
    from .gateways.journal import DEFAULT_JOURNAL
    from .gateways.upload import JobOptions

    options = JobOptions("import", dry_run, journal or DEFAULT_JOURNAL, resume)
    _gateway_job(options, sheet_file, locals())


@app.command("sync")
def sync(
    sheet_file: SheetArg,
    gateway: GatewayOpt = None,
    config: ConfigOpt = None,
    sheet: SheetOpt = None,
    mapping: MappingOpt = None,
    preset: PresetOpt = None,
    report_dir: ReportDirOpt = None,
    strict: StrictOpt = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete gateway endpoints that the sheet does not list.")
    ] = False,
    max_prune: Annotated[
        str | None,
        typer.Option(
            "--max-prune",
            help="Most endpoints a prune may delete: a count (25) or a share of the gateway's "
            "endpoints (10%). Default 10%.",
            show_default=False,
        ),
    ] = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = 8,
    fixed_concurrency: FixedConcurrencyOpt = False,
    max_rps: MaxRpsOpt = None,
    inventory: InventoryOpt = None,
    gateways: GatewaysOpt = None,
    only: OnlyOpt = None,
    canary: CanaryOpt = 0,
    max_fail_percent: MaxFailOpt = None,
    max_connections: MaxConnectionsOpt = 64,
    dry_run: DryRunOpt = False,
    resume: ResumeOpt = False,
    journal: JournalOpt = None,
    body: BodyOpt = "json",
    api_path: ApiPathOpt = None,
    ca_bundle: CaBundleOpt = None,
    insecure: InsecureOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Make the gateway match a master sheet: send only changes, optionally delete the rest.

    Every row is compared with the gateway; a cell left empty is not managed by the sheet. Each
    outcome is journalled as it happens, so --resume after a crash sends nothing twice. --prune
    never runs when a row was rejected or failed, and never deletes more than --max-prune.
    Exit codes as for import; 1 also when a prune was refused.

    Example:

    \b
        sip-import sync master.xlsx --gateway https://10.0.0.5 --prune --max-prune 5 --json
    """
    from .gateways.journal import DEFAULT_JOURNAL
    from .gateways.upload import JobOptions

    options = JobOptions("sync", dry_run, journal or DEFAULT_JOURNAL, resume, prune, max_prune)
    _gateway_job(options, sheet_file, locals())


def _show(result: Any, json_out: bool, quiet: bool) -> None:
    if json_out:
        print(json.dumps(result.summary))
    elif not quiet:
        _print_summary(result.summary)
        if names := result.summary.get("prune", {}).get("names"):
            out.print(names, markup=False)
        out.print(f"reports: {result.paths.directory}", markup=False)


@app.command("gateway")
def gateway_(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port; 0 picks a free one.")] = 8080,
    db: Annotated[Path, typer.Option("--db", help="SQLite database file.")] = Path(
        ".sip-import/gateway.db"
    ),
    session_ttl: Annotated[
        float, typer.Option("--session-ttl", help="Session lifetime, s.")
    ] = 3600.0,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for reproducible faults.")
    ] = None,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", help="Delay added to each call.")
    ] = 0.0,
    jitter_ms: Annotated[
        float, typer.Option("--jitter-ms", help="Delay varies by +/- this.")
    ] = 0.0,
    error_rate: Annotated[
        float, typer.Option("--error-rate", help="Share of calls answered HTTP 500.")
    ] = 0.0,
    busy_rate: Annotated[
        float, typer.Option("--busy-rate", help="Share answered 503 SERVER_BUSY.")
    ] = 0.0,
    rate_limit: Annotated[
        float | None, typer.Option("--rate-limit", help="Requests/s; 429 RATE_LIMITED beyond.")
    ] = None,
    drop_rate: Annotated[
        float, typer.Option("--drop-rate", help="Share closed without an answer.")
    ] = 0.0,
    max_inflight: Annotated[
        int | None, typer.Option("--max-inflight", help="503 beyond this many concurrent calls.")
    ] = None,
    capacity: Annotated[
        int | None,
        typer.Option(
            "--capacity", help="Process at most N calls at once; the rest wait (a load model)."
        ),
    ] = None,
    fleet: Annotated[
        int,
        typer.Option(
            "--fleet",
            help="Run N independent gateways on N consecutive ports from --port (databases "
            "DB-1, DB-2, ... beside --db); one listening line each.",
        ),
    ] = 1,
    fault_after_commit: Annotated[
        bool,
        typer.Option("--fault-after-commit", help="Drops and 500s happen after a save committed."),
    ] = False,
    synchronous: Annotated[
        str,
        typer.Option(
            "--synchronous", help="SQLite synchronous: FULL (survives power loss) or NORMAL."
        ),
    ] = "FULL",
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request to stderr.")
    ] = False,
    tls_cert: Annotated[
        Path | None,
        typer.Option("--tls-cert", help="Serve HTTPS with this PEM certificate (and --tls-key)."),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="The private key of --tls-cert (PEM).")
    ] = None,
    header_timeout: Annotated[
        float, typer.Option("--header-timeout", help="Seconds for a request's headers (then 408).")
    ] = 10.0,
    body_timeout: Annotated[
        float, typer.Option("--body-timeout", help="Seconds for a request's body (then 408).")
    ] = 10.0,
) -> None:
    """Run the local gateway: the sip_endpoint API of SPEC.md over HTTP, with fault injection.

    Admin credentials come from SIP_IMPORT_USER / SIP_IMPORT_PASSWORD (admin/admin when both are
    unset). Prints "gateway listening on URL" once it accepts connections.

    Example:

    \b
        sip-import gateway --port 0 --db /tmp/gw.db --latency-ms 20 --error-rate 0.1 --seed 1
    """
    from gateway import GatewayConfig, serve
    from gateway.server import fleet_configs, serve_fleet

    def run() -> None:
        try:
            config = GatewayConfig(
                host=host, port=port, db=db, session_ttl=session_ttl, seed=seed,
                latency_ms=latency_ms, jitter_ms=jitter_ms, error_rate=error_rate,
                busy_rate=busy_rate, rate_limit=rate_limit, drop_rate=drop_rate,
                max_inflight=max_inflight, capacity=capacity,
                fault_after_commit=fault_after_commit,
                synchronous=synchronous.upper(), access_log=access_log,  # type: ignore[arg-type]
                tls_cert=tls_cert, tls_key=tls_key, header_timeout=header_timeout,
                body_timeout=body_timeout,
            )  # fmt: skip
            db.parent.mkdir(parents=True, exist_ok=True)
            if fleet == 1:
                serve(config)
            else:
                serve_fleet(fleet_configs(config, fleet))
        except ValueError as exc:
            from .errors import InputError

            raise InputError(str(exc)) from None

    _guard(run)


#: Set by a command once every file it writes is written and closed: the process may then end
#: without the interpreter's teardown. A long validate leaves hundreds of MB of frames and Arrow
#: buffers, and freeing them one object at a time took 0.1-0.15 s of a 2 s run.
_written: list[bool] = []


def main(on_end: Callable[[], None] | None = None) -> None:
    """Console-script entry point (``app()`` is the same command line without the quick end).
    ``on_end`` runs once the command is done, before the process ends either way
    (benchmarks/rss_probe.py records its peaks there)."""
    try:
        try:
            app()
        finally:
            if on_end is not None:
                on_end()
    except KeyboardInterrupt:
        err.print("error: interrupted")
        sys.exit(130)
    except SystemExit as exc:
        if _written and isinstance(exc.code, int):
            logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                # A reader that went away (`| head`) gets what was written; no traceback.
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(exc.code)
        raise
