"""Marking a visit done or a timed sample collected, and capturing an assessment, from the participant page."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dosing.forms import DateTimeLocal
from enrollment.forms import style
from enrollment.locks import lock_of, refuse_if_locked
from enrollment.selectors import participants_visible
from trials import catalogues
from trials.concurrency import StaleVersion, conflict_of, posted_at
from trials.errors import ServiceError
from trials.forms_errors import add_service_errors, add_signature_refusal
from trials.limits import LimitedForm
from trials.models import Site, Study
from trials.scoping import Action, can, require, site_ids_for
from trials.signatures import ADVERSE_EVENT_MEANING, SignatureRefused

from . import services
from . import worklist as work
from .ctcae_terms import ctcae_terms
from .forms import (
    RESCUE_ROWS,
    TRANSFUSION_ROWS,
    AdverseEventConfirmForm,
    AdverseEventDismissForm,
    AdverseEventEditForm,
    AdverseEventRecordForm,
    AssessmentEditForm,
    AssessmentForm,
    AssessmentLabRowForm,
    RescueTherapyRowForm,
    TransfusionRowForm,
    VisitDoneForm,
    VisitItemsForm,
    VisitMissedForm,
    analytes_expected,
)
from .models import AdverseEvent, Assessment, SeriousnessCriterion
from .query_selectors import query_on_record, query_wanted, worklist_queries
from .selectors import visit_form_items
from .worklist_reads import worklist_page as read_worklist_page
from .worklist_rows import RowWriter


@login_required
def visit_record(request, pk, code):
    participant = get_object_or_404(participants_visible(request.user), pk=pk)
    require(request.user, Action.CAPTURE, [participant.site_id])
    refuse_if_locked(participant)  # a locked casebook: 403 naming the lock
    visit = get_object_or_404(participant.visits.select_related("definition", "participant"), code=code)
    done_form = VisitDoneForm(initial={"done_at": timezone.localtime().replace(second=0, microsecond=0),
                                       "version": visit.row_version})
    missed_form = VisitMissedForm(initial={"version": visit.row_version})
    conflict = None
    if request.method == "POST":
        missed = "missed" in request.POST
        form_class = VisitMissedForm if missed else VisitDoneForm
        form = form_class(request.POST)
        if form.is_valid():
            read = form.cleaned_data["version"]
            try:
                if missed:
                    services.visit_miss(visit=visit, reason=form.cleaned_data["reason"], by=request.user,
                                        version=read)
                else:
                    services.visit_record(visit=visit, done_at=form.cleaned_data["done_at"],
                                          deviation_reason=form.cleaned_data["deviation_reason"], by=request.user,
                                          version=read)
            except StaleVersion as stale:  # re-dated since the page was read: show what, keep the values
                conflict = conflict_of(stale, read)
                form = form_class(posted_at(request.POST, conflict.version))
                form.is_valid()
            except ServiceError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("%(code)s recorded.") % {"code": visit.code})
                return redirect("participant-detail", pk=pk)
        if missed:
            missed_form = form
        else:
            done_form = form
    return render(request, "followup/visit_form.html",
                  {"participant": participant, "visit": visit, "done_form": done_form, "missed_form": missed_form,
                   "conflict": conflict})


@login_required
def assessment_new(request, pk):
    """A visit's assessment (`?visit=<code>`; without it, an unscheduled one), through
    `services.assessment_record`, the service of the API."""
    participant = get_object_or_404(participants_visible(request.user), pk=pk)
    require(request.user, Action.CAPTURE, [participant.site_id])
    refuse_if_locked(participant)
    code = request.GET.get("visit") or ""
    visit = None
    if code:
        visit = get_object_or_404(participant.visits.select_related("definition"), code=code)
        if visit.timed:
            return redirect("visit-record", pk=pk, code=code)
    listed = visit.definition.assessments if visit else []
    data = request.POST if request.method == "POST" else None
    form = AssessmentForm(data, initial={"date": timezone.localdate()})
    items = VisitItemsForm(data, items=visit_form_items(participant.study_id).placed(
        visit.definition_id if visit else None))
    analytes = catalogues.current().analytes
    labs = [AssessmentLabRowForm(data, analyte=analytes[c]) for c in analytes_expected(listed)]
    transfusions = [TransfusionRowForm(data, prefix=f"transfusion-{i}") for i in range(TRANSFUSION_ROWS)]
    rescues = [RescueTherapyRowForm(data, prefix=f"rescue-{i}") for i in range(RESCUE_ROWS)]
    if data is not None:
        shaped = all([f.is_valid() for f in (form, items, *labs, *transfusions, *rescues)])
        # What the forms could read: a refused row is not sent (it shows its own messages).
        entered_labs = [row for row in labs if not row.errors and row.lab_input() is not None]
        entered_transfusions = [row for row in transfusions if not row.errors and row.item() is not None]
        entered_rescues = [row for row in rescues if not row.errors and row.item() is not None]
        cleaned = form.cleaned_data
        entry = services.AssessmentInput(
            date=cleaned.get("date"), visit=code or None, labs=[row.lab_input() for row in entered_labs],
            bleeding_grade=cleaned.get("bleeding_grade"), steroid_mg_per_day=cleaned.get("steroid_mg_per_day"),
            steroid_drug=cleaned.get("steroid_drug") or "",
            steroid_dose_mg_per_day=cleaned.get("steroid_dose_mg_per_day"),
            transfusions=[row.item() for row in entered_transfusions],
            rescue_therapies=[row.item() for row in entered_rescues],
            items=items.item_values(), notes=cleaned.get("notes") or "",
            deviation_reason=cleaned.get("deviation_reason") or "")
        rows = {"labs": entered_labs, "transfusions": entered_transfusions, "rescue_therapies": entered_rescues}
    if data is not None and not shaped:  # the service's checks too, so that every problem shows at once
        _show_errors(services.assessment_problems(participant=participant, data=entry), form, items, rows=rows,
                     beside_form_errors=True)
    elif data is not None:
        try:
            services.assessment_record(participant=participant, by=request.user, data=entry)
        except ServiceError as error:
            _show_errors(error, form, items, rows=rows)
        else:
            messages.success(request, _("Assessment recorded.") if not visit else
                             _("%(code)s recorded.") % {"code": visit.code})
            return redirect("participant-detail", pk=pk)
    for row in (items, *labs, *transfusions, *rescues):
        style(row)
    return render(request, "followup/assessment_form.html", {
        "participant": participant, "visit": visit, "form": form, "items": items, "labs": labs,
        "transfusions": transfusions, "rescues": rescues})


def _show_errors(error, form, items: VisitItemsForm, *, rows, beside_form_errors: bool = False) -> None:
    """The service's refusal (or its messages) on the page: answers to items on their fields, the
    rest on the form (`beside_form_errors`: not on a field already showing the form's message)."""
    errors = error.errors if isinstance(error, ServiceError) else error
    on_items = {path: texts for path, texts in errors.items() if items.field_for(path)}
    add_service_errors(items, on_items, beside_form_errors=beside_form_errors)
    add_service_errors(form, {path: texts for path, texts in errors.items() if path not in on_items}, rows=rows,
                       beside_form_errors=beside_form_errors)


def _readable_rows(labs, transfusions, rescues) -> dict:
    """The rows of a refused assessment form that could be read (a refused row shows its own messages)."""
    return {"labs": [row for row in labs if not row.errors and row.lab_input() is not None],
            "transfusions": [row for row in transfusions if not row.errors and row.item() is not None],
            "rescue_therapies": [row for row in rescues if not row.errors and row.item() is not None]}


def _correction_problems(assessment, form, items, labs, transfusions, rescues):
    """What the correction service would also refuse in what the page could read of a correction its
    form refused (the fields the form refused are left as recorded)."""
    cleaned, rows = form.cleaned_data, _readable_rows(labs, transfusions, rescues)
    names = ("date", "bleeding_grade", "steroid_mg_per_day", "steroid_drug", "steroid_dose_mg_per_day", "notes",
             "deviation_reason")
    given = {name: cleaned[name] for name in names if name in cleaned}
    if "visit" in cleaned:
        given["visit"] = cleaned["visit"] or None
    return services.assessment_change_problems(assessment=assessment, reason=cleaned.get("reason") or "",
                                               data=services.AssessmentInput(**{
        **dict.fromkeys(("date", "visit", "bleeding_grade", "steroid_mg_per_day", "steroid_drug",
                         "steroid_dose_mg_per_day", "notes", "deviation_reason", "concomitant_medications",
                         "virology", "immune_panel"), services.KEEP), **given,
        "labs": [row.lab_input() for row in rows["labs"]],
        "transfusions": [row.item() for row in rows["transfusions"]],
        "rescue_therapies": [row.item() for row in rows["rescue_therapies"]],
        "items": items.item_values() if items.fields and not items.errors else services.KEEP}))


@login_required
def assessment_edit(request, pk):
    """Correct a recorded assessment with a reason (a coordinator of the site), through
    `services.assessment_update`, the service of the API. The form holds every value recorded, so
    that what is left out is removed; concomitant medications are kept as they are, and so are the
    answers to items that the visit's form does not place (an assessment moved from another visit)."""
    assessment = get_object_or_404(
        Assessment.objects.visible_to(request.user).select_related("participant", "visit__definition")
        .prefetch_related("labs", "transfusions", "rescue_therapies"), pk=pk)
    participant = assessment.participant
    if not services.assessment_can_correct(request.user, participant):
        raise PermissionDenied(_("Only a coordinator of the participant's site corrects an assessment."))
    refuse_if_locked(participant)
    wanted = query_wanted(request)  # the data query this correction answers, if any
    answering = query_on_record(request.user, wanted, kind="assessment", pk=assessment.pk)
    visits = [v for v in participant.visits.select_related("definition").order_by("target_at", "id")
              if not v.timed and (v.state == "upcoming" or v.pk == assessment.visit_id)]
    listed = assessment.visit.definition.assessments if assessment.visit_id else []
    recorded_labs = {lab.analyte: lab for lab in assessment.labs.all()}
    data = request.POST if request.method == "POST" else None
    form = AssessmentEditForm(data, initial=AssessmentEditForm.initial_from(assessment), visits=visits)
    items = VisitItemsForm(data, stored=assessment.items, items=visit_form_items(participant.study_id).placed(
        assessment.visit.definition_id if assessment.visit_id else None))
    analytes = catalogues.current().analytes
    codes = [code for code in analytes if code in set(analytes_expected(listed)) | set(recorded_labs)]
    labs = [AssessmentLabRowForm(data, analyte=analytes[code], initial=AssessmentLabRowForm.initial_from(
        recorded_labs[code]) if code in recorded_labs else None) for code in codes]
    recorded_transfusions = list(assessment.transfusions.all())
    recorded_rescues = list(assessment.rescue_therapies.all())
    transfusions = [TransfusionRowForm(data, prefix=f"transfusion-{i}", initial=TransfusionRowForm.initial_from(
        recorded_transfusions[i]) if i < len(recorded_transfusions) else None)
        for i in range(max(TRANSFUSION_ROWS, len(recorded_transfusions) + 1))]
    rescues = [RescueTherapyRowForm(data, prefix=f"rescue-{i}", initial=RescueTherapyRowForm.initial_from(
        recorded_rescues[i]) if i < len(recorded_rescues) else None)
        for i in range(max(RESCUE_ROWS, len(recorded_rescues) + 1))]
    conflict = None
    shaped = data is not None and all([f.is_valid() for f in (form, items, *labs, *transfusions, *rescues)])
    if data is not None and not shaped:  # the service's checks too, so that every problem shows at once
        _show_errors(_correction_problems(assessment, form, items, labs, transfusions, rescues), form, items,
                     rows=_readable_rows(labs, transfusions, rescues), beside_form_errors=True)
    elif data is not None:
        entered_labs = [row for row in labs if row.lab_input() is not None]
        entered_transfusions = [row for row in transfusions if row.item() is not None]
        entered_rescues = [row for row in rescues if row.item() is not None]
        try:
            services.assessment_update(assessment=assessment, by=request.user, reason=form.cleaned_data["reason"],
                                       version=form.cleaned_data["version"], query=wanted or None,
                                       data=services.AssessmentInput(
                date=form.cleaned_data["date"], visit=form.cleaned_data["visit"] or None,
                labs=[row.lab_input() for row in entered_labs],
                bleeding_grade=form.cleaned_data["bleeding_grade"],
                steroid_mg_per_day=form.cleaned_data["steroid_mg_per_day"],
                steroid_drug=form.cleaned_data["steroid_drug"],
                steroid_dose_mg_per_day=form.cleaned_data["steroid_dose_mg_per_day"],
                transfusions=[row.item() for row in entered_transfusions],
                rescue_therapies=[row.item() for row in entered_rescues],
                concomitant_medications=services.KEEP, items=items.item_values() if items.fields else services.KEEP,
                virology=services.KEEP, immune_panel=services.KEEP,
                notes=form.cleaned_data["notes"], deviation_reason=form.cleaned_data["deviation_reason"]))
        except StaleVersion as stale:
            conflict = conflict_of(stale, form.cleaned_data["version"])
            form = AssessmentEditForm(posted_at(data, conflict.version), initial=form.initial, visits=visits)
            form.is_valid()
        except ServiceError as error:
            _show_errors(error, form, items, rows={
                "labs": entered_labs, "transfusions": entered_transfusions, "rescue_therapies": entered_rescues})
        else:
            messages.success(request, _("Assessment of %(day)s corrected.") % {
                "day": form.cleaned_data["date"].isoformat()})
            if answering is not None:
                messages.success(request, _("The query is answered with this correction."))
                return redirect("query-detail", pk=answering.pk)
            return redirect("participant-detail", pk=participant.pk)
    for row in (items, *labs, *transfusions, *rescues):
        style(row)
    return render(request, "followup/assessment_form.html", {
        "participant": participant, "visit": assessment.visit, "assessment": assessment, "form": form,
        "items": items, "labs": labs, "transfusions": transfusions, "rescues": rescues, "conflict": conflict,
        "answering": answering, "query_wanted": wanted})


# --- adverse events: recorded by the site, confirmed or dismissed by the investigator ----------

@login_required
def adverse_event_new(request, pk):
    """Record an adverse event (coordinators and investigators), through `services.adverse_event_record`."""

    participant = get_object_or_404(participants_visible(request.user).prefetch_related("screening__consents"), pk=pk)
    require(request.user, Action.CAPTURE, [participant.site_id])
    refuse_if_locked(participant)
    may_sign = can(request.user, Action.SIGN, [participant.site_id])
    form = AdverseEventRecordForm(request.POST or None, initial={"onset_date": timezone.localdate()},
                                  may_sign=may_sign)
    if request.method == "POST" and not form.is_valid():  # the service's checks too: every problem at once
        add_service_errors(form, services.adverse_event_problems(
            participant=participant, data=_adverse_event_input(form.cleaned_data)), beside_form_errors=True)
    elif request.method == "POST":
        data = form.cleaned_data
        try:
            event = services.adverse_event_record(
                participant=participant, by=request.user, password=data.get("password") or "",
                data=_adverse_event_input(data, site_aware_at=data["site_aware_at"]))
        except PermissionDenied as refused:  # the password is not the signer's: nothing written
            add_signature_refusal(form, refused)
        except ServiceError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Adverse event recorded and confirmed with your signature.")
                             if event.status == "confirmed" else
                             _("Adverse event recorded as a draft: an investigator of the site confirms grade, "
                               "seriousness and relationship with their signature."))
            return redirect("participant-detail", pk=pk)
    style(form)
    return render(request, "followup/adverse_event_form.html", {
        "participant": participant, "form": form, "ctcae_terms": _ctcae_terms(), "may_sign": may_sign,
        "meaning": ADVERSE_EVENT_MEANING})


