"""The errors every app's services raise, and the one collector they gather them in.

A service validates everything first and names every bad field (paths such as `labs.2.value`),
then raises one `ServiceError` (HTTP 400) or `ConflictError` (409). The API's exception handler
(`trials.api_errors`) and the pages (`trials.forms_errors`) each turn them into messages in one
place.
"""
from __future__ import annotations

NON_FIELD = "__all__"

# What `Errors.add` returns, so that a checker can record a message and answer "no valid value"
# in one statement (`return errors.add(path, message)`); compare with `is INVALID`.
INVALID = object()


class ServiceError(Exception):
    """Input that cannot be accepted; `errors` maps each field path to its messages."""

    status = 400

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class ConflictError(ServiceError):
    """The request is valid but the state forbids it now (full dose group, already enrolled)."""

    status = 409


class RecordLocked(ConflictError):
    """A locked record (a participant's casebook, or every record of a locked study) refuses every
    change: 409 in the API with `errors.lock`, a 403 page naming the lock on the pages
    (`trials.middleware.RecordLockedMiddleware`)."""

    def __init__(self, message: str):
        super().__init__({"lock": [message]})
        self.message = message


class Errors(dict):
    """Messages by field path, gathered before anything is written."""

    def add(self, path: str, message) -> object:
        """Record `message` under `path` (`NON_FIELD` when empty); returns `INVALID`."""
        self.setdefault(path or NON_FIELD, []).append(str(message))
        return INVALID

    def raise_if_any(self, cls: type[ServiceError] = ServiceError) -> None:
        if self:
            raise cls(dict(self))
