"""Counters behind ``GET /admin/stats``: what reached each method, what was saved, which
faults were injected. Tests use them to prove exactly what a client sent."""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["Stats"]


class Stats:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.saves_by_name: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    def snapshot(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "saves_by_name": dict(self.saves_by_name),
            "faults": dict(self.faults),
        }