def _adverse_event_input(data: dict, **more) -> services.AdverseEventInput:
    """The fields the recording and the correction pages share, from the form (a field it refused
    is left out, as not given)."""
    return services.AdverseEventInput(
        term=data.get("term") or "", term_other=bool(data.get("term_other")), category=data.get("category") or "",
        onset_date=data.get("onset_date"), resolution_date=data.get("resolution_date"), grade=data.get("grade"),
        serious=data.get("serious"), relationship=data.get("relationship") or "",
        seriousness=list(data.get("seriousness") or []), action_taken=data.get("action_taken") or "",
        outcome=data.get("outcome") or "", description=data.get("description") or "", **more)


def _ctcae_terms():
    return ctcae_terms().terms


@login_required
def adverse_event_edit(request, pk):
    """Correct a confirmed adverse event with a reason (coordinators and investigators of the site;
    the relationship to treatment only by an investigator), through `services.adverse_event_update`."""
    event = get_object_or_404(AdverseEvent.objects.visible_to(request.user).select_related("participant")
                              .prefetch_related("participant__screening__consents"), pk=pk)
    participant = event.participant
    require(request.user, Action.CAPTURE, [participant.site_id])
    refuse_if_locked(participant)
    if event.status != "confirmed":
        messages.error(request, _("Only a confirmed adverse event is corrected; this one is %(status)s.") % {
            "status": event.get_status_display().lower()})
        return redirect("adverse-event-detail", pk=pk)
    wanted = query_wanted(request)  # the data query this correction answers, if any
    answering = query_on_record(request.user, wanted, kind="adverse_event", pk=event.pk)
    initial = AdverseEventEditForm.initial_from(event)
    may_change_relationship = services.adverse_event_can_change_relationship(request.user, participant)
    form = AdverseEventEditForm(request.POST or None, initial=initial, may_change_relationship=may_change_relationship)
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        aware = data["site_aware_at"]
        # The page shows the time to the minute: an unchanged minute keeps the recorded time.
        keep_aware = aware is None or aware == initial["site_aware_at"]
        try:
            services.adverse_event_update(
                event=event, by=request.user, reason=data["reason"], password=data.get("password") or "",
                version=data["version"], query=wanted or None, data=_adverse_event_input(
                    data, site_aware_at=services.KEEP if keep_aware else aware,
                    resolved_to_grade1_within_48h=data["resolved_to_grade1_within_48h"],
                    stopped_infusions=data["stopped_infusions"],
                    platelet_drop_confirmed=data["platelet_drop_confirmed"]))
        except StaleVersion as stale:
            conflict = conflict_of(stale, data["version"])
            form = AdverseEventEditForm(posted_at(request.POST, conflict.version), initial=initial,
                                        may_change_relationship=may_change_relationship)
            form.is_valid()
        except SignatureRefused as refusal:  # the password is not the signer's: nothing written
            add_signature_refusal(form, refusal)
        except PermissionDenied as refusal:
            form.add_error(None, str(refusal))
        except ServiceError as error:
            add_service_errors(form, error)
        else:
            if event.status == "draft":
                messages.warning(request, _("Adverse event corrected. Grade, seriousness or relationship changed: "
                                            "the investigator's signature is withdrawn and the event is a draft "
                                            "again, for an investigator of the site to confirm."))
            else:
                messages.success(request, _("Adverse event corrected."))
            if answering is not None:
                messages.success(request, _("The query is answered with this correction."))
                return redirect("query-detail", pk=answering.pk)
            return redirect("adverse-event-detail", pk=pk)
    style(form)
    return render(request, "followup/adverse_event_edit_form.html", {
        "participant": participant, "event": event, "form": form, "ctcae_terms": _ctcae_terms(),
        "may_sign": may_change_relationship, "meaning": ADVERSE_EVENT_MEANING, "conflict": conflict,
        "answering": answering, "query_wanted": wanted})


