"""``sip-import sync`` of a big sheet, whole processes: one that changes nothing, and a first one.

Issue 19's target 3: a sync of a 100,000-row sheet that changes nothing in at most 2.5 s and
400 MB, and a first sync of 100,000 rows in at most 400 MB. Both are the command line
(``sip-import sync SHEET --gateway URL --report-dir DIR --journal FILE --quiet``) in a
subprocess, run by ``benchmarks/rss_probe.py`` as the scale figure runs ``validate``: time is
the subprocess's wall clock, peak RSS the command's own high-water mark plus the largest RSS
seen of its children (the rejections.xlsx writer, when there is one). The gateway is
``python -m gateway``, a separate process: its time counts in the wall clock (the command waits
for its answers), its memory does not.

The sheet is ``benchmarks/generate.py``'s, seed 2, no bad rows (as the save figure's). The
gateway of the "changes nothing" runs is filled directly, not by a first sync: the sheet is
planned as a first sync would plan it (``plan_rows`` against an empty gateway) and every save is
applied by the gateway's own ``sip_endpoint.save`` (its ``check`` and ``apply``) in one SQLite
transaction, a few seconds instead of minutes; each run then must end with every row
``unchanged``, which checks that the database holds what a sync would have stored. The first
sync runs against a fresh, empty gateway each time, started with ``--synchronous NORMAL``: with
``FULL`` its time is the disk's fsync per group commit (minutes on this machine's disk), and this
figure's target is memory (``--synchronous FULL`` measures it as shipped).

    .venv/bin/python -m benchmarks.bench_sync [--rows 100000] [--runs 3] [--json OUT]

``measure_sync`` returns every run's figures; ``table`` renders them with the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import generate
from .bench_gateway import PASSWORD, USER, gateway, process_cpu_s

__all__ = ["TARGETS", "fill_gateway", "measure_sync", "table"]

ROOT = Path(__file__).resolve().parents[1]
#: (figure, seconds at most or None, MB at most).
TARGETS = {"unchanged": (2.5, 400.0), "first": (None, 400.0)}
STAGES = ("load", "normalize", "validate", "save", "report", "total")


def fill_gateway(db: Path, sheet: Path) -> int:
    """Store the sheet's endpoints in a new gateway database as a first sync would (see the
    module's docstring); returns how many saves were applied."""
    from gateway import store
    from gateway.methods import METHODS
    from importer.gateways.plan import GatewayState, plan_rows, row_values
    from importer.pipeline import prepare_sheet
    from importer.sheets.limits import DEFAULT_LIMITS

    normalized, validation, _ = prepare_sheet(sheet, None, None, False, None, DEFAULT_LIMITS)
    rejected = validation.rejected_rows
    frame = normalized.frame[~normalized.frame.index.isin(list(rejected))]
    save = METHODS["sip_endpoint.save"]
    conn = store.connect(db, "NORMAL")
    applied = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        for action in plan_rows(row_values(frame), GatewayState.from_list([])):
            save.check(action.payload)
            save.apply(conn, action.payload)
            applied += 1
        conn.execute("COMMIT")
    finally:
        conn.close()
    return applied


def _sync_once(sheet: Path, url: str, tmp: Path, label: str) -> dict[str, Any]:
    """One ``sip-import sync`` subprocess: wall seconds, peak RSS, its summary.json."""
    from .run import cpu_times, steal_share

    reports, memory = tmp / f"reports-{label}", tmp / f"memory-{label}.json"
    command = [
        sys.executable, "-m", "benchmarks.rss_probe", str(memory),
        "sync", str(sheet), "--gateway", url, "--report-dir", str(reports),
        "--journal", str(tmp / f"journal-{label}.db"), "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "SIP_IMPORT_USER": USER, "SIP_IMPORT_PASSWORD": PASSWORD}
    steal_before = cpu_times()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        # wait4: the command's own CPU (its children's included), which the machine's other
        # load does not inflate the way it does the wall clock.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        steal = steal_share(steal_before, cpu_times())
        if proc.returncode != 0:
            errors.seek(0)
            stderr = errors.read().decode(errors="replace").strip()
            raise RuntimeError(f"sip-import sync exited {proc.returncode}: {stderr}")
    summary = json.loads((reports / "summary.json").read_text())
    peaks = json.loads(memory.read_text())
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": peaks["main_mb"] + peaks["children_mb"],
        "main_mb": peaks["main_mb"],
        "children_mb": peaks["children_mb"],
        "steal_pct": steal,
        "timings": summary["timings"],
        "outcomes": summary["outcomes"],
        "plan": summary.get("plan", {}),
    }


