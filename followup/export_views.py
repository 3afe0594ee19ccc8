"""The study's "Exports" page (`followup.exports`): start an export, watch its progress (a
`<progress>` element that `static/js/export-progress.js` refreshes from the status JSON; without
script, a refresh link), download it, and the list of past exports with who, when, the format and
whether the data were locked; an expired export (its file deleted after EXPORT_RETENTION_DAYS)
says so in place of its download. For the roles that export, at the study's sites (403 otherwise)."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from trials import selectors
from trials.errors import ServiceError

from . import exports
from .export_models import ExportFormat


@login_required
@require_http_methods(["GET", "POST"])
def study_exports(request, code):
    study = selectors.study_for_user(request.user, code)
    sites = exports.require_export(request.user, study)
    if request.method == "POST":
        try:
            export = exports.export_request(study=study, fmt=request.POST.get("format"), by=request.user,
                                            language=request.LANGUAGE_CODE)
        except ServiceError as error:
            for message_list in error.errors.values():
                for message in message_list:
                    messages.error(request, message)
            return redirect("study-exports", study.code)
        return redirect(reverse("study-exports", args=[study.code]) + f"?export={export.pk}")
    past = exports.study_exports(request.user, study)
    current = None
    if request.GET.get("export", "").isdigit():
        current = next((e for e in past if e.pk == int(request.GET["export"])), None)
    if current is not None and current.state == "expired":
        messages.info(request, exports.expired_message(current))
    available = [(value, label) for value, label in ExportFormat.choices if exports.WRITERS[value].load()]
    return render(request, "followup/study_exports.html", {
        "study": study, "sites": sites, "exports": past, "current": current, "formats": available,
        "retention_days": settings.EXPORT_RETENTION_DAYS,
    })
