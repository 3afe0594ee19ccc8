"""Marking a visit done or a timed sample collected, from the participant page."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.selectors import participants_visible
from enrollment.services import ServiceError
from trials.scoping import Action, require

from . import services
from .forms import VisitDoneForm, VisitMissedForm


@login_required
def visit_record(request, pk, code):
    participant = get_object_or_404(participants_visible(request.user), pk=pk)
    require(request.user, Action.CAPTURE, [participant.site_id])
    visit = get_object_or_404(participant.visits.select_related("definition", "participant"), code=code)
    done_form = VisitDoneForm(initial={"done_at": timezone.localtime().replace(second=0, microsecond=0)})
    missed_form = VisitMissedForm()
    if request.method == "POST":
        missed = "missed" in request.POST
        form = VisitMissedForm(request.POST) if missed else VisitDoneForm(request.POST)
        if form.is_valid():
            try:
                if missed:
                    services.visit_miss(visit=visit, reason=form.cleaned_data["reason"], by=request.user)
                else:
                    services.visit_record(visit=visit, done_at=form.cleaned_data["done_at"],
                                          deviation_reason=form.cleaned_data["deviation_reason"], by=request.user)
            except ServiceError as error:
                for path, problems in error.errors.items():
                    for problem in problems:
                        form.add_error(path if path in form.fields else None, problem)
            else:
                messages.success(request, _("%(code)s recorded.") % {"code": visit.code})
                return redirect("participant-detail", pk=pk)
        if missed:
            missed_form = form
        else:
            done_form = form
    return render(request, "followup/visit_form.html",
                  {"participant": participant, "visit": visit, "done_form": done_form, "missed_form": missed_form})
