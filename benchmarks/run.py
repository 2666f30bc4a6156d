"""``make bench``: the benchmarks of issues 6 and 19 (medians of 3+ runs); rewrites RESULTS.md.

    .venv/bin/python -m benchmarks.run            # full sizes, rewrites benchmarks/RESULTS.md
    .venv/bin/python -m benchmarks.run --quick    # small sizes, writes benchmarks/data/RESULTS.quick.md
    .venv/bin/python -m benchmarks.run --only validate xlsx   # some figures (not RESULTS.md)

``BENCH_QUICK=1`` is the same as ``--quick``. Progress goes to stderr, one line per step.

Figures:

1. ``validate``: a 100k-row CSV through load + normalize + validate (our library functions; the
   report writing timed apart) against frictionless-py with ``frictionless_schema.json`` plus two
   row constraints; the rejected-row sets of both tools and the generator's own list must be equal.
2. ``xlsx``: a 100k-row XLSX through ``importer.sheets.load.load_sheet``, through
   ``pandas.read_excel(engine="openpyxl", dtype=str)`` and through raw python-calamine.
3. ``save``: the real import path (``importer.gateways.upload.run_job``) into ``python -m gateway
   --latency-ms 20`` (a fresh database per run) at concurrency 1 and 32; client CPU per 1,000 rows.
4. ``gateway``: ``benchmarks/bench_gateway.py``'s saves/s at concurrency 1, 8 and 64.
5. ``scale``: a 1M-row CSV through the ``sip-import validate`` console script: rows/s, peak RSS
   of the process group (issue 19, target 2).
6. ``pacing``: adaptive concurrency against a gateway of limited capacity.
7. ``fleet``: 50 gateways x 200 rows in one job.
8. ``frictionless``: whole processes, ``sip-import validate`` against frictionless-py on
   300k-row, 20-column sheets, with a plain schema and with row constraints (issue 19, target 1).
9. ``sync``: ``benchmarks/bench_sync.py``'s ``measure_sync`` (issue 19, target 3); "not
   measured" while that module is missing.
10. ``small``: ``sip-import validate`` of a 20-row sheet, 10 whole processes (issue 19, target 4).

RESULTS.md opens with the targets of issue 19 (target, median, min / max, PASS/MISS, the CPU
steal while the figure ran), then the other figures' targets.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import generate
from .aiohttp_reference import payloads, save_with_aiohttp
from .bench_gateway import PASSWORD, USER
from .bench_gateway import gateway as gateway_process

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "RESULTS.md"
QUICK_RESULTS = generate.DATA_DIR / "RESULTS.quick.md"
PARTIAL_RESULTS = generate.DATA_DIR / "RESULTS.partial.md"
SIP_IMPORT = Path(sys.executable).parent / "sip-import"

FIGURES = (
    "validate", "xlsx", "save", "gateway", "scale", "pacing", "fleet", "frictionless", "sync", "small",
)  # fmt: skip
PACKAGES = (
    "pandas", "pandera", "pyarrow", "numpy", "httpx", "httpx-aiohttp", "aiohttp", "openpyxl", "python-calamine",
    "frictionless", "uvicorn", "starlette",
)  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    validate_rows: int
    xlsx_rows: int
    save_rows_c32: int
    save_rows_c1: int
    gateway_saves: int
    gateway_modes: tuple[str, ...]
    scale_rows: int
    runs: int
    #: The save figure's runs: a single stall of the shared machine (tens of milliseconds with
    #: every call in flight waiting) moves one 4-second run by a few percent, so its median
    #: takes more runs than the others.
    save_runs: int
    #: Rows per run of the pacing figure, and the fleet figure's gateways x rows.
    pace_rows: int = 600
    fleet_gateways: int = 50
    fleet_rows: int = 200
    #: Issue 19: rows of the whole-process comparison with frictionless-py, of the sync figure,
    #: and runs of the 20-row figure (a half-second run: more runs for a steady median).
    cli_rows: int = 300_000
    sync_rows: int = 100_000
    small_runs: int = 10

    @property
    def save_run_count(self) -> int:
        """Runs of the save figure: ``save_runs``, or more if ``--runs`` asks for more."""
        return max(self.runs, self.save_runs)


#: Runs of sip-import per frictionless run in the validate comparison (see bench_validate).
OURS_PER_ROUND = 3

# Issue 19's targets (whole processes, medians, this machine).
PLAIN_RATIO = 4.0  # validate 300k rows, 20 columns: at least 4x frictionless-py, plain schema
SCALE_RATE = 150_000  # validate 1M rows, every report: rows/s
MEMORY_MB = 400  # peak RSS of the process group: validate 1M rows, sync 100k rows
SYNC_UNCHANGED_S = 2.5  # sync of a 100k-row sheet that changes nothing
SMALL_S = 0.5  # validate a 20-row sheet
#: Bad rows of the 20-column sheets (issue 19: 1% bad).
CLI_BAD_SHARE = 0.01

FULL = Sizes(
    validate_rows=100_000,
    xlsx_rows=100_000,
    save_rows_c32=5_000,
    save_rows_c1=1_000,
    gateway_saves=1_000,
    gateway_modes=("FULL", "NORMAL"),
    scale_rows=1_000_000,
    runs=3,
    save_runs=5,
)
QUICK = Sizes(
    validate_rows=5_000,
    xlsx_rows=5_000,
    save_rows_c32=400,
    save_rows_c1=100,
    gateway_saves=200,
    gateway_modes=("FULL",),
    scale_rows=50_000,
    runs=3,
    save_runs=3,
    pace_rows=120,
    fleet_gateways=5,
    fleet_rows=20,
    cli_rows=10_000,
    sync_rows=2_000,
    small_runs=5,
)


# --- small helpers ----------------------------------------------------------------------------

_started = time.perf_counter()


def say(text: str) -> None:
    print(f"[bench {time.perf_counter() - _started:6.1f}s] {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Stat:
    """Median, min and max of one measurement over the runs."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


def stat(values: Sequence[float]) -> Stat:
    return Stat(tuple(values))


def rate(rows: int, seconds: Stat) -> Stat:
    """Rows per second for each run (so min/max rate come from max/min time)."""
    return stat([rows / s for s in seconds.values])


def fmt_n(value: float, digits: int = 0) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def fmt_s(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.1f}"


def pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}%"


def row_of(label: str, s: Stat, scale: Callable[[float], str] = fmt_s) -> str:
    return f"| {label} | {scale(s.median)} | {scale(s.low)} | {scale(s.high)} |"


@dataclass
class Target:
    figure: str
    target: str
    achieved: str
    #: None: not measured (a figure whose code is not there yet).
    ok: bool | None
    note: str = ""
    #: Issue 19's targets: their number (1-4) in the issue, min / max of the figure, and the CPU
    #: steal while its figure ran (filled in by ``main`` after the figure).
    issue_target: int = 0
    spread: str = ""
    steal: float | None = None


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "PASS" if ok else "**MISS**"


@dataclass
class Report:
    sizes: Sizes
    quick: bool
    sections: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    #: CPU steal (percent) while each figure ran.
    steal: dict[str, float] = field(default_factory=dict)


def cpu_times() -> tuple[int, int]:
    """(steal, total) CPU ticks of the whole machine so far, from /proc/stat ((0, 0) elsewhere).

    Steal is time this virtual machine's CPUs were ready to run but the hypervisor ran another
    guest: it slows every figure and is outside the project's control, so it is reported."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    steal = fields[7] if len(fields) > 7 else 0
    return steal, sum(fields[:8])


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Percent of the machine's CPU time stolen between two ``cpu_times`` readings."""
    total = after[1] - before[1]
    return 100 * (after[0] - before[0]) / total if total > 0 else math.nan


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


# --- machine ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "n/a"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "n/a"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine_section(
    load_start: tuple[float, float, float],
    load_end: tuple[float, ...],
    steal: dict[str, float] | None = None,
) -> str:
    lines = [
        "## Machine",
        "",
        "| item | value |",
        "|---|---|",
        f"| CPU | {_cpu_model()} |",
        f"| cores (os.cpu_count) | {os.cpu_count()} |",
        f"| `nproc` | {_nproc()} |",
        f"| memory | {_memory()} |",
        f"| OS | {platform.platform()} |",
        f"| Python | {platform.python_version()} ({platform.python_implementation()}) |",
        f"| sip-import | {_version('sip-import')} (git {_git_head()}) |",
    ]
    lines += [f"| {name} | {_version(name)} |" for name in PACKAGES]
    lines += [
        f"| load average at start (1/5/15 min) | {' / '.join(f'{x:.2f}' for x in load_start)} |",
        f"| load average at end (1/5/15 min) | {' / '.join(f'{x:.2f}' for x in load_end)} |",
    ]
    if steal:
        shares = ", ".join(f"{name} {pct(share)}" for name, share in steal.items())
        lines.append(f"| CPU steal by the hypervisor, per figure | {shares} |")
    return "\n".join(lines)


