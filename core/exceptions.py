"""Domain errors raised by services and selectors.

They carry a stable ``code`` and a human message, never an HTTP status: the API layer
(core.api.errors) maps codes to statuses, and the admin shows the message.
"""


class ServiceError(Exception):
    code = "internal_error"

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationFailed(ServiceError):
    """The input is malformed or out of range; ``details`` names the field."""

    code = "validation_error"

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None):
        details = dict(details or {})
        if field:
            details.setdefault("field", field)
        super().__init__(message, details=details)
        self.field = field


class InvalidOperation(ServiceError):
    """The input is well-formed but the current state forbids it (frozen wallet, no balance...)."""

    code = "invalid_operation"


class NotFound(ServiceError):
    code = "not_found"


class AlreadyExists(ServiceError):
    """A uniqueness rule refused the write: a twin wallet, or an idempotency key reused with other parameters."""

    code = "already_exists"


class PermissionDenied(ServiceError):
    code = "permission_denied"
