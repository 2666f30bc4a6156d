"""Run the sip-import command line in this process, then record peak memory per process.

    python -m benchmarks.rss_probe OUT.json validate SHEET --report-dir DIR --quiet

``ru_maxrss`` cannot be trusted here: Linux records the RSS of the memory a process had before
``exec`` as part of it, so a command started (vfork + exec) by the big benchmark process, or the
rejections.xlsx writer started by the command, would "peak" at their parent's size. This
process's own peak is ``VmHWM`` from /proc/self/status (the high-water mark of its memory since
exec), and its children are sampled from /proc every 20 ms (VmRSS of every descendant, summed).
"""

from __future__ import annotations

import json
import os
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
    return sum(_status_kb(pid, "VmRSS:") for pid in found)


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass  # the process has ended
    return 0


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

    def record() -> None:
        done.set()
        sampler.join()
        own = _status_kb(os.getpid(), "VmHWM:") / 1024
        out.write_text(json.dumps({"main_mb": own, "children_mb": peak_children / 1024}))

    # The console script's own entry point, quick end (os._exit) included: the peaks are
    # recorded once the command is done, before the process ends.
    from importer.cli import main as command

    command(on_end=record)


if __name__ == "__main__":
    main()
