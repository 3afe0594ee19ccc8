"""Pages: home, study, audit trail. Each checks the user's sites through `visible_to`."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from dosing.selectors import protocol_deviations
from followup.services import outcomes_current
from followup.survival_chart import duration_rows

from . import models, selectors
from .audit import audit_entries
from .scoping import Action, site_ids_for


@login_required
def home(request):
    context = {"studies": selectors.studies_for_home(request.user)}
    if site_ids_for(request.user, Action.CONFIGURE_STUDY) and not settings.CELERY_TASK_ALWAYS_EAGER:
        context["worker"] = selectors.worker_status(timezone.now())
    return render(request, "trials/home.html", context)


@login_required
def study_detail(request, code):
    study = selectors.study_for_user(request.user, code)
    arms = [(arm, selectors.infusion_rows(arm)) for arm in study.arms.all()]
    outcomes = outcomes_current(study=study, compute_missing=False)
    return render(
        request,
        "trials/study_detail.html",
        {
            "study": study,
            "arms": arms,
            "visits": selectors.visit_rows(study),
            "criteria": selectors.criteria_by_kind(study),
            "deviations": protocol_deviations(request.user, study=study),
            "outcomes": outcomes,
            "durations": duration_rows(outcomes.groups if outcomes else []),
        },
    )


# Records whose audit trail can be opened from a page: URL name -> model.
AUDITED = {
    "study": models.Study,
    "site": models.Site,
    "arm": models.Arm,
    "dose-level": models.DoseLevel,
    "infusion-definition": models.InfusionDefinition,
    "visit-definition": models.VisitDefinition,
    "criterion": models.EligibilityCriterion,
    "study-disease": models.StudyDisease,
    "membership": models.SiteMembership,
}


def register_audited(name: str, model) -> None:
    """Other apps add their clinical models so that their records get an audit page too."""
    AUDITED[name] = model


@login_required
def audit_trail(request, kind, pk):
    model = AUDITED.get(kind)
    if model is None:
        raise Http404
    record = get_object_or_404(model.objects.visible_to(request.user, Action.VIEW_AUDIT), pk=pk)
    return render(
        request,
        "trials/audit.html",
        {"record": record, "kind": kind, "verbose_name": model._meta.verbose_name, "entries": audit_entries(record)},
    )