class SaeReportForm(LimitedForm, forms.Form):
    reported_at = forms.DateTimeField(label=gettext_lazy("Reported to the sponsor and ethics committee at"),
                                      widget=DateTimeLocal(), input_formats=["%Y-%m-%dT%H:%M"])


def _sae_report(request, event, form):
    """The "Record SAE report" form of the detail page, through the service of the API."""
    require(request.user, Action.CAPTURE, [event.participant.site_id])
    refuse_if_locked(event.participant)
    if form.is_valid():
        try:
            services.adverse_event_sae_report(event=event, reported_at=form.cleaned_data["reported_at"],
                                              by=request.user)
        except ServiceError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("SAE report recorded."))
            return redirect("adverse-event-detail", pk=event.pk)
    return None


@login_required
def adverse_event_detail(request, pk):
    """One adverse event; an investigator confirms (grades and attributes) or dismisses a draft;
    a coordinator or investigator records the report of a serious one."""
    event = get_object_or_404(AdverseEvent.objects.visible_to(request.user)
                              .select_related("participant__study__locked_by", "participant__locked_by",
                                              "sae_reported_by", "reported_by", "confirmed_by"), pk=pk)
    participant = event.participant
    seriousness = [SeriousnessCriterion(code).label if code in SeriousnessCriterion.values else code
                   for code in event.seriousness or []]
    lock = lock_of(participant)  # a locked casebook shows no form to change the event
    can_sign = can(request.user, Action.SIGN, [participant.site_id]) and event.status == "draft" and lock is None
    # A serious draft is reported too: safety reporting does not wait for the signature.
    can_report = (can(request.user, Action.CAPTURE, [participant.site_id]) and event.status != "dismissed"
                  and lock is None
                  and bool(event.serious) and event.sae_reported_at is None)
    sae_form = SaeReportForm(request.POST if "sae_report" in request.POST else None,
                             initial={"reported_at": timezone.localtime().replace(second=0, microsecond=0)})
    if request.method == "POST" and "sae_report" in request.POST:
        done = _sae_report(request, event, sae_form)
        if done is not None:
            return done
    # The draft's values (a coordinator's record, or a suggested grade) are the starting point.
    suggested = event.suggested_grade if event.grade is None else None
    confirm_form = AdverseEventConfirmForm(suggested_grade=suggested, initial={
        "grade": event.grade or event.suggested_grade, "serious": {True: "yes", False: "no"}.get(event.serious, ""),
        "seriousness": event.seriousness, "relationship": event.relationship, "action_taken": event.action_taken,
        "outcome": event.outcome})
    # Its own ids: the confirmation form beside it has a password field too.
    dismiss_form = AdverseEventDismissForm(auto_id="id_dismiss_%s")
    if request.method == "POST" and "sae_report" not in request.POST:
        require(request.user, Action.SIGN, [participant.site_id])
        refuse_if_locked(participant)
        dismiss = "dismiss" in request.POST
        form = (AdverseEventDismissForm(request.POST, auto_id="id_dismiss_%s") if dismiss
                else AdverseEventConfirmForm(request.POST, suggested_grade=suggested))
        if form.is_valid():
            data = form.cleaned_data
            try:
                if dismiss:
                    services.adverse_event_dismiss(event=event, reason=data["reason"], password=data["password"],
                                                   by=request.user)
                else:
                    services.adverse_event_confirm(
                        event=event, grade=data["grade"], serious=data["serious"], relationship=data["relationship"],
                        seriousness=list(data["seriousness"]), action_taken=data["action_taken"],
                        outcome=data["outcome"], password=data["password"], by=request.user)
            except PermissionDenied as refused:  # the password is not the signer's: nothing written
                add_signature_refusal(form, refused)
            except ServiceError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Adverse event dismissed.") if dismiss else
                                 _("Adverse event confirmed and signed."))
                return redirect("participant-detail", pk=participant.pk)
        if dismiss:
            dismiss_form = form
        else:
            confirm_form = form
    style(confirm_form)
    style(dismiss_form)
    style(sae_form)
    return render(request, "followup/adverse_event_detail.html", {
        "participant": participant, "event": event, "can_sign": can_sign, "seriousness": seriousness,
        "can_correct": (can(request.user, Action.CAPTURE, [participant.site_id]) and event.status == "confirmed"
                        and lock is None),
        "lock": lock,
        "confirm_form": confirm_form, "dismiss_form": dismiss_form, "can_report": can_report, "sae_form": sae_form,
        "meaning": ADVERSE_EVENT_MEANING})


