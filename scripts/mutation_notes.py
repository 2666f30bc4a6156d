"""Why each mutant that survives ``make mutate`` cannot change behaviour, by module and by the
survivor's key (its removed and added lines, as tests/MUTATION.md shows them)."""

from __future__ import annotations

NOTES: dict[str, dict[str, str]] = {}
