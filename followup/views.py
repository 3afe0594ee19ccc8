"""Marking a visit done or a timed sample collected, and capturing an assessment, from the participant page."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.forms import style
from enrollment.selectors import participants_visible
from enrollment.services import ServiceError
from trials.scoping import Action, require
from trials.units import ANALYTES

from . import services
from .forms import (RESCUE_ROWS, AdverseEventAssessmentForm, AdverseEventDismissForm, AdverseEventForm, TRANSFUSION_ROWS, AssessmentForm, AssessmentLabRowForm, RescueTherapyRowForm,
                    TransfusionRowForm, VisitDoneForm, VisitMissedForm, analytes_expected)


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


def _place_errors(errors: dict, form, labs: list, transfusions: list, rescues: list) -> None:
    """Put each service error on the field holding the value (`labs.2.value` on the third lab entered)."""
    rows = {"labs": labs, "transfusions": transfusions, "rescue_therapies": rescues}
    for path, problems in errors.items():
        parts = path.split(".")
        target, name = form, form.field_for(path)
        if parts[0] in rows and len(parts) >= 2 and parts[1].isdigit():
            entered = rows[parts[0]]
            index = int(parts[1])
            if index < len(entered):
                target = entered[index]
                name = parts[2] if len(parts) == 3 and parts[2] in target.fields else None
            else:
                target, name = form, None
        for problem in problems:
            target.add_error(name, problem)


@login_required
def assessment_new(request, pk):
    """A visit's assessment (`?visit=<code>`; without it, an unscheduled one), through
    `services.assessment_record`, the service of the API."""
    participant = get_object_or_404(participants_visible(request.user), pk=pk)
    require(request.user, Action.CAPTURE, [participant.site_id])
    code = request.GET.get("visit") or ""
    visit = None
    if code:
        visit = get_object_or_404(participant.visits.select_related("definition"), code=code)
        if visit.timed:
            return redirect("visit-record", pk=pk, code=code)
    listed = visit.definition.assessments if visit else []
    data = request.POST if request.method == "POST" else None
    form = AssessmentForm(data, initial={"date": timezone.localdate()},
                          virology="virology" in listed, immune_panel="immune_function" in listed)
    labs = [AssessmentLabRowForm(data, analyte=ANALYTES[c]) for c in analytes_expected(listed)]
    transfusions = [TransfusionRowForm(data, prefix=f"transfusion-{i}") for i in range(TRANSFUSION_ROWS)]
    rescues = [RescueTherapyRowForm(data, prefix=f"rescue-{i}") for i in range(RESCUE_ROWS)]
    if data is not None and all([f.is_valid() for f in (form, *labs, *transfusions, *rescues)]):
        entered_labs = [row for row in labs if row.lab_input() is not None]
        entered_transfusions = [row for row in transfusions if row.item() is not None]
        entered_rescues = [row for row in rescues if row.item() is not None]
        virology, panel = form.panels()
        try:
            services.assessment_record(participant=participant, by=request.user, data=services.AssessmentInput(
                date=form.cleaned_data["date"], visit=code or None,
                labs=[row.lab_input() for row in entered_labs],
                bleeding_grade=form.cleaned_data["bleeding_grade"],
                transfusions=[row.item() for row in entered_transfusions],
                rescue_therapies=[row.item() for row in entered_rescues],
                virology=virology, immune_panel=panel, notes=form.cleaned_data["notes"],
                deviation_reason=form.cleaned_data["deviation_reason"]))
        except ServiceError as error:
            _place_errors(error.errors, form, entered_labs, entered_transfusions, entered_rescues)
        else:
            messages.success(request, _("Assessment recorded.") if not visit else
                             _("%(code)s recorded.") % {"code": visit.code})
            return redirect("participant-detail", pk=pk)
    for row in (*labs, *transfusions, *rescues):
        style(row)
    return render(request, "followup/assessment_form.html", {
        "participant": participant, "visit": visit, "form": form, "labs": labs,
        "transfusions": transfusions, "rescues": rescues})


# --- adverse events: recorded by the site, confirmed or dismissed by the investigator ----------

def _service_errors_on(form, errors: dict) -> None:
    for path, problems in errors.items():
        for problem in problems:
            form.add_error(path if path in form.fields else None, problem)


@login_required
def adverse_event_new(request, pk):
    """Record an adverse event (coordinators and investigators), through `services.adverse_event_record`."""
    participant = get_object_or_404(participants_visible(request.user).prefetch_related("screening__consents"), pk=pk)
    require(request.user, Action.CAPTURE, [participant.site_id])
    form = AdverseEventForm(request.POST or None, initial={"onset_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.adverse_event_record(participant=participant, by=request.user, data=services.AdverseEventInput(
                term=data["term"], category=data["category"], onset_date=data["onset_date"],
                resolution_date=data["resolution_date"], grade=data["grade"], serious=data["serious"],
                relationship=data["relationship"], seriousness=list(data["seriousness"]),
                action_taken=data["action_taken"], outcome=data["outcome"], site_aware_at=data["site_aware_at"],
                description=data["description"]))
        except ServiceError as error:
            _service_errors_on(form, error.errors)
        else:
            messages.success(request, _("Adverse event recorded."))
            return redirect("participant-detail", pk=pk)
    style(form)
    return render(request, "followup/adverse_event_form.html", {"participant": participant, "form": form})


@login_required
def adverse_event_detail(request, pk):
    """One adverse event; an investigator confirms (grades and attributes) or dismisses a draft."""
    from trials.scoping import can

    from .models import AdverseEvent

    event = get_object_or_404(AdverseEvent.objects.visible_to(request.user).select_related("participant"), pk=pk)
    participant = event.participant
    can_sign = can(request.user, Action.SIGN, [participant.site_id]) and event.status == "draft"
    confirm_form = AdverseEventAssessmentForm(initial={"grade": event.suggested_grade})
    dismiss_form = AdverseEventDismissForm()
    if request.method == "POST":
        require(request.user, Action.SIGN, [participant.site_id])
        dismiss = "dismiss" in request.POST
        form = AdverseEventDismissForm(request.POST) if dismiss else AdverseEventAssessmentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if dismiss:
                    services.adverse_event_dismiss(event=event, reason=data["reason"], by=request.user)
                else:
                    services.adverse_event_confirm(
                        event=event, grade=data["grade"], serious=data["serious"], relationship=data["relationship"],
                        seriousness=list(data["seriousness"]), action_taken=data["action_taken"],
                        outcome=data["outcome"], by=request.user)
            except ServiceError as error:
                _service_errors_on(form, error.errors)
            else:
                messages.success(request, _("Adverse event dismissed.") if dismiss else _("Adverse event confirmed."))
                return redirect("participant-detail", pk=participant.pk)
        if dismiss:
            dismiss_form = form
        else:
            confirm_form = form
    style(confirm_form)
    style(dismiss_form)
    return render(request, "followup/adverse_event_detail.html", {
        "participant": participant, "event": event, "can_sign": can_sign,
        "confirm_form": confirm_form, "dismiss_form": dismiss_form})
