"""No lost update (API.md "Versions"): every editable record carries a version number, read with
it (`"version"` and the `ETag` of the API, a hidden field of the page's form) and sent back with
the change; the service compares it with the row locked in its transaction and refuses a change
made from an older read (409, nothing written) instead of overwriting what another user saved
since. Every save of the row moves the number on (a correction that saves the row twice, such as
a screening's facts and then their evaluation, moves it by two).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.response import Response

from .errors import ConflictError, ServiceError

VERSION_FIELD = "row_version"


class VersionedModel(models.Model):
    """A record edited by users: every save of an existing row moves its version on by one (from the
    value read; the services that change it read it under lock)."""

    row_version = models.PositiveIntegerField(
        gettext_lazy("version"), default=1,
        help_text=gettext_lazy("Moves on by one with each saved change; a change made from an older read is refused."))

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            self.row_version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], VERSION_FIELD}
        super().save(*args, **kwargs)


class StaleVersion(ConflictError):
    """The record changed since the user read it: `current` is the record as it is now."""

    def __init__(self, current, message: str):
        super().__init__({"version": [message]})
        self.current = current


def check_version(current: int, expected: int | None, *, record, label: str) -> None:
    """Refuse a change of `record` made from version `expected` when the row, read under lock in the
    caller's transaction, is at version `current`: `expected` missing (400) or another (409,
    `StaleVersion`, naming who saved last). `label` names the record for the user."""
    if expected is None:
        raise ServiceError({"version": [_("Send the version of the record you read (the \"version\" field or an "
                                          "If-Match header), so that no change saved since is overwritten.")]})
    if expected != current:
        latest = record.history.select_related("history_user").first()
        who = latest.history_user.get_username() if latest is not None and latest.history_user else _("someone")
        raise StaleVersion(record, _("%(record)s was changed by %(who)s since you read it (version %(read)s, now "
                                     "%(now)s): nothing was saved. Read it again and make your change on the "
                                     "current values.") % {"record": label, "who": who, "read": expected,
                                                           "now": current})


@dataclass(frozen=True)
class Conflict:
    """What a page shows when a change was made from an older read: the message, the version now
    (the form is sent again from it once the user has seen what changed) and the changes saved
    since the version read, each with who, when, why and the fields from -> to."""

    message: str
    version: int
    changes: list


_SKIPPED = {VERSION_FIELD, "evaluated_at", "eligibility", "eligible", "protocol_version"}


def conflict_of(stale: StaleVersion, read: int | None) -> Conflict:
    record = stale.current
    rows = list(record.history.select_related("history_user").order_by("history_date", "history_id"))
    changes = []
    for before, after in zip(rows, rows[1:], strict=False):
        if read is not None and getattr(after, VERSION_FIELD) <= read:
            continue
        fields = [(change.field, change.old, change.new) for change in after.diff_against(before).changes
                  if change.field not in _SKIPPED]
        if fields:
            changes.append({"who": after.history_user.get_username() if after.history_user else "",
                            "when": after.history_date, "reason": after.history_change_reason or "",
                            "fields": fields})
    current = type(record).objects.filter(pk=record.pk).values_list(VERSION_FIELD, flat=True).first()
    return Conflict(message=stale.errors["version"][0], version=current, changes=changes)


def version_from_request(request, body_version=None) -> int | None:
    """The version a request was made from: `If-Match` ("3", W/"3" or 3) or the body's "version"."""
    header = (request.headers.get("If-Match") or "").strip()
    raw = header.removeprefix("W/").strip('"') if header else body_version
    try:
        return int(raw) if raw is not None and str(raw).strip() != "" else None
    except (TypeError, ValueError):
        return None


def versioned(response):
    """An API response of one record, with its version as the `ETag`."""
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.get("version") is not None:
        response["ETag"] = f'"{data["version"]}"'
    return response


def stale_response(stale: StaleVersion, current: dict):
    """409 for a change made from an older version: the reason and the record as it is now."""
    response = Response({"errors": stale.errors, "current": current}, status=409)
    if current.get("version") is not None:
        response["ETag"] = f'"{current["version"]}"'
    return response


def posted_at(data, version: int):
    """The posted form data as if read at `version`: after a conflict the page shows what changed
    and keeps the user's values; sending it again applies them to the current record."""
    data = data.copy()
    data["version"] = str(version)
    return data
