"""sip-import: bulk-load SIP endpoints from spreadsheets into Digium/Sangoma gateways.

The pipeline, one module per stage, in rooms that follow the data: ``sheets`` (``load`` ->
``normalize``, with the input limits and mapping files), then ``validate``, then ``gateways``
(``plan`` -> ``save`` with ``client``, plus ``journal`` and ``prune`` for sync; ``upload`` runs
the job), then ``reports`` (``report``, and ``template``/``export`` for the round trip).
``pipeline`` runs the validate job and holds the seams the gateway jobs share; ``cli`` is the
only module that knows about the command line.

The names below load on first use, so ``sip-import --help`` does not pay for pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "GatewayUnavailable": "errors",
    "InputError": "errors",
    "JobOptions": "gateways.upload",
    "LoadedSheet": "sheets.load",
    "NormalizedSheet": "sheets.normalize",
    "Problem": "validate",
    "RunResult": "pipeline",
    "Validation": "validate",
    "load_sheet": "sheets.load",
    "open_sheet": "sheets.load",
    "run_job": "gateways.upload",
    "validate_file": "pipeline",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
