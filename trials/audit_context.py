"""The change in progress (who and why) and the refusal of a change without a reason.

Kept apart from `trials.audit` so that the querysets of every model (`trials.audit_querysets`,
`trials.scoping`) can read it without importing the models.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any


class AuditReasonRequired(Exception):
    """A change after the first save was attempted without a reason."""


# (user, reason) of the change in progress: rows changed as a side effect of it (cascaded
# deletions, many-to-many links) or by a queryset (`trials.audit_querysets`) are recorded with the
# same user and reason.
_current_change: ContextVar[tuple[Any, str] | None] = ContextVar("current_change", default=None)


@contextmanager
def change_context(*, by, reason: str | None):
    token = _current_change.set((by, (reason or "").strip()))
    try:
        yield
    finally:
        _current_change.reset(token)


def change_in_progress() -> tuple[Any, str] | None:
    """(user, reason) of the change in progress (`change_context`), or None."""
    return _current_change.get()


def clip(reason: str | None, limit: int) -> str | None:
    """`reason` cut to `limit` characters, ending in an ellipsis when cut."""
    if reason is None or len(reason) <= limit:
        return reason
    return reason[: limit - 1] + "…"
