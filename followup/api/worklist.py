"""REST API of the worklist (API.md 'GET /api/v1/worklist/'): what is due or overdue at the
user's sites (`followup.worklist`), a page of 100 items at a time as the worklist page shows them."""
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import worklist as work
from ..worklist import KINDS
from ..worklist_reads import worklist_page


class WorkItemParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    study_number = serializers.CharField()
    study = serializers.CharField(help_text="Study code.")


class WorkItemScreeningSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="Screening number.")
    study = serializers.CharField(help_text="Study code.")


class WorkItemSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="visit | infusion | sae_report | adverse_event_draft | "
                                           "eligibility_confirmation | casebook_signature")
    status = serializers.CharField(help_text="due (window open, deadline not passed) | overdue")
    due_at = serializers.DateTimeField(help_text="Target (visit, infusion), deadline (SAE report) or when a "
                                                 "draft was opened.")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField(allow_null=True, help_text="Null for a draft (no deadline).")
    id = serializers.IntegerField(help_text="The visit's, infusion's, adverse event's or screening's id; the "
                                            "participant's for a casebook to sign.")
    participant = WorkItemParticipantSerializer(allow_null=True, help_text="Null for an eligibility confirmation.")
    screening = WorkItemScreeningSerializer(allow_null=True,
                                            help_text="The screening of an eligibility confirmation, else null.")
    site = serializers.CharField(help_text="Site code.")
    label = serializers.CharField()
    url = serializers.CharField(help_text="The page to act on.")
    participant_url = serializers.CharField()


class WorklistSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField()
    counts = serializers.DictField(child=serializers.IntegerField(),
                                   help_text="{'overdue': n, 'due': m} of every item, not of the page only.")
    count = serializers.IntegerField(help_text="Items in the whole worklist.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    items = WorkItemSerializer(many=True, help_text="The page's items.")


def worklist_filters(params) -> dict:
    """`site`, `study` and `kind` (repeated or comma-separated) from the query string; an unknown
    kind is a 400 naming it."""
    kinds = [kind.strip() for value in params.getlist("kind") for kind in value.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise ValidationError({"kind": [_("Unknown kind %(bad)s; use %(kinds)s.") % {
            "bad": ", ".join(unknown), "kinds": ", ".join(KINDS)}]})
    return {"site": params.get("site") or None, "study": params.get("study") or None, "kinds": kinds or None}


class Worklist(APIView):
    """What is due or overdue for the user's sites: visits and infusions whose window is open or
    passed, SAE reports to make (overdue 24 h after the site learned of the event), and for
    investigators adverse event drafts and eligible screenings to confirm with their signature;
    overdue first, then by due time, `page_size` items a page (`?page=`, 1 by default or for a page
    that is no number; beyond the last, the last). Coordinators, investigators and monitors."""

    @extend_schema(
        parameters=[
            OpenApiParameter("site", str, description="Site code."),
            OpenApiParameter("study", str, description="Study code."),
            OpenApiParameter("kind", str, many=True, description="visit | infusion | sae_report | "
                                                                  "adverse_event_draft | eligibility_confirmation | "
                                                                  "casebook_signature (repeat or comma-separate)."),
            OpenApiParameter("page", int, description="The page, from 1."),
        ],
        responses=WorklistSerializer)
    def get(self, request):
        now = timezone.now()
        page, counts = worklist_page(request.user, now=now, page=request.query_params.get("page"),
                                     page_size=work.PAGE_SIZE, **worklist_filters(request.query_params))
        paginator = page.paginator
        return Response({"as_of": now.isoformat(), "counts": counts, "count": paginator.count,
                         "page": page.number, "pages": paginator.num_pages, "page_size": paginator.per_page,
                         "items": [item.as_api() for item in page]})