def measure_sync(
    rows: int = 100_000, runs: int = 3, synchronous: str = "NORMAL", first_runs: int | None = None
) -> dict[str, Any]:
    """Runs of (a) a sync of the same sheet that changes nothing, (b) a first sync of ``rows``
    rows into an empty gateway (``synchronous``: that gateway's SQLite mode; ``first_runs`` of
    them, ``runs`` by default). Each run:
    ``wall_s``, ``cpu_s`` (the command's user + system CPU), ``peak_mb`` (``main_mb`` +
    ``children_mb``), ``steal_pct`` (the machine's CPU steal during it), ``timings``
    (summary.json's stages), ``outcomes``; the unchanged runs also ``gateway_cpu_s``."""
    sheet = generate.sheet(rows, "csv", seed=2, bad_share=0.0)
    result: dict[str, Any] = {"rows": rows, "sheet": sheet.path.name, "unchanged": [], "first": []}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as name:
        tmp = Path(name)
        full = tmp / "full.db"
        started = time.perf_counter()
        result["filled"] = fill_gateway(full, sheet.path)
        result["fill_s"] = time.perf_counter() - started
        with gateway(full) as (url, pid):
            for i in range(runs):
                before = process_cpu_s(pid)
                run = _sync_once(sheet.path, url, tmp, f"unchanged-{i}")
                run["gateway_cpu_s"] = process_cpu_s(pid) - before
                if run["outcomes"] != {"unchanged": rows}:
                    raise RuntimeError(f"the unchanged sync ended {run['outcomes']}")
                result["unchanged"].append(run)
        # A first sync saves every row (a minute or two at 100,000); its target is memory only,
        # so ``first_runs`` may be fewer than ``runs``.
        for i in range(runs if first_runs is None else first_runs):
            with gateway(tmp / f"empty-{i}.db", "--synchronous", synchronous) as (url, _):
                run = _sync_once(sheet.path, url, tmp, f"first-{i}")
            if run["outcomes"] != {"created": rows}:
                raise RuntimeError(f"the first sync ended {run['outcomes']}")
            result["first"].append(run)
    return result


def _cells(values: list[float], digits: int = 2) -> str:
    return " | ".join(
        f"{v:,.{digits}f}" for v in (statistics.median(values), min(values), max(values))
    )


def table(result: dict[str, Any]) -> str:
    """The runs as a markdown table (median | min | max) with the targets' verdicts."""
    lines = [
        f"`sip-import sync` of {result['rows']:,} rows ({result['sheet']}); "
        f"gateway filled with {result['filled']:,} endpoints in {result['fill_s']:.1f} s.",
        "",
        "| figure | median | min | max |",
        "|---|---:|---:|---:|",
    ]
    verdicts = []
    for figure, title in (("unchanged", "changes nothing"), ("first", "first sync")):
        runs = result[figure]
        if not runs:
            continue
        walls = [r["wall_s"] for r in runs]
        peaks = [r["peak_mb"] for r in runs]
        lines.append(f"| {title}: wall seconds | {_cells(walls)} |")
        lines.append(
            f"| {title}: CPU seconds (user + system) | {_cells([r['cpu_s'] for r in runs])} |"
        )
        lines.append(f"| {title}: peak RSS, MB | {_cells(peaks, 0)} |")
        for stage in STAGES:
            values = [float(r["timings"].get(stage, float("nan"))) for r in runs]
            lines.append(f"| {title}: stage {stage}, s | {_cells(values)} |")
        if figure == "unchanged":
            gateway_cpu = [r["gateway_cpu_s"] for r in runs]
            lines.append(f"| {title}: gateway CPU seconds | {_cells(gateway_cpu)} |")
        lines.append(f"| {title}: CPU steal, % | {_cells([r['steal_pct'] for r in runs], 1)} |")
        seconds, megabytes = TARGETS[figure]
        if seconds is not None:
            ok = statistics.median(walls) <= seconds
            verdicts.append(
                f"- {title}: wall <= {seconds} s: {statistics.median(walls):.2f} s "
                f"{'met' if ok else 'NOT met'}"
            )
        ok = max(peaks) <= megabytes
        verdicts.append(
            f"- {title}: peak RSS <= {megabytes:.0f} MB: {max(peaks):,.0f} MB (highest run) "
            f"{'met' if ok else 'NOT met'}"
        )
    return "\n".join([*lines, "", *verdicts])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="NORMAL")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args(argv)
    result = measure_sync(args.rows, args.runs, args.synchronous)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    print(table(result))


if __name__ == "__main__":
    main()
