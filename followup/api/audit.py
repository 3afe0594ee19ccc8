"""REST API of a participant's audit trail (`followup.participant_audit`):
`GET /participants/{id}/audit/?page=` lists every change of the casebook and its monitoring,
oldest first, a page at a time, as the audit trail page shows it. Every role of the
participant's site reads it; another site's participant is 404."""
from datetime import date, datetime

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.selectors import participant_for
from trials.audit_reasons import ShownReason, reason_shown
from trials.templatetags.trials_tags import stored_reason
from trials.scoping import Action

from ..participant_audit import TrailEntry, participant_audit_trail


def _value(value):
    """A change's value as JSON: a date or time in ISO, any other value that JSON lacks as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def shown_reason(stored) -> ShownReason:
    """A change's reason as the audit trail page shows it (`trials_tags.audit_reason`)."""
    loaded = stored_reason(stored)
    if loaded != str(stored or ""):
        return ShownReason(loaded, entered=False)
    return reason_shown(stored)


class AuditChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field as its form names it (an item answer: "
                                            '"items › label (code)").')
    old = serializers.JSONField(allow_null=True, help_text="As a reader knows it: a linked record by its name, a "
                                                           "choice by its label; null for a creation.")
    new = serializers.JSONField(allow_null=True)


class AuditEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="when")
    by = serializers.CharField(source="who", help_text='The user name ("system" for a change no user made).')
    action = serializers.CharField(help_text="created | changed | deleted | locked | unlocked (the casebook) | "
                                             "question | answer | close | reopen (a data query's message)")
    record_type = serializers.CharField(help_text='The kind of record ("visit", "data query", ...).')
    record = serializers.CharField(help_text='The record as the participant page names it ("Visit W1").')
    audit = serializers.SerializerMethodField(
        help_text='The record\'s own audit trail {"kind", "id"} (the page /audit/<kind>/<id>/); null once the '
                  "record is deleted.")
    reason = serializers.SerializerMethodField(
        help_text="Why, in the reader's language: the product's own reasons worded in it, what a person typed as "
                  "written (a data query's message: its text).")
    reason_entered = serializers.SerializerMethodField(
        help_text="The part of the reason a person typed, as written (null when none).")
    changes = serializers.SerializerMethodField(help_text="Each field from its old to its new value.")

    def get_reason(self, entry: TrailEntry) -> str:
        return shown_reason(entry.reason).text

    def get_reason_entered(self, entry: TrailEntry) -> str | None:
        shown = shown_reason(entry.reason)
        typed = [text for text, entered in shown.parts if entered] if shown.parts else (
            [shown.text] if shown.entered else [])
        return " ".join(typed) or None

    def get_audit(self, entry: TrailEntry) -> dict | None:
        return {"kind": entry.audit_kind, "id": entry.audit_pk} if entry.audit_kind else None

    @extend_schema_field(AuditChangeSerializer(many=True))
    def get_changes(self, entry: TrailEntry) -> list[dict]:
        return [{"field": change.field, "old": _value(change.old), "new": _value(change.new)}
                for change in entry.changes]


class AuditTrailSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Entries in the whole trail.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = AuditEntrySerializer(many=True)


class ParticipantAudit(APIView):
    """The participant's audit trail, oldest first, `page_size` entries a page (`?page=`, 1 by
    default; beyond the last, the last)."""

    @extend_schema(parameters=[OpenApiParameter("page", int, description="The page, from 1.")],
                   responses=AuditTrailSerializer)
    def get(self, request, pk):
        participant = participant_for(request.user, pk, Action.VIEW_AUDIT)
        trail = participant_audit_trail(participant, page=request.query_params.get("page"))
        return Response(AuditTrailSerializer({
            "count": trail.page.paginator.count, "page": trail.page.number, "pages": trail.page.paginator.num_pages,
            "page_size": trail.page.paginator.per_page, "results": trail.entries}).data)