def _git_head() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        # The bench's own outputs (RESULTS.md, the pacing plot) do not make the code dirty.
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!benchmarks/RESULTS.md",
                ":!docs/pacing.png",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "n/a"
    return f"{head}{' + uncommitted changes' if dirty else ''}" if head else "n/a"


def get_sheet(rows: int, fmt: str, **kwargs: Any) -> generate.Sheet:
    built = generate.sheet(rows, fmt, **kwargs)
    how = f"built in {built.seconds_to_build:.1f}s" if built.seconds_to_build else "cached"
    say(f"sheet {built.path.name}: {rows:,} rows, {len(built.bad_rows):,} bad ({how})")
    return built


# --- 1. validate vs frictionless ---------------------------------------------------------------


def _ours_once(path: Path) -> dict[str, Any]:
    from importer.pipeline import validation_results
    from importer.reports.report import write_reports
    from importer.sheets.load import load_sheet
    from importer.sheets.normalize import normalize
    from importer.validate import validate

    gc.collect()
    t0 = time.perf_counter()
    loaded = load_sheet(path)
    t1 = time.perf_counter()
    normalized = normalize(loaded)
    t2 = time.perf_counter()
    validation = validate(normalized)
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        results = validation_results(validation)
        write_reports(Path(tmp), normalized, results, validation.problems)
        t4 = time.perf_counter()
    return {
        "load": t1 - t0,
        "normalize": t2 - t1,
        "validate": t3 - t2,
        "reports": t4 - t3,
        "rejected": frozenset(int(r) for r in validation.rejected_rows),
    }


def _frictionless_once(path: Path) -> tuple[float, frozenset[int], list[str]]:
    from frictionless import Checklist, Resource, Schema

    from .frictionless_schema import CHECKS, load

    schema = Schema.from_descriptor(load())
    checklist = Checklist.from_descriptor({"checks": CHECKS})
    gc.collect()
    started = time.perf_counter()
    resource = Resource(path=path.name, basepath=str(path.parent), schema=schema)
    report = resource.validate(checklist, limit_errors=10**9)
    seconds = time.perf_counter() - started
    rows: set[int] = set()
    other: list[str] = []
    for number, kind, note in report.flatten(["rowNumber", "type", "note"]):
        if number is None:
            other.append(f"{kind}: {note}")
        else:
            rows.add(int(number))
    return seconds, frozenset(rows), other


def _verdicts(name: str, got: frozenset[int], truth: frozenset[int], report: Report) -> bool:
    if got == truth:
        return True
    extra, missing = sorted(got - truth), sorted(truth - got)
    report.failures.append(
        f"{name}: rejected {len(got):,} rows, the generator broke {len(truth):,}; "
        f"extra {extra[:10]}, missing {missing[:10]}"
    )
    return False


def bench_validate(sizes: Sizes, report: Report) -> None:
    sheet = get_sheet(sizes.validate_rows, "csv")
    truth = sheet.bad_rows
    warm = get_sheet(2_000, "csv")
    _ours_once(warm.path)  # imports and first-call costs stay out of the figure
    _frictionless_once(warm.path)

    # Interleaved, like the XLSX runs: on a shared machine a slow spell then hits both tools.
    ours: list[dict[str, Any]] = []
    fr: list[float] = []
    fr_rows: list[frozenset[int]] = []
    # A one-second run can sit wholly inside a burst of the other VM's load that a
    # twenty-second run averages out, so ours runs OURS_PER_ROUND times per frictionless run:
    # more samples for a stable median of the short side (found when the same code measured
    # 12.8x, 14.6x and 20.0x in three bench runs).
    ours_runs = sizes.runs * OURS_PER_ROUND
    for i in range(sizes.runs):
        for _ in range(OURS_PER_ROUND):
            run = _ours_once(sheet.path)
            ours.append(run)
            total = run["load"] + run["normalize"] + run["validate"]
            say(
                f"validate: ours run {len(ours)}/{ours_runs}: {total:.2f}s "
                f"(+{run['reports']:.2f}s reports), {sheet.rows / total:,.0f} rows/s"
            )
        seconds, rejected, other = _frictionless_once(sheet.path)
        if other:
            report.failures.append(f"frictionless reported non-row errors: {other[:5]}")
        fr.append(seconds)
        fr_rows.append(rejected)
        say(
            f"validate: frictionless run {i + 1}/{sizes.runs}: {seconds:.2f}s, "
            f"{sheet.rows / seconds:,.0f} rows/s"
        )

    same = all(_verdicts("sip-import", run["rejected"], truth, report) for run in ours)
    same &= all(_verdicts("frictionless", rows, truth, report) for rows in fr_rows)
    check = stat([r["load"] + r["normalize"] + r["validate"] for r in ours])
    reports = stat([r["reports"] for r in ours])
    with_reports = stat([r["load"] + r["normalize"] + r["validate"] + r["reports"] for r in ours])
    friction = stat(fr)
    ratio = friction.median / check.median
    ratio_reports = friction.median / with_reports.median
    lines = [
        f"## 1. Validate a {sheet.rows:,}-row CSV: sip-import vs frictionless-py",
        "",
        f"Sheet: `{sheet.path.name}` ({sheet.rows:,} data rows, 15 columns, "
        f"{len(truth):,} bad rows of 13 kinds, generated with seed 1). sip-import: "
        "`load_sheet` + `normalize` + `validate` in this process (the report files timed "
        "apart: results.csv, rejections.csv, rejections.xlsx). frictionless-py: "
        "`Resource(...).validate()` with `benchmarks/frictionless_schema.json` and the two "
        "row-constraint checks of `benchmarks/frictionless_schema.py`, `limit_errors` lifted. "
        "One untimed warm-up run of each on a 2,000-row sheet first; then the runs alternate, "
        f"{OURS_PER_ROUND} of ours to each of frictionless ({ours_runs} against {sizes.runs}): a "
        "one-second run is more exposed to this shared machine's bursts of load than a "
        "twenty-second one, so the short side gets more samples for its median.",
        "",
        "| step (seconds) | median | min | max |",
        "|---|---:|---:|---:|",
        row_of("sip-import: load", stat([r["load"] for r in ours])),
        row_of("sip-import: normalize", stat([r["normalize"] for r in ours])),
        row_of("sip-import: validate", stat([r["validate"] for r in ours])),
        row_of("**sip-import: load + normalize + validate**", check),
        row_of("sip-import: writing the reports", reports),
        row_of("sip-import: all of the above", with_reports),
        row_of("**frictionless-py validate**", friction),
        "",
        "| rows/s | median | min | max |",
        "|---|---:|---:|---:|",
        row_of("sip-import (load + normalize + validate)", rate(sheet.rows, check), fmt_n),
        row_of("sip-import including the reports", rate(sheet.rows, with_reports), fmt_n),
        row_of("frictionless-py", rate(sheet.rows, friction), fmt_n),
        "",
        f"Ratio (median frictionless time / median sip-import time): **{ratio:.1f}x** "
        f"(with our report writing counted: {ratio_reports:.1f}x).",
        "",
        "Verdicts: "
        + (
            f"identical. Both tools rejected exactly the {len(truth):,} rows the generator broke, "
            "in every run (asserted)."
            if same
            else "**DIFFERENT** (see the failures at the end)."
        ),
        "",
        "Where our time goes (medians): "
        + ", ".join(
            f"{step} {100 * statistics.median(r[step] for r in ours) / check.median:.0f}%"
            for step in ("load", "normalize", "validate")
        )
        + f" of the check; writing the reports takes {reports.median / check.median:.1f}x "
        "as long as the check itself.",
    ]
    report.sections.append("\n".join(lines))
    report.targets.append(
        Target(
            f"validate {sheet.rows:,}-row CSV vs frictionless-py",
            ">= 20x faster, identical verdicts",
            f"{ratio:.1f}x, verdicts {'identical' if same else 'DIFFERENT'}",
            ratio >= 20 and same,
            f"{ratio_reports:.1f}x with report writing",
        )
    )


# --- 2. XLSX ------------------------------------------------------------------------------------


