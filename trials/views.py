"""Pages: home and audit trail (the study page is `followup.study_views`). Each checks the user's
sites through `visible_to`."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from . import selectors
from .audit import audit_entries, audited_model
from .scoping import Action, site_ids_for


@login_required
def home(request):
    context = {"studies": selectors.studies_for_home(request.user)}
    if site_ids_for(request.user, Action.CONFIGURE_STUDY) and not settings.CELERY_TASK_ALWAYS_EAGER:
        context["worker"] = selectors.worker_status(timezone.now())
    return render(request, "trials/home.html", context)


@login_required
def audit_trail(request, kind, pk):
    model = audited_model(kind)
    if model is None:
        raise Http404
    record = get_object_or_404(model.objects.visible_to(request.user, Action.VIEW_AUDIT), pk=pk)
    return render(
        request,
        "trials/audit.html",
        {"record": record, "kind": kind, "verbose_name": model._meta.verbose_name, "entries": audit_entries(record)},
    )
