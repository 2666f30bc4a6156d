"""Command line: parse options, call the pipeline, turn named exceptions into one line + exit code.

Pipeline modules are imported inside the commands so ``--help`` answers at once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["app", "main"]

app = typer.Typer(
    name="sip-import",
    help="Bulk-load SIP endpoints from spreadsheets into Digium/Sangoma gateways.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")

EXIT_INPUT = 2
EXIT_GATEWAY = 3

_OUTCOME_ORDER = (
    "valid", "created", "updated", "renamed", "unchanged", "deleted", "skipped", "rejected", "failed",
)  # fmt: skip


@app.callback()
def _root() -> None:
    """Bulk-load SIP endpoints from spreadsheets into Digium/Sangoma gateways."""


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)


def _guard(job: Callable[[], T]) -> T:
    """Run a job; every failure becomes one line on stderr and a documented exit code."""
    from .errors import InputError

    try:
        return job()
    except InputError as exc:
        raise _fail(str(exc), EXIT_INPUT) from None
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
    table.add_column("rows", justify="right")
    outcomes = summary["outcomes"]
    for name in _OUTCOME_ORDER:
        if name in outcomes:
            table.add_row(name, str(outcomes[name]))
    table.add_row("blank (skipped)", str(summary["blank"]), style="dim")
    table.add_row("total data rows", str(summary["rows"]), style="bold")
    out.print(table)
    for warning in summary["warnings"]:
        out.print(f"warning: {warning}", markup=False)
    if summary.get("rows_with_warnings"):
        out.print(f"{summary['rows_with_warnings']} row(s) have warnings (see results.csv)")
    if summary.get("error_keys"):
        keys = ", ".join(f"{k} {v}" for k, v in sorted(summary["error_keys"].items()))
        out.print(f"problems: {keys}", markup=False)


SheetArg = Annotated[Path, typer.Argument(help="CSV, XLSX, XLSM, XLS or ODS file.", show_default=False)]
SheetOpt = Annotated[
    str | None, typer.Option("--sheet", help="Worksheet to read (default: first with a 'name' column).")
]
MappingOpt = Annotated[
    Path | None,
    typer.Option("--mapping", help='TOML file of header aliases: [aliases] "Trunk Name" = "name".'),
]
ReportDirOpt = Annotated[
    Path | None,
    typer.Option("--report-dir", help="Where to write the reports (default: reports/<UTC time>/)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]


@app.command()
def validate(
    sheet_file: SheetArg,
    sheet: SheetOpt = None,
    mapping: MappingOpt = None,
    report_dir: ReportDirOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check every row of a sheet against the gateway's rules; save nothing.

    Exit 0 when every row is valid, 1 when some rows are rejected, 2 when the file is unusable.

    Example:

        sip-import validate carriers.xlsx --report-dir reports/today
    """
    from .pipeline import validate_file

    result = _guard(
        lambda: validate_file(
            sheet_file, sheet=sheet, mapping=mapping, report_dir=report_dir, strict=strict
        )
    )
    if json_out:
        print(json.dumps(result.summary))
    elif not quiet:
        _print_summary(result.summary)
        out.print(f"reports: {result.paths.directory}", markup=False)
    raise typer.Exit(result.exit_code)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("error: interrupted")
        sys.exit(130)
