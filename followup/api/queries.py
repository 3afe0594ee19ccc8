"""REST API of data queries: a participant's queries listed and opened, one query read, answered,
closed and re-opened (`followup.data_queries`). Another site's participant or query is 404, a
wrong role 403, bad input 400 naming the field, a query in the wrong state 409."""
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.selectors import participant_for
from trials.errors import ServiceError
from trials.limits import LimitedSerializer

from ..data_queries import query_answer, query_close, query_open, query_reopen
from ..query_models import DataQuery, QueryState
from ..record_refs import KINDS, RecordRef


class DataQueryMessageSerializer(serializers.Serializer):
    kind = serializers.CharField()
    text = serializers.CharField()
    by = serializers.CharField(source="by.username", default=None)
    at = serializers.DateTimeField()


class DataQuerySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    participant = serializers.IntegerField(source="participant_id")
    record = serializers.SerializerMethodField(help_text='"<kind>/<id>", e.g. "assessment/12".')
    kind = serializers.CharField(source="record_kind")
    record_id = serializers.IntegerField(source="record_pk")
    item = serializers.CharField()
    question = serializers.CharField()
    state = serializers.CharField(help_text="open | answered | closed")
    source = serializers.CharField(help_text="manual | system")
    check = serializers.CharField(source="check_code", help_text="The edit check of a system query; else empty.")
    opened_by = serializers.CharField(source="opened_by.username", default=None)
    opened_at = serializers.DateTimeField()
    age_days = serializers.IntegerField()
    answer = serializers.CharField()
    answered_by = serializers.CharField(source="answered_by.username", default=None)
    answered_at = serializers.DateTimeField()
    correction = serializers.SerializerMethodField(
        help_text="The change made with the answer: {record, id, history_id, at}; null without one.")
    closed_by = serializers.CharField(source="closed_by.username", default=None)
    closed_at = serializers.DateTimeField()
    close_note = serializers.CharField()

    def get_record(self, query) -> str:
        return f"{query.record_kind}/{query.record_pk}"

    def get_correction(self, query) -> dict | None:
        if query.correction_history_id is None:
            return None
        return {"record": query.correction_kind, "id": query.correction_pk, "history_id": query.correction_history_id,
                "at": query.corrected_at.isoformat() if query.corrected_at else None}


class DataQueryDetailSerializer(DataQuerySerializer):
    messages = DataQueryMessageSerializer(many=True)


class DataQueryOpenSerializer(LimitedSerializer):
    length_model, length_fields = DataQuery, {"kind": "record_kind"}

    kind = serializers.CharField(required=False, allow_blank=True, default="",
                                 help_text=" | ".join(KINDS) + ' (or give "record" as "<kind>/<id>")')
    record = serializers.CharField(help_text='The record id, or "<kind>/<id>".')
    item = serializers.CharField(help_text="A field, lab:<analyte> or item:<code> of the record.")
    question = serializers.CharField(allow_blank=True)


class AnswerSerializer(LimitedSerializer):
    length_model = DataQuery

    answer = serializers.CharField(allow_blank=True)


class CloseSerializer(LimitedSerializer):
    length_model, length_fields = DataQuery, {"note": "close_note"}

    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReopenSerializer(LimitedSerializer):
    length_model = DataQuery

    reason = serializers.CharField(allow_blank=True)


MAX_ID = 2 ** 63 - 1  # the largest primary key: a larger number is no record (and no database error)


def _queries(user):
    return (DataQuery.objects.visible_to(user)
            .select_related("participant", "opened_by", "answered_by", "closed_by"))


def _record_ref(data) -> RecordRef:
    kind, record = data["kind"], data["record"]
    if "/" in record:
        kind, record = record.split("/", 1)
    kind = kind.replace("-", "_")
    if kind not in KINDS:
        raise ServiceError({"kind": [_("There is no such kind of record.")]})
    if not record.strip().isdigit() or int(record) > MAX_ID:
        raise ServiceError({"record": [_("There is no such record of this participant.")]})
    return RecordRef(kind, int(record))


class ParticipantQueries(APIView):
    """GET a participant's data queries (`?state=open|answered|closed`); POST opens one (a monitor,
    an investigator or a data manager of the participant's site)."""

    @extend_schema(responses=DataQuerySerializer(many=True))
    def get(self, request, pk):
        participant = participant_for(request.user, pk)
        queries = _queries(request.user).filter(participant=participant)
        state = request.query_params.get("state") or request.query_params.get("status")
        if state:
            if state not in QueryState.values:
                raise ServiceError({"state": [_("Ask for open, answered or closed queries.")]})
            queries = queries.filter(state=state)
        return Response(DataQuerySerializer(queries, many=True).data)

    @extend_schema(request=DataQueryOpenSerializer, responses={201: DataQueryDetailSerializer})
    def post(self, request, pk):
        participant = participant_for(request.user, pk)
        serializer = DataQueryOpenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        query = query_open(_record_ref(data), data["item"], data["question"], request.user, participant=participant)
        return Response(DataQueryDetailSerializer(_queries(request.user).get(pk=query.pk)).data,
                        status=status.HTTP_201_CREATED)


def _query(request, pk) -> DataQuery:
    return get_object_or_404(_queries(request.user).prefetch_related("messages__by"), pk=pk)


class QueryDetail(APIView):
    """One data query with its thread."""

    @extend_schema(responses=DataQueryDetailSerializer)
    def get(self, request, pk):
        return Response(DataQueryDetailSerializer(_query(request, pk)).data)


class QueryAnswer(APIView):
    """Answer an open query (a coordinator or an investigator of the site); 409 when not open."""

    @extend_schema(request=AnswerSerializer, responses=DataQueryDetailSerializer)
    def post(self, request, pk):
        query = _query(request, pk)
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        query_answer(query, serializer.validated_data["answer"], request.user)
        return Response(DataQueryDetailSerializer(_query(request, pk)).data)


class QueryClose(APIView):
    """Close a query (the person who opened it or a data manager; a system query, any role that
    closes queries at the site); 409 when already closed."""

    @extend_schema(request=CloseSerializer, responses=DataQueryDetailSerializer)
    def post(self, request, pk):
        query = _query(request, pk)
        serializer = CloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        query_close(query, request.user, serializer.validated_data["note"])
        return Response(DataQueryDetailSerializer(_query(request, pk)).data)


class QueryReopen(APIView):
    """Re-open a closed query, with the reason (as closing); 409 when not closed."""

    @extend_schema(request=ReopenSerializer, responses=DataQueryDetailSerializer)
    def post(self, request, pk):
        query = _query(request, pk)
        serializer = ReopenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        query_reopen(query, request.user, serializer.validated_data["reason"])
        return Response(DataQueryDetailSerializer(_query(request, pk)).data)
