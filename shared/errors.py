"""Domain errors with stable codes.

Only the HTTP edge (`shared.http`) turns them into a status and a JSON body;
queue handlers let them propagate so the message is retried.
"""

from __future__ import annotations


class DomainError(Exception):
    """A failure the caller can act on, identified by a stable `code`."""

    code = "DOMAIN_ERROR"
    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class InvalidRequest(DomainError):
    """A request body or parameter that fails validation."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class NotFound(DomainError):
    status = 404

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Conflict(DomainError):
    status = 409

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Unauthorized(DomainError):
    """The caller is not authenticated: no valid token, or claims the API did not pass on."""

    status = 401

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Forbidden(DomainError):
    """The caller is authenticated but may not do this: a missing role, or acting for someone else."""

    status = 403

    def __init__(self, message: str, field: str | None = None, code: str = "FORBIDDEN") -> None:
        super().__init__(message, field=field)
        self.code = code


class PayloadTooLarge(DomainError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"