def bench_xlsx(sizes: Sizes, report: Report) -> None:
    import pandas as pd
    from python_calamine import CalamineWorkbook

    from importer.sheets.load import load_sheet

    sheet = get_sheet(sizes.xlsx_rows, "xlsx")
    warm = get_sheet(2_000, "xlsx")
    load_sheet(warm.path)

    def ours() -> int:
        return len(load_sheet(sheet.path).frame)

    def calamine() -> int:
        return len(CalamineWorkbook.from_path(str(sheet.path)).get_sheet_by_index(0).to_python())

    def pandas_openpyxl() -> int:
        return len(pd.read_excel(sheet.path, engine="openpyxl", dtype=str))

    times: dict[str, list[float]] = {"ours": [], "calamine": [], "pandas": []}
    fns = {"ours": ours, "calamine": calamine, "pandas": pandas_openpyxl}
    # Interleaved, so a burst of load on the machine does not land on one tool only.
    for i in range(sizes.runs):
        for name, fn in fns.items():
            seconds, rows = timed(fn)
            times[name].append(seconds)
            say(f"xlsx: {name} run {i + 1}/{sizes.runs}: {seconds:.2f}s ({rows:,} rows)")
    o, c, p = stat(times["ours"]), stat(times["calamine"]), stat(times["pandas"])
    vs_pandas = p.median / o.median
    vs_floor = o.median / c.median
    lines = [
        f"## 2. Read a {sheet.rows:,}-row XLSX",
        "",
        f"Workbook: `{sheet.path.name}` ({sheet.rows:,} data rows, 15 columns; numbers typed "
        "as numbers, IDs with leading zeros as text; written by openpyxl in write-only mode). "
        "sip-import: `importer.sheets.load.load_sheet` (the whole loader: format sniffing, sheet "
        "choice, every cell to text, blank rows, row numbers). Floor: "
        "`CalamineWorkbook.from_path(...).get_sheet_by_index(0).to_python()`. pandas: "
        '`pandas.read_excel(engine="openpyxl", dtype=str)`. Runs interleaved.',
        "",
        "| reader (seconds) | median | min | max |",
        "|---|---:|---:|---:|",
        row_of("**sip-import load_sheet**", o),
        row_of("raw python-calamine (floor)", c),
        row_of("pandas.read_excel + openpyxl", p),
        "",
        "| rows/s | median | min | max |",
        "|---|---:|---:|---:|",
        row_of("sip-import load_sheet", rate(sheet.rows, o), fmt_n),
        row_of("raw python-calamine", rate(sheet.rows, c), fmt_n),
        row_of("pandas.read_excel + openpyxl", rate(sheet.rows, p), fmt_n),
        "",
        f"Ratios (medians): pandas + openpyxl / sip-import = **{vs_pandas:.1f}x**; "
        f"sip-import / raw calamine = **{vs_floor:.2f}x**.",
    ]
    report.sections.append("\n".join(lines))
    report.targets += [
        Target(
            f"read {sheet.rows:,}-row XLSX vs pandas + openpyxl",
            ">= 8x faster",
            f"{vs_pandas:.1f}x",
            vs_pandas >= 8,
        ),
        Target(
            f"read {sheet.rows:,}-row XLSX vs raw calamine",
            "within 1.3x",
            f"{vs_floor:.2f}x",
            vs_floor <= 1.3,
        ),
    ]


# --- 3. saving through the real client -------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class SaveRun:
    rows: int
    wall: float
    save: float
    client_cpu: float
    gateway_cpu: float
    steal: float


def _save_once(path: Path, rows: int, concurrency: int, tmp: Path, index: int) -> SaveRun:
    from importer.config import Credentials, GatewaySettings
    from importer.gateways.upload import JobOptions, run_job

    db = tmp / f"gw-c{concurrency}-{index}.db"
    with gateway_process(db, "--latency-ms", "20") as (url, pid):
        # Fixed: this figure measures the client at concurrency 1 and 32, not the pacing.
        settings = GatewaySettings(
            url, Credentials(USER, PASSWORD), concurrency=concurrency, fixed_concurrency=True
        )
        gc.collect()
        gateway_before, steal_before = _proc_cpu(pid), cpu_times()
        cpu_before, started = time.process_time(), time.perf_counter()
        result = run_job(
            path,
            settings=settings,
            options=JobOptions("import", journal=None),
            report_dir=tmp / f"reports-c{concurrency}-{index}",
        )
        wall = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_before
        gateway_cpu = _proc_cpu(pid) - gateway_before
        steal = steal_share(steal_before, cpu_times())
    outcomes = result.summary["outcomes"]
    if outcomes != {"created": rows}:
        raise RuntimeError(f"import at concurrency {concurrency} ended {outcomes}, not all created")
    save = float(result.summary["timings"]["save"])
    return SaveRun(rows, wall, save, client_cpu, gateway_cpu, steal)


def _reference_once(rows: list[dict[str, Any]], tmp: Path, index: int) -> SaveRun:
    """The bare aiohttp reference (benchmarks/aiohttp_reference.py) at concurrency 32."""
    db = tmp / f"gw-reference-{index}.db"
    with gateway_process(db, "--latency-ms", "20") as (url, pid):
        gc.collect()
        gateway_before, steal_before = _proc_cpu(pid), cpu_times()
        run = save_with_aiohttp(url, USER, PASSWORD, rows, 32)
        gateway_cpu = _proc_cpu(pid) - gateway_before
        steal = steal_share(steal_before, cpu_times())
    return SaveRun(run.rows, run.seconds, run.seconds, run.client_cpu, gateway_cpu, steal)


