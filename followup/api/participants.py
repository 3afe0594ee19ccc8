"""REST API of the participants list: `GET /api/v1/participants/` across the user's studies and
`GET /api/v1/studies/{code}/participants/` (API.md "Exports and lists"), searched, filtered and
paginated as the participants page is (`followup.participant_list`)."""
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.enums import ParticipantStatus
from trials.models import Study

from .. import participant_list
from ..participant_list import (PAGE_SIZE, KeyedPaginator, ParticipantFilters, participant_row, participants_listed,
                                participants_shown, require_reader)


class ParticipantRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    study_number = serializers.CharField()
    initials = serializers.CharField()
    screening_number = serializers.CharField()
    study = serializers.CharField(help_text="Study code.")
    site = serializers.CharField(help_text="Site code.")
    arm = serializers.CharField(help_text="Arm code.")
    dose_level = serializers.CharField(allow_null=True, help_text="Dose level code, null without levels.")
    disease = serializers.CharField()
    status = serializers.ChoiceField(choices=ParticipantStatus.choices)
    enrolled_on = serializers.DateField()
    overdue = serializers.BooleanField(help_text="A visit or an infusion whose window has passed, not done.")
    url = serializers.CharField(help_text="The participant page.")


class ParticipantPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ParticipantRowSerializer(many=True)


FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description="Study number, initials or screening number (part, any case); "
                                           "`search` is the same."),
    OpenApiParameter("search", str, description="As `q`."),
    OpenApiParameter("status", str, description=" | ".join(ParticipantStatus.values)),
    OpenApiParameter("site", str, description="Site code."),
    OpenApiParameter("disease", str, description="Disease code."),
    OpenApiParameter("level", str, description="Arm code, or ARM:LEVEL for one dose level."),
    OpenApiParameter("overdue", bool, description="true: only participants with an overdue visit or infusion."),
    OpenApiParameter("page", int, description=f"1-based; {PAGE_SIZE} participants a page."),
]


class ParticipantList(APIView):
    """The participants of the user's sites, by study, site and enrolment order, 50 a page; every
    role of a site reads them. A study of another site is 404."""

    @extend_schema(operation_id="participants_list",
                   parameters=[OpenApiParameter("study", str, description="Study code."), *FILTER_PARAMETERS],
                   responses=ParticipantPageSerializer)
    def get(self, request, code=None):
        return self.listed(request, code)

    def listed(self, request, code):
        require_reader(request.user)
        if code is not None:
            get_object_or_404(Study.objects.visible_to(request.user), code=code)
        filters = ParticipantFilters.from_params(request.query_params, study=code or "")
        if filters.unknown_status():
            raise ValidationError({"status": [_("Unknown status %(bad)s; use %(statuses)s.") % {
                "bad": filters.status, "statuses": ", ".join(ParticipantStatus.values)}]})
        size = participant_list.PAGE_SIZE
        now = timezone.now()
        paginator = KeyedPaginator(participants_listed(request.user, filters, now=now), size,
                                   shown=participants_shown(request.user, now=now, locks=False))
        try:
            page = paginator.page(request.query_params.get("page") or 1)
        except (PageNotAnInteger, EmptyPage):
            raise ValidationError({"page": [_("No page %(page)s; there are %(pages)d.") % {
                "page": request.query_params.get("page"), "pages": paginator.num_pages}]}) from None
        results = [{**participant_row(p), "url": reverse("participant-detail", args=[p.pk])} for p in page]
        query = request.query_params.copy()

        def link(number):
            query["page"] = number
            return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"count": paginator.count, "page": page.number, "pages": paginator.num_pages,
                         "page_size": size, "next": link(page.next_page_number()) if page.has_next() else None,
                         "previous": link(page.previous_page_number()) if page.has_previous() else None,
                         "results": results})


class StudyParticipantList(ParticipantList):
    """The participants of one study at the user's sites (as `GET /api/v1/participants/?study=`)."""

    @extend_schema(operation_id="studies_participants_list", parameters=FILTER_PARAMETERS,
                   responses=ParticipantPageSerializer)
    def get(self, request, code):
        return self.listed(request, code)
