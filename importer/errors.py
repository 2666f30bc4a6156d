"""Named exceptions the pipeline raises; the CLI turns each into one line and an exit code."""

from __future__ import annotations

__all__ = ["GatewayUnavailable", "InputError"]


class InputError(Exception):
    """The input is unusable.

    str(exc) is one plain sentence for the user (CLI prints it, exit 2).
    """


class GatewayUnavailable(Exception):
    """The gateway cannot be used: unreachable, login refused, or the circuit breaker tripped.

    str(exc) is one plain sentence for the user (CLI prints it, exit 3).
    """