def bench_save(sizes: Sizes, report: Report) -> None:
    big = get_sheet(sizes.save_rows_c32, "csv", seed=2, bad_share=0.0)
    small = get_sheet(sizes.save_rows_c1, "csv", seed=2, bad_share=0.0)
    plans = [(1, small), (32, big)]
    runs: dict[int, list[SaveRun]] = {1: [], 32: []}
    reference: list[SaveRun] = []
    reference_rows = payloads(big.path)
    with tempfile.TemporaryDirectory(prefix="bench-save-") as tmp_name:
        tmp = Path(tmp_name)
        save_runs = sizes.save_run_count
        for i in range(save_runs):
            for concurrency, sheet in plans:
                run = _save_once(sheet.path, sheet.rows, concurrency, tmp, i)
                runs[concurrency].append(run)
                say(
                    f"save: concurrency {concurrency} run {i + 1}/{save_runs}: "
                    f"{run.rows:,} rows in {run.wall:.2f}s (save phase {run.save:.2f}s, "
                    f"{run.rows / run.save:,.0f} rows/s), client CPU {run.client_cpu:.2f}s, "
                    f"CPU steal {run.steal:.1f}%"
                )
            # Right after the product's concurrency-32 run, so both see the same machine.
            ref = _reference_once(reference_rows, tmp, i)
            reference.append(ref)
            say(
                f"save: bare aiohttp reference, concurrency 32, run {i + 1}/{save_runs}: "
                f"{ref.rows:,} rows in {ref.save:.2f}s ({ref.rows / ref.save:,.0f} rows/s), "
                f"client CPU {ref.client_cpu:.2f}s, CPU steal {ref.steal:.1f}%"
            )

    def block(rs: list[SaveRun]) -> dict[str, Stat]:
        return {
            "save_rate": stat([r.rows / r.save for r in rs]),
            "wall_rate": stat([r.rows / r.wall for r in rs]),
            "cpu": stat([r.client_cpu / r.rows * 1000 for r in rs]),
            "gw_cpu": stat([r.gateway_cpu / r.rows * 1000 for r in rs]),
            "busy": stat([100 * r.client_cpu / r.wall for r in rs]),
            "gw_busy": stat([100 * r.gateway_cpu / r.wall for r in rs]),
            "steal": stat([r.steal for r in rs]),
        }

    one, many, bare = block(runs[1]), block(runs[32]), block(reference)
    ratio = many["save_rate"].median / one["save_rate"].median
    versus_bare = many["save_rate"].median / bare["save_rate"].median
    ratio_wall = many["wall_rate"].median / one["wall_rate"].median
    scaled = sizes.save_rows_c1 != sizes.save_rows_c32
    lines = [
        "## 3. Save into the local gateway (20 ms latency): concurrency 1 vs 32",
        "",
        "The real import path in this process: `importer.gateways.upload.run_job(sheet, settings="
        "GatewaySettings(url, Credentials(user, pw), concurrency=N), options=JobOptions("
        '"import", journal=None))` (login, one `sip_endpoints.list`, plan, the saves, the '
        "reports) against `python -m gateway --port 0 --db <fresh file> --latency-ms 20`, a "
        "separate process started anew for every run. Sheets: generated with seed 2 and no bad "
        "rows, so every row is one save.",
        "",
        f"Concurrency 32 saves {sizes.save_rows_c32:,} rows per run; concurrency 1 saves "
        f"{sizes.save_rows_c1:,} rows per run"
        + (
            f" (at ~25 ms a call, {sizes.save_rows_c32:,} rows would take over 2 minutes per run; "
            "rates are per row, so they compare directly)."
            if scaled
            else "."
        ),
        "",
        '"save phase" is `run_job`\'s own lap from login to the last answer; "end to end" is '
        "the whole `run_job` call (load, validate, plan, save, write the reports). Client CPU is "
        "`time.process_time()` around `run_job` (this process only); gateway CPU is the gateway "
        "process's, from /proc.",
        "",
        "| figure | median | min | max |",
        "|---|---:|---:|---:|",
        row_of("concurrency 1: rows/s, save phase", one["save_rate"], fmt_n),
        row_of("concurrency 32: rows/s, save phase", many["save_rate"], fmt_n),
        row_of("concurrency 1: rows/s, end to end", one["wall_rate"], fmt_n),
        row_of("concurrency 32: rows/s, end to end", many["wall_rate"], fmt_n),
        row_of(
            "concurrency 1: client CPU s per 1,000 rows",
            one["cpu"],
            lambda v: fmt_n(v, 2),
        ),
        row_of(
            "concurrency 32: client CPU s per 1,000 rows",
            many["cpu"],
            lambda v: fmt_n(v, 2),
        ),
        row_of(
            "concurrency 1: gateway CPU s per 1,000 rows",
            one["gw_cpu"],
            lambda v: fmt_n(v, 2),
        ),
        row_of(
            "concurrency 32: gateway CPU s per 1,000 rows",
            many["gw_cpu"],
            lambda v: fmt_n(v, 2),
        ),
        row_of("concurrency 1: CPU steal %", one["steal"], lambda v: fmt_n(v, 1)),
        row_of("concurrency 32: CPU steal %", many["steal"], lambda v: fmt_n(v, 1)),
        row_of("bare aiohttp reference, concurrency 32: rows/s", bare["save_rate"], fmt_n),
        row_of(
            "bare aiohttp reference: client CPU s per 1,000 rows",
            bare["cpu"],
            lambda v: fmt_n(v, 2),
        ),
        row_of(
            "bare aiohttp reference: gateway CPU s per 1,000 rows",
            bare["gw_cpu"],
            lambda v: fmt_n(v, 2),
        ),
        row_of("bare aiohttp reference: CPU steal %", bare["steal"], lambda v: fmt_n(v, 1)),
        "",
        "The product's client is httpx (`httpx.AsyncClient` over httpx-aiohttp's "
        "`AiohttpTransport`, importer/gateways/client.py and importer/gateways/transport.py). The reference "
        "(benchmarks/aiohttp_reference.py) is a bare `aiohttp.ClientSession` doing the same wire "
        "work (login, one list, one save per row, 32 workers, the same payloads) with nothing "
        "else: no httpx, retries, breaker, planning or reports; it runs right after each of the "
        "product's concurrency-32 runs, against a fresh gateway of its own. Its client CPU covers "
        "the saves only; the product's covers the whole `run_job` (load, validate, plan, save, "
        "reports).",
        "",
        f"The httpx client's save rate is **{100 * versus_bare:.0f}%** of the bare aiohttp "
        "reference's (medians).",
        "",
        f"Ratio concurrency 32 / concurrency 1 (median rows/s, save phase): **{ratio:.1f}x** "
        f"(ideal 32x); end to end: {ratio_wall:.1f}x.",
        "",
        f"CPU use during the concurrency-32 runs (medians): the client process was busy "
        f"{many['busy'].median:.0f}% of one core, the gateway {many['gw_busy'].median:.0f}%. "
        f"At {many['cpu'].median:.2f} client CPU seconds per 1,000 rows, one core caps the "
        f"client at about {1000 / many['cpu'].median:,.0f} rows/s, which is "
        f"{1000 / many['cpu'].median / one['save_rate'].median:.1f}x the concurrency-1 rate; "
        f"32x would need at most {1000 / (32 * one['save_rate'].median):.2f} s per 1,000 rows "
        "(and the gateway as little).",
        "",
        "CPU steal is the share of the machine's CPU time the hypervisor gave to other guests "
        "during the run (/proc/stat). The concurrency-32 rate needs the client and the gateway "
        "to get a core within a millisecond or two, while the concurrency-1 rate mostly waits "
        "out the 20 ms; so steal lowers the ratio, and the ratio is only comparable between "
        "runs with similar steal (see benchmarks/README.md).",
    ]
    report.sections.append("\n".join(lines))
    report.targets += [
        Target(
            "save at concurrency 32 vs 1 (20 ms latency), httpx client",
            ">= 26x (ideal 32x)",
            f"{ratio:.1f}x; client CPU {many['cpu'].median:.2f} s / 1,000 rows at c=32",
            ratio >= 26,
            f"end to end {ratio_wall:.1f}x",
        ),
        Target(
            "httpx client vs bare aiohttp reference, concurrency 32",
            "within 10% (>= 90%)",
            f"{100 * versus_bare:.0f}% ({many['save_rate'].median:,.0f} vs "
            f"{bare['save_rate'].median:,.0f} rows/s); reference client CPU "
            f"{bare['cpu'].median:.2f} s / 1,000 rows",
            versus_bare >= 0.9,
        ),
    ]


# --- pacing: adaptive concurrency against a gateway of limited capacity -----------------------

PACING_PLOT = ROOT / "docs" / "pacing.png"


