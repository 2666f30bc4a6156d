"""Run the sip-import command line in this process, then record peak memory per process.

    python -m benchmarks.rss_probe OUT.json validate SHEET --report-dir DIR --quiet

``validate`` writes a long sheet's rejections.xlsx in a child process. ``os.wait4`` or
``RUSAGE_CHILDREN`` cannot measure that child: it is started by fork + exec, and Linux keeps the
RSS the fork inherited (this whole process) as the child's ``ru_maxrss``. So the children are
sampled from /proc every 20 ms instead (VmRSS of every descendant, summed), and this process's
own peak comes from ``RUSAGE_SELF``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
from pathlib import Path


def _descendants_kb(root: int) -> int:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        kids = [child for child, parent in parents.items() if parent == pid]
        found += kids
        todo += kids
    total = 0
    for pid in found:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def main() -> None:
    out, args = Path(sys.argv[1]), sys.argv[2:]
    sys.argv = ["sip-import", *args]
    peak_children = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_children
        while not done.wait(0.02):
            peak_children = max(peak_children, _descendants_kb(os.getpid()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code: int | str | None = 0
    try:
        from importer.cli import main as cli

        cli()
    except SystemExit as exc:
        code = exc.code
    finally:
        done.set()
        sampler.join()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
        out.write_text(json.dumps({"main_mb": own, "children_mb": peak_children / 1024}))
    sys.exit(code)


if __name__ == "__main__":
    main()
