"""The error keys of SPEC.md section 2 and the exception that carries one to the client."""

from __future__ import annotations

__all__ = [
    "ENDPOINT_NAME_EXISTS",
    "ENDPOINT_NOT_FOUND",
    "INVALID_PARAMETER",
    "LOGIN_FAILED",
    "MALFORMED_REQUEST",
    "MISSING_PARAMETER",
    "NOT_LOGGED_IN",
    "RATE_LIMITED",
    "SERVER_BUSY",
    "UNKNOWN_METHOD",
    "UNKNOWN_PARAMETER",
    "ApiError",
    "error_body",
]

NOT_LOGGED_IN = "NOT_LOGGED_IN"
LOGIN_FAILED = "LOGIN_FAILED"
UNKNOWN_METHOD = "UNKNOWN_METHOD"
MALFORMED_REQUEST = "MALFORMED_REQUEST"
MISSING_PARAMETER = "MISSING_PARAMETER"
INVALID_PARAMETER = "INVALID_PARAMETER"
UNKNOWN_PARAMETER = "UNKNOWN_PARAMETER"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
ENDPOINT_NAME_EXISTS = "ENDPOINT_NAME_EXISTS"
SERVER_BUSY = "SERVER_BUSY"
RATE_LIMITED = "RATE_LIMITED"


def error_body(key: str, message: str) -> dict[str, str]:
    """SPEC.md's failure shape."""
    return {"result": "error", "error": message, "error_key": key}


class ApiError(Exception):
    """A call the gateway refuses. ``status`` is 200 for API-level errors: the SPEC's clients
    treat those as final for the row, while 4xx/5xx statuses mean transport trouble."""

    def __init__(self, key: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.status = status

    def body(self) -> dict[str, str]:
        return error_body(self.key, self.message)
