"""Profile sip-import's own slow paths with pyinstrument (not part of ``make bench``: it is slower).

    .venv/bin/python -m benchmarks.profile [--quick] [--only validate xlsx client scale]

Writes a text tree per path to ``benchmarks/data/profiles/``:

* ``validate``: load + normalize + validate + reports of the 100k-row CSV, in this process;
* ``xlsx``: ``load_sheet`` of the 100k-row XLSX;
* ``client``: ``run_job`` at concurrency 32 saving 2,000 rows into a 20 ms gateway (the client
  CPU per call);
* ``scale``: the ``sip-import validate`` command on the 1M-row CSV (``pyinstrument -m importer``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyinstrument import Profiler

from . import generate
from .run import PASSWORD, ROOT, USER, gateway_process, say

OUT = generate.DATA_DIR / "profiles"
PATHS = ("validate", "xlsx", "client", "scale")


def _save(profiler: Profiler, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    text = OUT / f"{name}.txt"
    text.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    say(f"profile {name}: {text}")
    return text


def profile_validate(rows: int) -> None:
    from importer.pipeline import validation_results
    from importer.reports.report import write_reports
    from importer.sheets.load import load_sheet
    from importer.sheets.normalize import normalize
    from importer.validate import validate

    sheet = generate.sheet(rows, "csv")
    validate(normalize(load_sheet(generate.sheet(2_000, "csv").path)))  # warm-up
    with tempfile.TemporaryDirectory() as tmp, Profiler(interval=0.001) as profiler:
        normalized = normalize(load_sheet(sheet.path))
        validation = validate(normalized)
        write_reports(Path(tmp), normalized, validation_results(validation), validation.problems)
    _save(profiler, "validate")


def profile_xlsx(rows: int) -> None:
    from importer.sheets.load import load_sheet

    sheet = generate.sheet(rows, "xlsx")
    load_sheet(generate.sheet(2_000, "xlsx").path)
    with Profiler(interval=0.001) as profiler:
        load_sheet(sheet.path)
    _save(profiler, "xlsx")


def profile_client(rows: int) -> None:
    from importer.config import Credentials, GatewaySettings
    from importer.gateways.upload import JobOptions, run_job

    sheet = generate.sheet(rows, "csv", seed=2, bad_share=0.0)
    with (
        tempfile.TemporaryDirectory() as tmp,
        gateway_process(Path(tmp) / "gw.db", "--latency-ms", "20") as (url, _pid),
    ):
        settings = GatewaySettings(url, Credentials(USER, PASSWORD), concurrency=32)
        started, cpu = time.perf_counter(), time.process_time()
        with Profiler(interval=0.001, async_mode="disabled") as profiler:
            result = run_job(
                sheet.path,
                settings=settings,
                options=JobOptions("import", journal=None),
                report_dir=Path(tmp) / "reports",
            )
        say(
            f"client: {rows} rows in {time.perf_counter() - started:.2f}s, "
            f"CPU {time.process_time() - cpu:.2f}s, outcomes {result.summary['outcomes']}"
        )
    _save(profiler, "client")


def profile_scale(rows: int) -> None:
    sheet = generate.sheet(rows, "csv")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable, "-m", "pyinstrument", "--interval", "0.005", "-r", "text",
            "--no-color", "-o", str(OUT / "scale.txt"), "-m", "importer", "validate",
            str(sheet.path), "--report-dir", str(Path(tmp) / "reports"), "--quiet",
        ]  # fmt: skip
        subprocess.run(cmd, cwd=ROOT, check=False)
    say(f"profile scale: {OUT / 'scale.txt'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Profile sip-import's slow paths.")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", nargs="+", choices=PATHS)
    args = parser.parse_args(argv)
    quick = args.quick
    wanted = args.only or PATHS
    if "validate" in wanted:
        profile_validate(5_000 if quick else 100_000)
    if "xlsx" in wanted:
        profile_xlsx(5_000 if quick else 100_000)
    if "client" in wanted:
        profile_client(400 if quick else 2_000)
    if "scale" in wanted:
        profile_scale(50_000 if quick else 1_000_000)


if __name__ == "__main__":
    main()
