"""Prune: delete gateway endpoints the sheet no longer lists, only when it is safe.

Guards, in order: never when any row was rejected or failed (a typo in one name must not delete
an endpoint); never more than ``--max-prune`` (a count, or a percentage of the gateway's
endpoints; default 10%).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from schemas.text import quote

from ..errors import InputError
from .client import ApiError, CircuitOpen, GatewayClient, GaveUp
from .save import RowOutcome

__all__ = [
    "DEFAULT_MAX_PRUNE",
    "PrunePlan",
    "delete_endpoints",
    "name_endpoints",
    "parse_max_prune",
    "plan_prune",
]

DEFAULT_MAX_PRUNE = "10%"
#: How many endpoint names a prune line shows; the rest are counted (results.csv has them all).
_SHOWN = 20
_LIMIT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(%?)\s*")


@dataclass(frozen=True)
class PrunePlan:
    candidates: tuple[str, ...]
    limit: int
    #: Why nothing will be deleted, or None when the prune may go ahead.
    refused: str | None

    def describe(self, dry_run: bool) -> str | None:
        """The line that names what this prune would delete (dry run) or refused to delete, so
        an operator sees it on screen; ``None`` when it deletes for real or has nothing to."""
        if not self.candidates:
            return None
        if self.refused:
            return name_endpoints("refused to delete", self.candidates)
        return name_endpoints("would delete", self.candidates) if dry_run else None


def name_endpoints(verb: str, names: tuple[str, ...]) -> str:
    """``would delete 23 endpoints: a, b, … (and 3 more)``: the first 20 names and the count."""
    count = f"{len(names)} endpoint{'s' if len(names) != 1 else ''}"
    shown = ", ".join(names[:_SHOWN])
    rest = f", … (and {len(names) - _SHOWN} more)" if len(names) > _SHOWN else ""
    return f"{verb} {count}: {shown}{rest}"


def parse_max_prune(text: str | None, total: int) -> int:
    """``'25'`` -> 25 endpoints; ``'10%'`` -> 10% of ``total``, rounded down."""
    match = _LIMIT.fullmatch(text or DEFAULT_MAX_PRUNE)
    if not match:
        raise InputError(
            f"--max-prune {quote(text)} is not a count such as 25 or a share such as 10%"
        )
    number, percent = float(match.group(1)), match.group(2)
    if percent:
        if number > 100:
            raise InputError(f"--max-prune {quote(text)} is above 100%")
        return math.floor(total * number / 100 + 1e-9)
    if not number.is_integer():
        raise InputError(f"--max-prune {quote(text)}: a count must be a whole number")
    return int(number)


def plan_prune(
    on_gateway: Iterable[str],
    kept: Iterable[str],
    max_prune: str | None,
    unsafe_rows: int,
) -> PrunePlan:
    """``on_gateway``: names listed before the run; ``kept``: names the sheet keeps (including
    the old names of renames, which no longer exist); ``unsafe_rows``: rejected + failed rows."""
    gateway_names = list(on_gateway)
    keep = {name.lower() for name in kept}
    candidates = tuple(sorted(n for n in gateway_names if n.lower() not in keep))
    limit = parse_max_prune(max_prune, len(gateway_names))
    refused = None
    if unsafe_rows:
        refused = (
            f"prune skipped: {unsafe_rows} row{'s were' if unsafe_rows != 1 else ' was'} rejected "
            "or failed, and nothing is deleted until every row of the sheet is good"
        )
    elif len(candidates) > limit:
        share = 100 * len(candidates) / max(1, len(gateway_names))
        refused = (
            f"prune refused: {len(candidates)} of the gateway's {len(gateway_names)} endpoints "
            f"({share:.0f}%) are not in the sheet, more than --max-prune "
            f"{max_prune or DEFAULT_MAX_PRUNE} allows ({limit}); raise --max-prune if that is "
            "really intended"
        )
    return PrunePlan(candidates, limit, refused)


async def delete_endpoints(
    client: GatewayClient,
    names: Iterable[str],
    on_outcome: Callable[[RowOutcome], None],
) -> None:
    """Delete each name in turn (deletes are rare and worth doing one at a time)."""
    for name in names:
        try:
            result = await client.call("sip_endpoint.delete", {"object_name": name})
        except ApiError as exc:
            on_outcome(
                RowOutcome(
                    0, name, "failed", exc.error_key, f"not deleted: {exc.error}", exc.attempts
                )
            )
            continue
        except GaveUp as exc:
            on_outcome(
                RowOutcome(
                    0, name, "failed", "transport-error", f"not deleted: {exc.reason}", exc.attempts
                )
            )
            continue
        except CircuitOpen:
            on_outcome(
                RowOutcome(
                    0, name, "failed", "gateway-unavailable", "not deleted: gateway unavailable"
                )
            )
            continue
        rules = result.response.get("invalid_rules", [])
        groups = result.response.get("invalid_groups", [])
        message = "not in the sheet; deleted"
        if rules or groups:
            message += f" (the gateway reports invalid_rules {rules}, invalid_groups {groups})"
        on_outcome(RowOutcome(0, name, "deleted", message=message, attempts=result.attempts))
