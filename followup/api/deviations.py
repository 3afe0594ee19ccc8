"""REST API of a study's protocol deviations: `GET /api/v1/studies/{code}/deviations/`, filtered by
kind and site and paginated as the deviations page is (`followup.deviations.deviations_page`)."""
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from trials.models import Study

from ..deviation_views import PER_PAGE
from ..deviations import KINDS, deviations_page
from ..participant_list import require_reader, user_sites


class DeviationRowSerializer(serializers.Serializer):
    participant = serializers.IntegerField(help_text="The participant's id.")
    study_number = serializers.CharField()
    site = serializers.CharField(help_text="Site code.")
    what = serializers.CharField(help_text='"Infusion 2", "Visit D14".')
    kind = serializers.ChoiceField(choices=KINDS)
    planned = serializers.CharField(help_text="The window, or the computed dose.")
    happened = serializers.CharField(help_text="When it was done, missed, or the dose given.")
    reason = serializers.CharField(help_text="The reason recorded.")
    url = serializers.CharField(help_text="The participant page.")


class DeviationPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    by_kind = serializers.DictField(child=serializers.IntegerField(), help_text="The count of each kind.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = DeviationRowSerializer(many=True)


class StudyDeviations(APIView):
    """The study's protocol deviations at the user's sites, by participant then window, 50 a page;
    every role of a site reads them. A study of another site is 404."""

    @extend_schema(operation_id="studies_deviations_list", responses=DeviationPageSerializer, parameters=[
        OpenApiParameter("kind", str, description=" | ".join(KINDS)),
        OpenApiParameter("site", str, description="Site code."),
        OpenApiParameter("page", int, description=f"1-based; {PER_PAGE} deviations a page.")])
    def get(self, request, code):
        require_reader(request.user)
        study = get_object_or_404(Study.objects.visible_to(request.user), code=code)
        sites = {site.code: site for site in user_sites(request.user, study) if site.in_study}
        params, errors = request.query_params, {}
        kind, site, number = params.get("kind", ""), params.get("site", ""), params.get("page") or "1"
        if kind and kind not in KINDS:
            errors["kind"] = [_("Unknown kind %(bad)s; use %(kinds)s.") % {"bad": kind, "kinds": ", ".join(KINDS)}]
        if site and site not in sites:
            errors["site"] = [_("No site %(code)s among your sites of this study.") % {"code": site}]
        if not (number.isdecimal() and len(number) < 10) or int(number) < 1:
            errors["page"] = [_("A page is a whole number from 1.")]
        if errors:
            raise ValidationError(errors)
        page = deviations_page(request.user, study=study, number=int(number), per_page=PER_PAGE, kind=kind,
                               site_id=sites[site].pk if site else None)
        if page.number != int(number):
            raise ValidationError({"page": [_("No page %(page)s; there are %(pages)d.") % {
                "page": number, "pages": page.pages}]})
        codes = {site.pk: site.code for site in sites.values()}
        query = params.copy()

        def link(to):
            query["page"] = to
            return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({
            "count": page.total, "by_kind": page.by_kind, "page": page.number, "pages": page.pages,
            "page_size": PER_PAGE, "next": link(page.number + 1) if page.number < page.pages else None,
            "previous": link(page.number - 1) if page.number > 1 else None,
            "results": [{"participant": d.participant.pk, "study_number": d.participant.study_number,
                         "site": codes[d.participant.site_id], "what": d.what, "kind": d.kind, "planned": d.planned,
                         "happened": d.happened, "reason": d.reason,
                         "url": reverse("participant-detail", args=[d.participant.pk])} for d in page.rows]})
