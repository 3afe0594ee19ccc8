"""REST API of data exports (API.md "Exports and lists"; `followup.exports`).

`GET /studies/{code}/export/?format=csv|xlsx|odm` starts an export of the study's data at the
user's sites (202 with the status URL), or, when the user's export of the same study, format and
sites is done and recent, returns its file (`fresh=1` always starts a new one); `GET
/exports/{id}/` its state and progress; `GET /exports/{id}/download/` the file (410 once the file
was deleted at the end of its retention period, `EXPORT_RETENTION_DAYS`). An investigator,
a monitor, a data manager or an administrator of the study's sites (403 for another role); a
study or an export of other sites is 404.
"""
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from trials.errors import ConflictError
from trials.models import Study

from .. import exports
from ..export_models import Export, ExportState


class JsonOnly(BaseContentNegotiation):
    """`format` names the export's format here, not the response's: always answer JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    study = serializers.CharField(source="study.code")
    format = serializers.CharField()
    state = serializers.ChoiceField(choices=ExportState.choices)
    state_label = serializers.CharField(source="get_state_display", help_text="The state in the user's language.")
    progress = serializers.IntegerField(help_text="0-100.")
    rows = serializers.IntegerField(help_text="Data rows (records) written, once done.")
    sites = serializers.CharField(source="site_codes", help_text="The sites whose data the export holds.")
    data_locked = serializers.BooleanField(allow_null=True, help_text="The study, or every exported casebook, was "
                                                                      "locked when the export ran (null: not run).")
    requested_by = serializers.CharField(source="requested_by.username")
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expired_at = serializers.DateTimeField(allow_null=True, help_text="When the file was deleted (expired).")
    error = serializers.CharField()
    status_url = serializers.CharField()
    download_url = serializers.CharField(allow_null=True, help_text="Once done.")


def status_data(export: Export, request) -> dict:
    export.status_url = request.build_absolute_uri(reverse("api-export", args=[export.pk]))
    export.download_url = (request.build_absolute_uri(reverse("api-export-download", args=[export.pk]))
                           if export.state == ExportState.DONE else None)
    return ExportStatusSerializer(export).data


def file_response(export: Export) -> FileResponse:
    writer = exports.WRITERS[export.format]
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=export.filename,
                        content_type=writer.content_type)


def visible_export(request, pk) -> Export:
    export = get_object_or_404(Export.objects.select_related("study", "requested_by"), pk=pk)
    if not exports.export_visible(request.user, export):
        raise Http404
    return export


class StudyExport(APIView):
    """Start an export of the study's data at your sites (202 with `status_url`), or download the
    file of your finished export of the same study, format and sites (`EXPORT_REUSE_SECONDS`)."""

    content_negotiation_class = JsonOnly

    @extend_schema(parameters=[
        OpenApiParameter("format", str, enum=["csv", "xlsx", "odm"], required=True),
        OpenApiParameter("fresh", bool, description="1: start a new export even when a recent one is done.")],
        responses={202: ExportStatusSerializer, (200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, code):
        study = get_object_or_404(Study.objects.visible_to(request.user).prefetch_related("sites"), code=code)
        fresh = request.query_params.get("fresh", "") in ("1", "true", "yes")
        before = set(Export.objects.filter(study=study, requested_by=request.user).values_list("pk", flat=True))
        export = exports.export_request(study=study, fmt=request.query_params.get("format"), by=request.user,
                                        language=getattr(request, "LANGUAGE_CODE", None), reuse=not fresh)
        export = Export.objects.select_related("study", "requested_by").get(pk=export.pk)
        if export.pk in before and export.state == ExportState.DONE:
            return file_response(export)
        return Response(status_data(export, request), status=status.HTTP_202_ACCEPTED)


class ExportDetail(APIView):
    """An export's state, progress and, once done, its download URL."""

    @extend_schema(responses=ExportStatusSerializer)
    def get(self, request, pk):
        return Response(status_data(visible_export(request, pk), request))


class ExportDownload(APIView):
    """The export's file (a zip of CSV files, an Excel workbook or an ODM XML document); 409 until
    done, 410 once expired (its file deleted after `EXPORT_RETENTION_DAYS`)."""

    content_negotiation_class = JsonOnly

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, pk):
        export = visible_export(request, pk)
        if export.state == ExportState.EXPIRED:
            raise exports.ExportExpired(export)
        if export.state != ExportState.DONE:
            raise ConflictError({"state": [_("The export is not finished (%(state)s).") % {
                "state": ExportState(export.state).label}]})
        return file_response(export)
