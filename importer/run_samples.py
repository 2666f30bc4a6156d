"""``make run``: import the clean sample into the embedded local gateway, then validate the messy
one, so a new user sees both a successful import and a rejection report.

Always the embedded gateway: on a host set up for the nightly sync, ``SIP_IMPORT_GATEWAY`` and
``./sip-import.toml`` name the production gateway, and a demo must never write its 50 sample
endpoints there. So the steps run without any ``SIP_IMPORT_*`` variable and with an empty
``--config`` file instead of ``./sip-import.toml``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def main() -> int:
    command = [sys.executable, "-m", "importer"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIP_IMPORT_")}
    with tempfile.TemporaryDirectory(prefix="sip-import-run-") as scratch:
        no_gateway = Path(scratch) / "no-gateway.toml"
        no_gateway.write_text("# make run: no [gateway], so the embedded one is used\n")
        steps = [
            [*command, "import", str(SAMPLES / "carrier_onboarding.xlsx")],
            [*command, "validate", str(SAMPLES / "carrier_onboarding_messy.csv")],
        ]
        steps[0] += ["--config", str(no_gateway)]
        codes = []
        for step in steps:
            print("$ sip-import " + " ".join(step[3:]), flush=True)
            codes.append(subprocess.call(step, env=env))
            print(flush=True)
    # The messy sample is meant to be rejected (exit 1); only the import decides make's result.
    return codes[0]


if __name__ == "__main__":
    sys.exit(main())
