"""The participant page (enrolment, consents, infusions, visits, assessments, adverse events,
response and deviations), the withdrawal page linked from it, and the participant's audit trail.

The page gathers what every app records about the participant, so it lives in the app that
sees them all. It finds the participant through `visible_to` (another site's is a 404); the
withdrawal checks the role (`Action.SCREEN`, 403) and calls the same service as the API.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.forms import WithdrawalForm, style
from enrollment.lock_views import casebook_lock_context
from enrollment.locks import lock_of, refuse_if_locked
from enrollment.selectors import participant_for, participants_visible
from enrollment.services import participant_withdraw as withdraw
from trials.errors import ServiceError
from trials.forms_errors import add_service_errors, add_signature_refusal
from trials.scoping import Action, can, require
from trials.signatures import SignatureRefused

from . import signoff
from .deviations import participant_deviations
from .forms import CasebookSignForm
from .models import Visit
from .participant_audit import participant_audit_trail
from .participant_schedule import participant_schedule
from .sdv import screening_analytes, verification_prefetch
from .query_selectors import participant_queries, record_labels
from .selectors import participant_timeline


def _participant(request, pk):
    # The SDV states (`followup/_sdv_states.html`) cost the verifications' query: the plan comes with
    # the study, the screening's lab analytes with the participant (`screening_analytes`).
    return get_object_or_404(
        participants_visible(request.user).select_related("study__sdv_plan")
        .annotate(**screening_analytes(), **signoff.signoff_annotations())
        .prefetch_related("screening__consents", "infusions", "adverse_events", "assessments__labs",
                          "assessments__rescue_therapies", "assessments__transfusions",
                          Prefetch("visits", Visit.objects.select_related("definition")), verification_prefetch()),
        pk=pk)


def _participant_page(request, participant, *, signoff_form=None):
    lock = lock_of(participant)  # read with the participant and its study: no query
    withdrawn = participant.status == "withdrawn"
    schedule = participant_schedule(participant, now=timezone.now())
    response, response_unavailable, chart, charted = participant_timeline(participant)
    can_sign = can(request.user, Action.SIGN, [participant.site_id]) and lock is None
    if can_sign and signoff_form is None:
        signoff_form = CasebookSignForm()
        style(signoff_form)
    data_queries = participant_queries(participant)
    labels = record_labels(participant)
    for query in data_queries:
        query.record_name = labels.get((query.record_kind, query.record_pk), "")
    return render(request, "enrollment/participant_detail.html", {
        "participant": participant,
        "study": participant.study,
        "consents": list(participant.screening.consents.all()),
        "withdrawn": withdrawn,
        "can_withdraw": can(request.user, Action.SCREEN, [participant.site_id]) and lock is None and not withdrawn,
        "schedule": schedule,
        "open_statuses": ("upcoming", "window_open", "overdue"),
        "deviations": participant_deviations(participant),
        "response": response, "response_unavailable": response_unavailable, "chart": chart, "charted": charted,
        "adverse_events": list(participant.adverse_events.all()),
        "can_capture": can(request.user, Action.CAPTURE, [participant.site_id]) and not withdrawn and lock is None,
        "can_sign": can_sign,
        "signoff": signoff.casebook_signature_state(participant), "signoff_form": signoff_form if can_sign else None,
        "signoff_meaning": signoff.CASEBOOK_MEANING,
        "data_queries": data_queries,
        "queried_assessments": {q.record_pk for q in data_queries if q.record_kind == "assessment"},
        "can_query": can(request.user, Action.QUERY, [participant.site_id]) and lock is None,
        **casebook_lock_context(request.user, participant, lock),
        "next_infusion": next((i for i in schedule["infusions"] if i.status in ("planned", "window_open", "overdue")),
                              None),
    })


@login_required
def participant_detail(request, pk):
    return _participant_page(request, _participant(request, pk))


@login_required
def participant_audit(request, pk):
    """The participant's audit trail (`followup.participant_audit`), oldest first, a page at a time:
    for every role of the participant's site (`Action.VIEW_AUDIT`), 404 elsewhere."""
    participant = get_object_or_404(participants_visible(request.user, Action.VIEW_AUDIT), pk=pk)
    trail = participant_audit_trail(participant, page=request.GET.get("page"))
    return render(request, "followup/participant_audit.html", {
        "participant": participant, "study": participant.study, "entries": trail.entries, "page": trail.page})


@login_required
def participant_withdraw(request, pk):
    """The withdrawal on a page of its own: GET explains what withdrawal does and asks for the date
    (never prefilled), the reason and the details; POST withdraws through the same service as the API
    (`enrollment.services.participant_withdraw`), refusals on their fields. 404 for another site's
    participant, 403 for a role that does not screen or a locked casebook."""
    participant = participant_for(request.user, pk, Action.SCREEN)
    refuse_if_locked(participant)
    if participant.status == "withdrawn":
        messages.info(request, _("The participant is already withdrawn."))
        return redirect("participant-detail", pk=pk)
    form = WithdrawalForm(request.POST if request.method == "POST" else None)
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            try:
                withdraw(participant=participant, withdrawn_on=data["withdrawn_on"],
                         reason=data["reason"], detail=data["detail"], by=request.user)
            except ServiceError as error:
                add_service_errors(form, error)
                style(form)
            else:
                messages.success(request, _("%(number)s withdrawn.") % {"number": participant.study_number})
                return redirect("participant-detail", pk=pk)
        messages.error(request, _("The withdrawal was not recorded."))
    return render(request, "enrollment/participant_withdraw.html", {
        "participant": participant, "study": participant.study, "form": form})


@login_required
def participant_casebook_sign(request, pk):
    """The investigator signs the casebook with their password (`followup.signoff.casebook_sign`):
    403 for another role, the page again with the refusal for a wrong password (nothing written)."""
    participant = _participant(request, pk)
    require(request.user, Action.SIGN, [participant.site_id])
    refuse_if_locked(participant)  # a locked casebook: 403 naming the lock
    if request.method != "POST":
        return redirect(reverse("participant-detail", args=[pk]) + "#casebook-signoff")
    form = CasebookSignForm(request.POST)
    if form.is_valid():
        try:
            signoff.casebook_sign(participant=participant, password=form.cleaned_data["password"], by=request.user)
        except SignatureRefused as refused:  # not the signer's password: nothing written
            add_signature_refusal(form, refused)
        except ServiceError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Casebook signed."))
            return redirect(reverse("participant-detail", args=[pk]) + "#casebook-signoff")
    style(form)
    messages.error(request, _("The casebook was not signed."))
    return _participant_page(request, participant, signoff_form=form)