# --- the worklist: what is due or overdue at the user's sites ------------------------------------

WORKLIST_PAGE_SIZE = work.PAGE_SIZE


def _worklist_dates(item) -> dict[str, str]:
    """An item's due time and window as the worklist shows them, in the current time zone: with
    the time for a timed visit or an SAE report or a draft, as days otherwise (formatted here, not
    by the template's `date` filter, four times slower for the page's 400 dates)."""
    shown = "%Y-%m-%d %H:%M" if item.timed else "%Y-%m-%d"
    start = timezone.localtime(item.window_start).strftime(shown)
    end = timezone.localtime(item.window_end).strftime(shown) if item.window_end else ""
    return {"due": timezone.localtime(item.due_at).strftime(shown),
            "window": f"{start} – {end}" if end or not item.timed else start}


@login_required
def worklist_page(request):
    """The items of `followup.worklist` (the API's `GET /api/v1/worklist/`) as a table, with
    filters by site, study and kind. Each item links to the page to act on where the user's role
    allows it, else to the participant page."""
    site_ids = work.worklist_site_ids(request.user)
    kind_labels = {work.VISIT: _("Visit"), work.INFUSION: _("Infusion"), work.SAE_REPORT: _("SAE report"),
                   work.ADVERSE_EVENT_DRAFT: _("Adverse event draft"),
                   work.ELIGIBILITY_CONFIRMATION: _("Eligibility to confirm"),
                   work.CASEBOOK_SIGNATURE: _("Casebook to sign")}
    chosen = {"site": request.GET.get("site") or "", "study": request.GET.get("study") or "",
              "kind": request.GET.get("kind") if request.GET.get("kind") in work.KINDS else ""}
    now = timezone.now()
    # One page of the sorted items (overdue first), read in the database; the counts are of every item.
    page, counts = read_worklist_page(request.user, now=now, page=request.GET.get("page"),
                                      page_size=WORKLIST_PAGE_SIZE, site=chosen["site"] or None,
                                      study=chosen["study"] or None, kinds=[chosen["kind"]] if chosen["kind"] else None)
    acting_sites = set(site_ids_for(request.user, Action.CAPTURE))
    to_answer, to_close = worklist_queries(request.user)
    rows = [{"item": item, "kind": kind_labels[item.kind], **_worklist_dates(item),
             "url": item.url if item.site_id in acting_sites or item.kind in (work.SAE_REPORT, *work.SIGNING_KINDS)
             else item.participant_url} for item in page]
    writer = RowWriter()
    for row in rows:  # each row's HTML written once, shown as it is by the template
        row["html"] = writer.html(row["item"], due=row["due"], window=row["window"], kind_label=row["kind"],
                                  url=row["url"])
    return render(request, "followup/worklist.html", {
        "rows": rows, "page_obj": page, "counts": counts, "now": now, "chosen": chosen,
        "sites": Site.objects.filter(pk__in=site_ids).order_by("code"),
        "studies": Study.objects.filter(sites__in=site_ids).distinct().order_by("code"),
        "kinds": list(kind_labels.items()), "queries_to_answer": to_answer, "queries_to_close": to_close,
        "query_lists": [(_("To answer"), to_answer, "queries-to-answer"),
                        (_("Answered, to close"), to_close, "queries-to-close")]})
