"""REST API of a study's outcomes (API.md 'GET /api/v1/studies/{code}/outcomes/'): remission
rates with their confidence intervals and the duration of response."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from trials.models import Study

from .. import services
from ..statistics import DURATION_UNITS


def _pair(help_text: str, **extra):
    return serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True,
                                 help_text=help_text, **extra)


class SurvivalAtSerializer(serializers.Serializer):
    time = serializers.FloatField(help_text="Landmark, in the block's unit (3, 6 or 12 months).")
    survival = serializers.FloatField(help_text="Kaplan-Meier probability of still being in response.")
    ci = _pair("Log-log confidence interval [lo, hi]; null where survival is 1 (no loss yet) or 0.")


class SurvivalStepSerializer(serializers.Serializer):
    time = serializers.FloatField(help_text="A time with at least one confirmed loss of response.")
    at_risk = serializers.IntegerField()
    events = serializers.IntegerField()
    censored = serializers.IntegerField(help_text="Censored at exactly this time (still counted at risk).")
    survival = serializers.FloatField()
    std_err = serializers.FloatField(allow_null=True, help_text="Greenwood standard error; null where survival is 0.")
    ci = _pair("Log-log confidence interval [lo, hi]; null where survival is 0.")


class DurationOfResponseSerializer(serializers.Serializer):
    """Kaplan-Meier duration of response of the confirmed responders (CLINICAL_RULES.md sections 1, 6)."""

    unit = serializers.ChoiceField(choices=DURATION_UNITS, help_text="Months of `days_per_unit` (30) days.")
    days_per_unit = serializers.IntegerField()
    confidence = serializers.FloatField()
    responders = serializers.IntegerField(help_text="Confirmed responders with a duration.")
    events = serializers.IntegerField(help_text="Confirmed losses of response.")
    censored = serializers.IntegerField(help_text="Censored at their last evaluable assessment.")
    median = serializers.FloatField(allow_null=True, help_text="Median duration; null while not reached.")
    median_ci = serializers.ListField(child=serializers.FloatField(allow_null=True), min_length=2, max_length=2,
                                     help_text="[lo, hi] from the log-log band; an end not reached is null.")
    at = SurvivalAtSerializer(many=True, help_text="At 3, 6 and 12 months, where follow-up reaches them.")
    steps = SurvivalStepSerializer(many=True, help_text="The step curve, one entry per loss time.")
    censored_times = serializers.ListField(child=serializers.FloatField())
    max_time = serializers.FloatField(help_text="Longest observed duration.")


class OutcomeGroupSerializer(serializers.Serializer):
    group = serializers.CharField(help_text="Arm or dose-level code, or `all`.")
    treated = serializers.IntegerField(help_text="Received at least one infusion.")
    evaluable = serializers.IntegerField()
    responders = serializers.IntegerField(help_text="Best confirmed response CR, R or PR.")
    complete_responders = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="Responders / treated.")
    ci_exact = _pair("Clopper-Pearson 95 % CI of `rate`.")
    ci_wilson = _pair("Wilson 95 % CI of `rate`.")
    rate_evaluable = serializers.FloatField(allow_null=True, help_text="Responders / evaluable.")
    ci_exact_evaluable = _pair("Clopper-Pearson 95 % CI of `rate_evaluable`.")
    ci_wilson_evaluable = _pair("Wilson 95 % CI of `rate_evaluable`.")
    duration_of_response = DurationOfResponseSerializer(allow_null=True, help_text="Null without a responder.")


class StudyOutcomesSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField()
    up_to_date = serializers.BooleanField(
        help_text="False while a change (an infusion, an assessment) is not included yet: the snapshot is "
                  "recomputed in the background, within minutes even when the broker was down.")
    groups = OutcomeGroupSerializer(many=True)


class StudyOutcomes(APIView):
    """Remission rates per arm or dose level and for all, with exact and Wilson 95 % CIs (API.md),
    also over the evaluable set, and the Kaplan-Meier duration of response of the confirmed
    responders (months of 30 days; `OutcomeGroupSerializer`).

    Served from the stored snapshot (recomputed in the background after each infusion or
    assessment); computed at once the first time a study is asked for.
    """

    @extend_schema(responses=StudyOutcomesSerializer)
    def get(self, request, code):
        study = get_object_or_404(Study.objects.visible_to(request.user), code=code)
        snapshot = services.outcomes_current(study=study)
        return Response(StudyOutcomesSerializer(snapshot).data)
