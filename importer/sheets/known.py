"""Answers about distinct cell texts, remembered for the rest of the process.

A long sheet is read, normalized and checked a chunk at a time, and a column of few values
(transport, port, dtmfmode, ...) holds the same handful of texts in every chunk. Asking each
text once, rather than once a chunk, saves a few pandas calls a column a chunk (about 20 ms a
chunk of a 20-column sheet). Answers must depend on the text and the key alone.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

__all__ = ["Known"]

V = TypeVar("V")

_MISSING = object()


class Known(Generic[V]):
    """Per key, the answer for each text asked so far; at most ``kept`` texts a key (a column
    of ever new texts starts afresh, so memory stays bounded)."""

    def __init__(self, kept: int = 4096) -> None:
        self.kept = kept
        self._answers: dict[Hashable, dict[str, V]] = {}

    def answers(
        self, key: Hashable, texts: Sequence[str], ask: Callable[[list[str]], Sequence[V]]
    ) -> dict[str, V]:
        """``{text: answer}`` for every one of ``texts``; ``ask`` gets the texts not known yet
        (in one call) and returns their answers in order."""
        known = self._answers.setdefault(key, {})
        # The answers come from this dict alone: another thread may clear ``known`` meanwhile.
        found: dict[str, object] = {text: known.get(text, _MISSING) for text in texts}
        new = [text for text, answer in found.items() if answer is _MISSING]
        if new:
            fresh = dict(zip(new, ask(new), strict=True))
            found.update(fresh)
            if len(known) + len(fresh) > self.kept:
                known.clear()
            known.update(fresh)
        return found  # type: ignore[return-value]