def bench_pacing(sizes: Sizes, report: Report) -> None:
    from . import bench_pacing as pacing

    rows = payloads(get_sheet(sizes.pace_rows, "csv", seed=4, bad_share=0.0).path)
    # Against capacity 64 a run is over in well under a second at these sizes, and the adaptive
    # limit's first windows (it starts at 2) would weigh more than the pace it finds.
    many = payloads(get_sheet(5 * sizes.pace_rows, "csv", seed=4, bad_share=0.0).path)
    fixed_levels = (1, 2, 4, 8, 16, 32, 64)
    found: dict[int, dict[str, list[Any]]] = {}
    with pacing.temporary() as tmp_name:
        tmp = Path(tmp_name)
        for capacity in (4, 64):
            runs: dict[str, list[Any]] = {}
            levels = fixed_levels if capacity == 4 else (32,)
            sent = rows if capacity == 4 else many
            for i in range(sizes.runs):
                for level in levels:
                    run = pacing.pace_once(sent, capacity, level, True, tmp, i)
                    runs.setdefault(str(level), []).append(run)
                run = pacing.pace_once(sent, capacity, 64, False, tmp, i)
                runs.setdefault("adaptive", []).append(run)
                say(
                    f"pacing: capacity {capacity} run {i + 1}/{sizes.runs}: adaptive "
                    f"{run.rate:,.0f} rows/s, median latency {1000 * run.median_latency:.1f} ms, "
                    f"refused {run.refused}, limit at the end {run.history[-1][1]}"
                )
            found[capacity] = runs

    def median_of(runs: list[Any], attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in runs)

    four, wide = found[4], found[64]
    unloaded = median_of(four["1"], "median_latency")
    best_level = max((str(n) for n in fixed_levels), key=lambda n: median_of(four[n], "rate"))
    best = median_of(four[best_level], "rate")
    adaptive = median_of(four["adaptive"], "rate")
    latency = median_of(four["adaptive"], "median_latency")
    refused = sum(r.refused for r in four["adaptive"]) / sum(r.rows for r in four["adaptive"])
    wide_adaptive, wide_32 = median_of(wide["adaptive"], "rate"), median_of(wide["32"], "rate")
    pacing.plot(
        {
            "--capacity 4": four["adaptive"][len(four["adaptive"]) // 2],
            "--capacity 64": wide["adaptive"][len(wide["adaptive"]) // 2],
        },
        PACING_PLOT,
    )
    table = [
        "| concurrency | rows/s (median) | median latency ms | refused |",
        "|---|---:|---:|---:|",
    ]
    for label, runs in four.items():
        table.append(
            f"| {label if label == 'adaptive' else 'fixed ' + label} | "
            f"{median_of(runs, 'rate'):,.0f} | {1000 * median_of(runs, 'median_latency'):.1f} | "
            f"{sum(r.refused for r in runs)} |"
        )
    lines = [
        "## 6. Pacing: adaptive concurrency against a gateway of limited capacity",
        "",
        "`python -m gateway --capacity C --latency-ms 20` (at most C calls processed at once, the "
        "rest queue), a fresh one per run; the product's `GatewayClient` saves "
        f"{sizes.pace_rows:,} rows (the same payloads as the save figure) at a fixed concurrency "
        "or adaptive with a ceiling of 64 (`importer/gateways/pacing.py`). Latency is each "
        "call's time at the gateway (its queue and its work) as the pacer measured it; refused "
        "calls are 429/503 answers (the client retries them). Medians of "
        f"{sizes.runs} runs. The adaptive limit over time: `docs/pacing.png`.",
        "",
        "Capacity 4:",
        "",
        *table,
        "",
        f"Capacity 64 ({5 * sizes.pace_rows:,} rows a run): adaptive {wide_adaptive:,.0f} "
        f"rows/s at a median latency of {1000 * median_of(wide['adaptive'], 'median_latency'):.1f}"
        f" ms, fixed 32 {wide_32:,.0f} rows/s at "
        f"{1000 * median_of(wide['32'], 'median_latency'):.1f} ms.",
        "",
        "![adaptive limit over time](../docs/pacing.png)",
    ]
    report.sections.append("\n".join(lines))
    report.targets += [
        Target(
            "pacing vs --capacity 4: throughput of the best fixed concurrency",
            ">= 90%",
            f"{100 * adaptive / best:.0f}% ({adaptive:,.0f} vs fixed {best_level}'s {best:,.0f} "
            "rows/s)",
            adaptive >= 0.9 * best,
        ),
        Target(
            "pacing vs --capacity 4: median latency over the unloaded (fixed 1)",
            "<= 1.5x",
            f"{latency / unloaded:.2f}x ({1000 * latency:.1f} vs {1000 * unloaded:.1f} ms)",
            latency <= 1.5 * unloaded,
        ),
        Target(
            "pacing vs --capacity 4: calls refused",
            "< 1%",
            f"{100 * refused:.2f}%",
            refused < 0.01,
        ),
        Target(
            "pacing vs --capacity 64: throughput of fixed 32",
            ">= 90%",
            f"{100 * wide_adaptive / wide_32:.0f}% ({wide_adaptive:,.0f} vs {wide_32:,.0f} rows/s)",
            wide_adaptive >= 0.9 * wide_32,
        ),
    ]


def bench_fleet(sizes: Sizes, report: Report) -> None:
    from . import bench_pacing as pacing

    runs = []
    for i in range(sizes.runs):
        with pacing.temporary() as tmp_name:
            run = pacing.fleet_once(sizes.fleet_gateways, sizes.fleet_rows, Path(tmp_name))
        runs.append(run)
        say(
            f"fleet: run {i + 1}/{sizes.runs}: {run.saves:,} saves to {run.gateways} gateways in "
            f"{run.seconds:.1f}s ({run.rate:,.0f} saves/s), client CPU {run.client_cpu:.1f}s"
        )
    rate = stat([r.rate for r in runs])
    cpu = stat([1000 * r.client_cpu / r.saves for r in runs])
    per_core = 1000 / cpu.median
    lines = [
        f"## 7. A fleet: {sizes.fleet_gateways} gateways x {sizes.fleet_rows} rows",
        "",
        f"`python -m gateway --fleet {sizes.fleet_gateways} --latency-ms 20` (one process: "
        f"{sizes.fleet_gateways} gateways with their own databases) and the real fleet job "
        "(`run_fleet`, every row to every gateway, ceiling 8 per gateway, adaptive pacing, "
        "64 connections across the fleet), in this process.",
        "",
        "| figure | median | min | max |",
        "|---|---:|---:|---:|",
        row_of("saves/s across the fleet", rate, fmt_n),
        row_of("client CPU s per 1,000 saves", cpu, lambda v: fmt_n(v, 2)),
        "",
        f"One core of this client drives about {per_core:,.0f} saves/s (at "
        f"{cpu.median:.2f} s of CPU per 1,000); here the gateways share the machine's other "
        "core, so the aggregate rate measures both. benchmarks/README.md turns this into fleet "
        "sizes and nightly change rates.",
    ]
    report.sections.append("\n".join(lines))
    report.targets.append(
        Target(
            f"fleet of {sizes.fleet_gateways} x {sizes.fleet_rows} rows (20 ms latency)",
            "measured (no target)",
            f"{rate.median:,.0f} saves/s; client CPU {cpu.median:.2f} s / 1,000 saves",
            True,
        )
    )


# --- 4. gateway saves/s -------------------------------------------------------------------------


def bench_gateway_saves(sizes: Sizes, report: Report) -> None:
    from . import bench_gateway

    load_before = os.getloadavg()[0]
    say(
        f"gateway: bench_gateway.measure({sizes.gateway_saves} saves, modes "
        f"{list(sizes.gateway_modes)}), {bench_gateway.RUNS} runs per cell"
    )
    results = bench_gateway.measure(sizes.gateway_saves, list(sizes.gateway_modes))
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    table = bench_gateway.table(results, sizes.gateway_saves, load)
    body = table.replace("## Local gateway: saves per second", "").strip()
    report.sections.append(
        "## 4. Local gateway: saves per second at concurrency 1, 8, 64 (no latency)\n\n"
        "From `benchmarks/bench_gateway.py` (`measure` + `table`); its own standalone run writes "
        "`benchmarks/results/gateway.md`.\n\n" + body
    )


# --- 5. scale -------------------------------------------------------------------------------------


def _cli_once(
    path: Path, tmp: Path, index: int
) -> tuple[float, float, float, int, dict[str, Any], dict[str, float], float]:
    reports = tmp / f"reports-{index}"
    memory = tmp / f"memory-{index}.json"
    steal_before, started = cpu_times(), time.perf_counter()
    # The command line run by benchmarks.rss_probe (the console script's command line, in one
    # process), which records the command's peak RSS and its writer child's apart.
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "benchmarks.rss_probe", str(memory),
            "validate", str(path), "--report-dir", str(reports), "--quiet",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    # wait4: this command's rusage; CPU includes the children it waited for (the xlsx writer).
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    steal = steal_share(steal_before, cpu_times())
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"sip-import validate exited {proc.returncode}: {stderr.strip()}")
    summary = json.loads((reports / "summary.json").read_text())
    peaks = json.loads(memory.read_text())
    # The main process and the xlsx writer run side by side: their sum bounds what both held.
    peak_mb = peaks["main_mb"] + peaks["children_mb"]
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, peak_mb, cpu, proc.returncode, summary, peaks, steal


def bench_scale(sizes: Sizes, report: Report) -> None:
    sheet = get_sheet(sizes.scale_rows, "csv")
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        for i in range(sizes.runs):
            seconds, peak_mb, cpu_s, code, summary, peaks, steal = _cli_once(
                sheet.path, Path(tmp_name), i
            )
            runs.append((seconds, peak_mb, cpu_s, summary, peaks, steal))
            rejected = summary["outcomes"].get("rejected", 0)
            if rejected != len(sheet.bad_rows):
                report.failures.append(
                    f"scale: sip-import validate rejected {rejected:,} rows, "
                    f"the generator broke {len(sheet.bad_rows):,}"
                )
            say(
                f"scale: run {i + 1}/{sizes.runs}: {seconds:.1f}s, "
                f"{sheet.rows / seconds:,.0f} rows/s, peak RSS {peak_mb:,.0f} MB "
                f"({peaks['main_mb']:,.0f} + writer {peaks['children_mb']:,.0f}), exit {code}, "
                f"CPU steal {steal:.1f}%"
            )
    wall = stat([r[0] for r in runs])
    peak = stat([r[1] for r in runs])
    peak_main = stat([r[4]["main_mb"] for r in runs])
    peak_writer = stat([r[4]["children_mb"] for r in runs])
    cpu = stat([r[2] for r in runs])
    laps = {
        lap: stat([float(r[3]["timings"].get(lap, math.nan)) for r in runs])
        for lap in ("names", "load", "normalize", "validate", "report", "total")
    }
    rows_s = rate(sheet.rows, wall)
    no_reports = stat(
        [
            sheet.rows / (r[3]["timings"]["names"] + r[3]["timings"]["load"]
                          + r[3]["timings"]["normalize"] + r[3]["timings"]["validate"])
            for r in runs
        ]
    )  # fmt: skip
    lines = [
        f"## 5. Scale: a {sheet.rows:,}-row CSV through `sip-import validate`",
        "",
        f"`sip-import validate {sheet.path.name} --report-dir <tmp> --quiet`, the installed "
        f"console script in a subprocess ({sheet.path.stat().st_size / 1e6:,.0f} MB, "
        f"{len(sheet.bad_rows):,} bad rows). Time is the wall clock of the whole process "
        "(interpreter start, imports, reports). Peak RSS is the command's own high-water mark "
        "(`VmHWM`) plus the largest RSS seen of the child process that writes rejections.xlsx "
        "beside it (sampled every 20 ms), both recorded by `benchmarks/rss_probe.py`, which runs "
        "the console script's command line (`importer.cli.app`) in one process: their sum bounds what both held at once "
        "(`ru_maxrss` would count the benchmark's own memory, which Linux carries over through "
        "exec). CPU seconds "
        "include the writer's. The stage rows come from the run's own summary.json; the "
        "stages overlap with the writer, so `report` is the time the main process spent on "
        "reports, waiting for the writer included.",
        "",
        "| figure | median | min | max |",
        "|---|---:|---:|---:|",
        row_of("wall seconds", wall),
        row_of("**rows/s (whole command)**", rows_s, fmt_n),
        row_of("rows/s of load + normalize + validate only", no_reports, fmt_n),
        row_of("**peak RSS, MB (both processes)**", peak, fmt_n),
        row_of("peak RSS, MB: the command", peak_main, fmt_n),
        row_of("peak RSS, MB: the rejections.xlsx writer", peak_writer, fmt_n),
        row_of("CPU seconds (user + system)", cpu),
        *(row_of(f"stage seconds: {lap}", s) for lap, s in laps.items()),
        row_of("CPU steal % during the run", stat([r[5] for r in runs]), lambda v: fmt_n(v, 1)),
        "",
        "Share of the command's wall time (medians): "
        + ", ".join(
            f"{lap} {100 * laps[lap].median / wall.median:.0f}%"
            for lap in ("names", "load", "normalize", "validate", "report")
        )
        + f"; interpreter start, imports and summary "
        f"{100 * (wall.median - laps['total'].median) / wall.median:.0f}%.",
    ]
    report.sections.append("\n".join(lines))
    steal = stat([r[5] for r in runs])
    report.targets += [
        Target(
            f"`validate` {sheet.rows:,} rows ({len(sheet.bad_rows) / sheet.rows:.0%} bad), every "
            "report: speed",
            f">= {SCALE_RATE:,} rows/s",
            f"{rows_s.median:,.0f} rows/s",
            rows_s.median >= SCALE_RATE,
            f"{no_reports.median:,.0f} rows/s without the report stage; wall {wall.median:.1f} s",
            issue_target=2,
            spread=f"{rows_s.low:,.0f} / {rows_s.high:,.0f} rows/s",
        ),
        Target(
            f"`validate` {sheet.rows:,} rows: peak RSS of the process group",
            f"<= {MEMORY_MB} MB",
            f"{peak.median:,.0f} MB",
            peak.median <= MEMORY_MB,
            f"the command {peak_main.median:,.0f} MB + the xlsx writer "
            f"{peak_writer.median:,.0f} MB; CPU steal per run {fmt_n(steal.low, 1)}-"
            f"{fmt_n(steal.high, 1)}%",
            issue_target=2,
            spread=f"{peak.low:,.0f} / {peak.high:,.0f} MB",
        ),
    ]


# --- 8. whole processes: sip-import validate vs frictionless-py (issue 19, target 1) -----------


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    rejected: frozenset[int]
    steal: float
    #: User + system CPU seconds of the process and the children it waited for: on this shared
    #: machine it moves less than the wall time when others' work queues ours.
    cpu: float


def _run_process(
    command: list[str],
) -> tuple[subprocess.CompletedProcess[str], float, float, float]:
    """Run ``command``; (its result, wall seconds, CPU steal %, CPU seconds)."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    steal_before, started = cpu_times(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    steal = steal_share(steal_before, cpu_times())
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return done, seconds, steal, cpu


def _ours_process(path: Path, tmp: Path) -> ProcessRun:
    """``sip-import validate PATH --report-dir DIR --quiet``, the installed console script; the
    rejected rows are read back from the results.csv it wrote."""
    reports = Path(tempfile.mkdtemp(prefix="reports-", dir=tmp))
    done, seconds, steal, cpu = _run_process(
        [str(SIP_IMPORT), "validate", str(path), "--report-dir", str(reports), "--quiet"]
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"sip-import validate exited {done.returncode}: {done.stderr.strip()}")
    with (reports / "results.csv").open(newline="", encoding="utf-8") as handle:
        rejected = frozenset(
            int(line["row"]) for line in csv.DictReader(handle) if line["outcome"] == "rejected"
        )
    shutil.rmtree(reports, ignore_errors=True)
    return ProcessRun(seconds, rejected, steal, cpu)


def _frictionless_process(path: Path, with_checks: bool) -> ProcessRun:
    """frictionless-py in a process of its own: ``python -c DRIVER`` (frictionless_schema.py)."""
    from .frictionless_schema import CHECKS, DRIVER, PLAIN_SCHEMA_PATH, load

    load(wide=True)  # rewrites frictionless_plain_schema.json if the code changed it
    command = [sys.executable, "-c", DRIVER, str(path), str(PLAIN_SCHEMA_PATH)]
    if with_checks:
        command.append(json.dumps(CHECKS))
    done, seconds, steal, cpu = _run_process(command)
    if done.returncode != 0:
        raise RuntimeError(f"frictionless exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return ProcessRun(seconds, frozenset(int(n) for n in done.stdout.split()), steal, cpu)


def _said(run: ProcessRun, what: str) -> ProcessRun:
    say(
        f"frictionless: {what}: {run.seconds:.2f}s ({run.cpu:.2f}s CPU), CPU steal {run.steal:.1f}%"
    )
    return run


def bench_frictionless(sizes: Sizes, report: Report) -> None:
    plain = get_sheet(sizes.cli_rows, "csv", bad_share=CLI_BAD_SHARE, variant="plain")
    wide = get_sheet(sizes.cli_rows, "csv", bad_share=CLI_BAD_SHARE, variant="wide")
    lines_of = {"plain": (plain, False), "checks": (wide, True)}
    ours: dict[str, list[ProcessRun]] = {"plain": [], "checks": []}
    theirs: dict[str, list[ProcessRun]] = {"plain": [], "checks": []}
    with tempfile.TemporaryDirectory(prefix="bench-frictionless-") as tmp_name:
        tmp = Path(tmp_name)
        # Untimed: the first start of each (bytecode caches, the page cache) stays out.
        warm = get_sheet(2_000, "csv", bad_share=CLI_BAD_SHARE, variant="wide")
        _ours_process(warm.path, tmp)
        _frictionless_process(warm.path, True)
        # Interleaved, so a burst of the shared machine's load does not land on one tool only;
        # two of ours per frictionless run for the target's line, whose short side is ours.
        for i in range(sizes.runs):
            for line, (sheet, checks) in lines_of.items():
                for _ in range(2 if line == "plain" else 1):
                    run = _ours_process(sheet.path, tmp)
                    ours[line].append(_said(run, f"{line}: sip-import run {len(ours[line]) + 1}"))
                run = _frictionless_process(sheet.path, checks)
                theirs[line].append(_said(run, f"{line}: frictionless run {i + 1}/{sizes.runs}"))

    same = {
        line: all(
            [_verdicts(f"sip-import ({line})", r.rejected, sheet.bad_rows, report) for r in ours[line]]
            + [
                _verdicts(f"frictionless ({line})", r.rejected, sheet.bad_rows, report)
                for r in theirs[line]
            ]
        )
        for line, (sheet, _) in lines_of.items()
    }  # fmt: skip
    o = {line: stat([r.seconds for r in runs]) for line, runs in ours.items()}
    t = {line: stat([r.seconds for r in runs]) for line, runs in theirs.items()}
    ratio = {line: t[line].median / o[line].median for line in o}
    # CPU seconds move less than wall time when the shared machine is busy: shown beside it.
    cpu_ratio = {
        line: statistics.median(r.cpu for r in theirs[line])
        / statistics.median(r.cpu for r in ours[line])
        for line in o
    }
    # The ratio's range: the fastest frictionless run over the slowest of ours, and back.
    spread = {line: (t[line].low / o[line].high, t[line].high / o[line].low) for line in o}
    all_steal = stat([r.steal for runs in (*ours.values(), *theirs.values()) for r in runs])
    table = ["| process (seconds) | median | min | max |", "|---|---:|---:|---:|"]
    rates = ["| rows/s | median | min | max |", "|---|---:|---:|---:|"]
    for line, label in (("plain", "plain schema"), ("checks", "schema + row constraints")):
        sheet = lines_of[line][0]
        table += [
            row_of(f"**sip-import validate** ({sheet.path.name})", o[line]),
            row_of(f"**frictionless-py**, {label}", t[line]),
            row_of("sip-import: CPU seconds", stat([r.cpu for r in ours[line]])),
            row_of("frictionless-py: CPU seconds", stat([r.cpu for r in theirs[line]])),
        ]
        rates += [
            row_of(f"sip-import, {sheet.path.name}", rate(sheet.rows, o[line]), fmt_n),
            row_of(f"frictionless-py, {label}", rate(sheet.rows, t[line]), fmt_n),
        ]
    lines = [
        f"## 8. Validate {plain.rows:,} rows, 20 columns: sip-import vs frictionless-py, "
        "whole processes",
        "",
        f"Two sheets of {plain.rows:,} rows, the 15 columns of section 1 and five more "
        "parameters a carrier sheet has (`fromuser`, `fromdomain`, `progressinband`, "
        f"`session-timers`, `max_forwards`), {CLI_BAD_SHARE:.0%} of rows bad, seed 1: "
        f"`{plain.path.name}` ({len(plain.bad_rows):,} bad rows, each with a mistake a plain "
        "Table Schema sees in one cell: out-of-range numbers, words outside an enum, pattern "
        f"breaks, an empty name) and `{wide.path.name}` ({len(wide.bad_rows):,} bad rows, also "
        "with the two cross-field mistakes of section 1).",
        "",
        f"sip-import: `{SIP_IMPORT.name} validate SHEET --report-dir <tmp> --quiet`, the "
        "installed console script in a subprocess, every report written (results.csv, "
        "rejections.csv, rejections.xlsx, summary.json); its rejected rows are read back from "
        "results.csv. frictionless-py: `python -c <DRIVER> SHEET "
        "benchmarks/frictionless_plain_schema.json [CHECKS]` in a subprocess "
        "(`benchmarks/frictionless_schema.py`: `Resource(...).validate()`, `limit_errors` "
        "lifted, the rejected row numbers printed), with the plain schema alone on the first "
        "sheet and with the schema plus the two row-constraint checks on the second. A driver "
        "rather than `frictionless validate`: the command line stops at 1,000 errors unless "
        "told otherwise and renders every error as a table (or the whole report as JSON), so "
        "it would time the printing of thousands of errors, and its output would have to be "
        "parsed back; the driver runs the same validation and prints only row numbers, which "
        "favours frictionless (ours writes all its reports). Both times are whole processes: "
        "interpreter start and imports included, as a user waits for them. One untimed run of "
        f"each on a 2,000-row sheet first; then interleaved, {sizes.runs} rounds, two of ours "
        "per frictionless run on the plain sheet, one on the other.",
        "",
        *table,
        "",
        *rates,
        "",
        f"Ratio (median frictionless time / median sip-import time): plain schema "
        f"**{ratio['plain']:.1f}x** (range {spread['plain'][0]:.1f}x-{spread['plain'][1]:.1f}x), "
        f"with row constraints **{ratio['checks']:.1f}x** (range {spread['checks'][0]:.1f}x-"
        f"{spread['checks'][1]:.1f}x); the range is the fastest frictionless run over the "
        "slowest of ours, and the slowest over the fastest.",
        "",
        "Verdicts: "
        + "; ".join(
            f"{label}: "
            + (
                f"identical, both tools rejected exactly the {len(lines_of[line][0].bad_rows):,} "
                "rows the generator broke in every run (asserted)"
                if same[line]
                else "**DIFFERENT** (see the failures at the end)"
            )
            for line, label in (("plain", "plain schema"), ("checks", "with row constraints"))
        )
        + ".",
        "",
        f"CPU steal per run: {fmt_n(all_steal.low, 1)}-{fmt_n(all_steal.high, 1)}% "
        f"(median {fmt_n(all_steal.median, 1)}%).",
    ]
    report.sections.append("\n".join(lines))
    rows = f"{plain.rows:,}"
    report.targets += [
        Target(
            f"`validate` {rows} rows, 20 columns, 1% bad vs frictionless-py, plain schema",
            f">= {PLAIN_RATIO:.0f}x, identical verdicts",
            f"{ratio['plain']:.1f}x, verdicts {'identical' if same['plain'] else 'DIFFERENT'}",
            ratio["plain"] >= PLAIN_RATIO and same["plain"],
            f"sip-import {o['plain'].median:.2f} s, frictionless {t['plain'].median:.2f} s; "
            f"CPU seconds {cpu_ratio['plain']:.1f}x",
            issue_target=1,
            spread=f"{spread['plain'][0]:.1f}x / {spread['plain'][1]:.1f}x",
        ),
        Target(
            f"`validate` {rows} rows vs frictionless-py, schema + 2 row constraints",
            "identical verdicts (second line, no speed target)",
            f"{ratio['checks']:.1f}x, verdicts {'identical' if same['checks'] else 'DIFFERENT'}",
            same["checks"],
            f"sip-import {o['checks'].median:.2f} s, frictionless {t['checks'].median:.2f} s; "
            f"CPU seconds {cpu_ratio['checks']:.1f}x",
            issue_target=1,
            spread=f"{spread['checks'][0]:.1f}x / {spread['checks'][1]:.1f}x",
        ),
    ]


# --- 9. sync of an unchanged 100k-row sheet (issue 19, target 3) -------------------------------

#: The per-run lists ``benchmarks.bench_sync.measure_sync`` returns.
SYNC_KEYS = ("unchanged_wall_s", "unchanged_rss_mb", "first_wall_s", "first_rss_mb", "steal_pct")


def bench_sync(sizes: Sizes, report: Report) -> None:
    try:
        from .bench_sync import measure_sync
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.bench_sync":
            raise
        _sync_not_measured(sizes, report, "benchmarks/bench_sync.py is not there yet")
        return
    say(f"sync: measure_sync(rows={sizes.sync_rows:,}, runs={sizes.runs}, first_runs=1)")
    measured = measure_sync(rows=sizes.sync_rows, runs=sizes.runs, first_runs=1)
    found = _sync_lists(measured)
    missing = [key for key in SYNC_KEYS if not found.get(key)]
    if missing:
        _sync_not_measured(sizes, report, f"measure_sync gave no {', '.join(missing)}")
        return
    s = {key: stat([float(v) for v in found[key]]) for key in SYNC_KEYS}
    rows = f"{sizes.sync_rows:,}"
    steal = s["steal_pct"]
    lines = [
        f"## 9. Sync a {rows}-row sheet",
        "",
        f"`measure_sync(rows={sizes.sync_rows}, runs={sizes.runs}, first_runs=1)` of "
        f"`benchmarks/bench_sync.py` (its docstring says how): syncs of a {rows}-row sheet "
        "into a local gateway that already holds every row, which change nothing (the "
        "gateway's list read and diffed, the reports written); then one first `sip-import "
        f"sync` of the {rows} rows into an empty gateway (every row a create; its target is "
        "memory only). Whole processes: wall time, CPU seconds of the command, peak RSS of "
        "the process group, CPU steal during each run.",
        "",
        "| figure | median | min | max |",
        "|---|---:|---:|---:|",
        row_of("**sync that changes nothing: wall seconds**", s["unchanged_wall_s"]),
        row_of("sync that changes nothing: CPU seconds", stat(found["unchanged_cpu_s"])),
        row_of("**sync that changes nothing: peak RSS, MB**", s["unchanged_rss_mb"], fmt_n),
        row_of("first sync (creates): wall seconds", s["first_wall_s"]),
        row_of("**first sync: peak RSS, MB**", s["first_rss_mb"], fmt_n),
        row_of("CPU steal % per run", steal, lambda v: fmt_n(v, 1)),
    ]
    report.sections.append("\n".join(lines))
    first_wall = f"first sync {s['first_wall_s'].median:.1f} s (no target)"
    for figure, target, key, limit in _sync_targets(rows):
        got = s[key]
        unit = "s" if key.endswith("_s") else "MB"
        digits = 2 if unit == "s" else 0
        report.targets.append(
            Target(
                figure,
                target,
                f"{fmt_n(got.median, digits)} {unit}",
                got.median <= limit,
                first_wall if key == "unchanged_wall_s" else "",
                issue_target=3,
                spread=f"{fmt_n(got.low, digits)} / {fmt_n(got.high, digits)} {unit}",
                steal=steal.median,
            )
        )


def _sync_lists(measured: dict[str, Any]) -> dict[str, list[float]]:
    """``measure_sync``'s runs as the per-figure lists this figure reads (SYNC_KEYS)."""
    unchanged, first = measured.get("unchanged", []), measured.get("first", [])
    return {
        "unchanged_wall_s": [r["wall_s"] for r in unchanged],
        "unchanged_rss_mb": [r["peak_mb"] for r in unchanged],
        "unchanged_cpu_s": [r["cpu_s"] for r in unchanged],
        "first_wall_s": [r["wall_s"] for r in first],
        "first_rss_mb": [r["peak_mb"] for r in first],
        "steal_pct": [r["steal_pct"] for r in unchanged + first],
    }


def _sync_targets(rows: str) -> list[tuple[str, str, str, float]]:
    """Target 3's lines: (figure, target, the ``measure_sync`` key, the limit)."""
    unchanged = f"`sync` of a {rows}-row sheet that changes nothing"
    return [
        (f"{unchanged}: time", f"<= {SYNC_UNCHANGED_S} s", "unchanged_wall_s", SYNC_UNCHANGED_S),
        (f"{unchanged}: peak RSS", f"<= {MEMORY_MB} MB", "unchanged_rss_mb", MEMORY_MB),
        (f"first `sync` of {rows} rows: peak RSS", f"<= {MEMORY_MB} MB", "first_rss_mb", MEMORY_MB),
    ]


def _sync_not_measured(sizes: Sizes, report: Report, why: str) -> None:
    say(f"sync: not measured: {why}")
    rows = f"{sizes.sync_rows:,}"
    report.sections.append(f"## 9. Sync a {rows}-row sheet\n\nNot measured: {why}.")
    for figure, target, _, _ in _sync_targets(rows):
        report.targets.append(
            Target(figure, target, "not measured", None, why, issue_target=3, spread="n/a")
        )


# --- 10. a 20-row sheet (issue 19, target 4) -----------------------------------------------------


def bench_small(sizes: Sizes, report: Report) -> None:
    sheet = get_sheet(20, "csv", bad_share=0.05, variant="wide")
    runs: list[ProcessRun] = []
    with tempfile.TemporaryDirectory(prefix="bench-small-") as tmp_name:
        tmp = Path(tmp_name)
        _ours_process(sheet.path, tmp)  # untimed: bytecode and the page cache warm
        for i in range(sizes.small_runs):
            run = _ours_process(sheet.path, tmp)
            runs.append(run)
            _verdicts("sip-import (20 rows)", run.rejected, sheet.bad_rows, report)
            say(
                f"small: run {i + 1}/{sizes.small_runs}: {run.seconds:.3f}s "
                f"({run.cpu:.3f}s CPU), "
                f"CPU steal {run.steal:.1f}%"
            )
    wall = stat([r.seconds for r in runs])
    steal = stat([r.steal for r in runs])
    lines = [
        f"## 10. Validate a {sheet.rows}-row sheet",
        "",
        f"`{SIP_IMPORT.name} validate {sheet.path.name} --report-dir <tmp> --quiet`, the "
        f"installed console script in a subprocess ({sheet.rows} rows, 20 columns, "
        f"{len(sheet.bad_rows)} bad), {sizes.small_runs} runs after an untimed one. What a user "
        "waits for on a small sheet: interpreter start, imports, every report.",
        "",
        "| figure | median | min | max |",
        "|---|---:|---:|---:|",
        row_of("**wall seconds**", wall, lambda v: f"{v:.3f}"),
        row_of("CPU seconds (user + system)", stat([r.cpu for r in runs]), lambda v: f"{v:.3f}"),
        row_of("CPU steal %", steal, lambda v: fmt_n(v, 1)),
    ]
    report.sections.append("\n".join(lines))
    report.targets.append(
        Target(
            f"`validate` of a {sheet.rows}-row sheet",
            f"<= {SMALL_S} s",
            f"{wall.median:.3f} s",
            wall.median <= SMALL_S,
            f"{sizes.small_runs} runs; CPU {statistics.median(r.cpu for r in runs):.3f} s",
            issue_target=4,
            spread=f"{wall.low:.3f} / {wall.high:.3f} s",
        )
    )


# --- RESULTS.md ---------------------------------------------------------------------------------


def render(report: Report, machine: str, seconds: float) -> str:
    head = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`.venv/bin/python -m benchmarks.run`); do not edit by hand. "
        "Each figure is the median of "
        f"{report.sizes.runs} runs (the save figure: "
        f"{report.sizes.save_run_count}; the 20-row figure: {report.sizes.small_runs}), with "
        "min and max. "
        "See `benchmarks/README.md` for what each "
        "benchmark does.",
        "",
    ]
    if report.quick:
        head += ["**Quick mode: small sizes, not the issue's figures.**", ""]
    head += [
        f"Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')}; the whole run took "
        f"{seconds / 60:.1f} minutes.",
        "",
        machine,
        "",
        "## Targets of issue 19 (whole processes, medians, this machine)",
        "",
        "| # | figure | target | achieved (median) | min / max | verdict | CPU steal | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ours = sorted((t for t in report.targets if t.issue_target), key=lambda t: t.issue_target)
    for t in ours:
        steal = "n/a" if t.steal is None else pct(t.steal)
        head.append(
            f"| {t.issue_target} | {t.figure} | {t.target} | {t.achieved} | {t.spread} "
            f"| {verdict(t.ok)} | {steal} | {t.note} |"
        )
    if not ours:
        head.append("| | none of these figures ran | | | | | | |")
    head += [
        "",
        "## Other targets",
        "",
        "| figure | target | achieved | verdict | note |",
        "|---|---|---|---|---|",
    ]
    for t in report.targets:
        if not t.issue_target:
            head.append(f"| {t.figure} | {t.target} | {t.achieved} | {verdict(t.ok)} | {t.note} |")
    if report.failures:
        head += ["", "## Failures", ""] + [f"- {f}" for f in report.failures]
    return "\n".join([*head, "", *("\n\n".join(report.sections).splitlines()), ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the sip-import benchmarks.")
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("BENCH_QUICK", "") not in ("", "0"),
        help="small sizes (also BENCH_QUICK=1); writes benchmarks/data/RESULTS.quick.md",
    )
    parser.add_argument("--only", nargs="+", choices=FIGURES, help="run only these figures")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (at least 3)")
    parser.add_argument("--output", type=Path, default=None, help="where to write the results")
    args = parser.parse_args(argv)

    sizes = QUICK if args.quick else FULL
    if args.runs is not None:
        if args.runs < 3:
            parser.error("--runs must be at least 3 (figures are medians of 3 or more runs)")
        sizes = Sizes(**{**vars(sizes), "runs": args.runs})
    output = args.output or (
        QUICK_RESULTS if args.quick else PARTIAL_RESULTS if args.only else RESULTS
    )
    wanted = args.only or list(FIGURES)
    load_start = os.getloadavg()
    say(
        f"{'quick' if args.quick else 'full'} run of {', '.join(wanted)}; load average "
        f"{load_start[0]:.2f}; results to {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}"
    )
    report = Report(sizes, args.quick)
    steps: dict[str, Callable[[Sizes, Report], None]] = {
        "validate": bench_validate,
        "xlsx": bench_xlsx,
        "save": bench_save,
        "gateway": bench_gateway_saves,
        "scale": bench_scale,
        "pacing": bench_pacing,
        "fleet": bench_fleet,
        "frictionless": bench_frictionless,
        "sync": bench_sync,
        "small": bench_small,
    }
    for name in FIGURES:
        if name in wanted:
            began, steal_before = time.perf_counter(), cpu_times()
            known = len(report.targets)
            say(f"--- {name} ---")
            try:
                steps[name](sizes, report)
            except Exception as exc:  # keep the other figures; say what broke
                report.failures.append(f"{name}: {type(exc).__name__}: {exc}")
                say(f"{name} FAILED: {type(exc).__name__}: {exc}")
            report.steal[name] = steal_share(steal_before, cpu_times())
            for target in report.targets[known:]:
                if target.steal is None:
                    target.steal = report.steal[name]
            say(
                f"{name} done in {time.perf_counter() - began:.1f}s "
                f"(CPU steal {pct(report.steal[name])})"
            )
    seconds = time.perf_counter() - _started
    text = render(report, machine_section(load_start, os.getloadavg(), report.steal), seconds)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    say(f"wrote {output} in {seconds / 60:.1f} minutes")
    for t in report.targets:
        say(f"{verdict(t.ok).strip('*')}: {t.figure}: {t.achieved} (target {t.target})")
    for failure in report.failures:
        say(f"FAILURE: {failure}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
