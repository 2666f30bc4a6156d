"""``make run``: import the clean sample into the embedded local gateway, then validate the messy
one, so a new user sees both a successful import and a rejection report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def main() -> int:
    command = [sys.executable, "-m", "importer"]
    steps = [
        [*command, "import", str(SAMPLES / "carrier_onboarding.xlsx")],
        [*command, "validate", str(SAMPLES / "carrier_onboarding_messy.csv")],
    ]
    codes = []
    for step in steps:
        print("$ sip-import " + " ".join(step[3:]), flush=True)
        codes.append(subprocess.call(step))
        print(flush=True)
    # The messy sample is meant to be rejected (exit 1); only the import decides make's result.
    return codes[0]


if __name__ == "__main__":
    sys.exit(main())
