"""Domain errors with stable codes; translated to HTTP in moderation.http_errors only."""
from __future__ import annotations


class ModerationError(Exception):
    """Base class: `code` is stable and documented; `params` fill the localised message."""

    code = "moderation-error"

    def __init__(self, detail: str = "", **params):
        super().__init__(detail or self.code)
        self.detail = detail
        self.params = params


class FieldErrors(ModerationError):
    """One or more request fields are invalid; `errors` maps field -> list of message codes."""

    code = "validation-error"

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("invalid fields")
        self.errors = errors


class NotFound(ModerationError):
    code = "not-found"


class InvalidParent(ModerationError):
    code = "invalid-parent"


class DuplicateComment(ModerationError):
    code = "duplicate-comment"


class FloodDetected(ModerationError):
    code = "flood"

    def __init__(self, retry_after: int):
        super().__init__("comment flood", retry_after=retry_after)
        self.retry_after = retry_after


class RateLimited(ModerationError):
    """The site's intake limit is spent (MODERATION_RATELIMIT_INTAKE)."""

    code = "rate-limited"

    def __init__(self, retry_after: int):
        super().__init__("rate limit exceeded", retry_after=retry_after)
        self.retry_after = retry_after


class InvalidTransition(ModerationError):
    code = "invalid-transition"

    def __init__(self, current: str, target: str):
        super().__init__(f"{current} -> {target}", current=current, target=target)


class StaleVersion(ModerationError):
    """Someone else changed the comment first: never overwrite silently."""

    code = "conflict"


class IdempotencyMismatch(ModerationError):
    code = "idempotency-key-reused"


class IdempotencyInFlight(ModerationError):
    code = "idempotency-key-in-flight"


class Unauthenticated(ModerationError):
    code = "unauthenticated"


class DatabaseUnavailable(ModerationError):
    code = "service-unavailable"


class MalformedJson(ModerationError):
    code = "malformed-json"


class Forbidden(ModerationError):
    code = "forbidden"


class InvalidReason(ModerationError):
    code = "invalid-reason"
