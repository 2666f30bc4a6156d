"""sip-import: bulk-load SIP endpoints from spreadsheets into Digium/Sangoma gateways.

The pipeline, one module per stage: ``load`` -> ``normalize`` -> ``validate`` -> ``plan`` ->
``save`` (with ``client``) -> ``report``, plus ``journal`` and ``prune`` for sync. ``pipeline``
and ``upload`` run whole jobs; ``cli`` is the only module that knows about the command line.

The names below load on first use, so ``sip-import --help`` does not pay for pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "GatewayUnavailable": "errors",
    "InputError": "errors",
    "JobOptions": "upload",
    "LoadedSheet": "load",
    "NormalizedSheet": "normalize",
    "Problem": "validate",
    "RunResult": "pipeline",
    "Validation": "validate",
    "load_sheet": "load",
    "open_sheet": "load",
    "run_job": "upload",
    "validate_file": "pipeline",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
