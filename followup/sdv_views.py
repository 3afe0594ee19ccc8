"""The pages of source data verification: a record's verification page (a monitor ticks its items
against source), a study's worklist of records awaiting verification, and the study's plan posted
from the study page. Records are found through `visible_to` (404 for another site); ticking needs
`Action.VERIFY`, the worklist too, the plan `Action.MANAGE_SDV` (403)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from enrollment.locks import lock_of
from enrollment.selectors import participants_visible
from trials import selectors
from trials.concurrency import StaleVersion
from trials.errors import RecordLocked, ServiceError
from trials.scoping import Action, can, require

from .record_refs import KINDS, RecordRef
from .sdv import latest_changes, plan_scope, sdv_worklist, single_record
from .sdv_forms import SdvPlanForm, VerifyItemsForm
from .services import items_verify, sdv_plan_set


def _record(request, pk, kind, record_pk):
    participant = get_object_or_404(participants_visible(request.user).select_related("study__sdv_plan"), pk=pk)
    definition = KINDS.get(kind)
    if definition is None:
        raise Http404
    record = get_object_or_404(definition.model_class().objects.filter(**{definition.participant_path: participant}),
                               pk=record_pk)
    current = single_record(kind, record, participant)
    if current is None:
        raise Http404
    return participant, record, current


@login_required
def record_verify(request, pk, kind, record_pk):
    participant, record, current = _record(request, pk, kind, record_pk)
    lock = lock_of(participant)  # read with the participant: no query
    may_verify = can(request.user, Action.VERIFY, [participant.site_id]) and lock is None
    form = None
    if request.method == "POST":
        require(request.user, Action.VERIFY, [participant.site_id])
        if lock is not None:
            raise RecordLocked(lock.message)  # 403 naming the lock
        form = VerifyItemsForm(request.POST, codes=list(current.statuses))
        if form.is_valid():
            try:
                items_verify(record_ref=RecordRef(kind, record.pk), item_codes=form.cleaned_data["items"],
                             by=request.user, version=form.cleaned_data["version"])
            except StaleVersion:
                messages.error(request, _("The record was changed since you read it: nothing was verified. "
                                          "Compare its current values with the source again."))
            except RecordLocked:
                raise  # 403 naming the lock
            except ServiceError as error:
                for message_list in error.errors.values():
                    for message in message_list:
                        messages.error(request, message)
            else:
                messages.success(request, _("Verification recorded."))
            return redirect(request.path)
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return render(request, "followup/record_verify.html", {
        "participant": participant, "record": current, "kind": kind,
        "scope": plan_scope(participant.study), "may_verify": may_verify and current.entered == "complete",
        "changed": latest_changes([current]).get((kind, record.pk)),
        "scope_all": plan_scope(participant.study) == "all", "lock": lock,
    })


@login_required
def study_sdv(request, code):
    study = selectors.study_for_user(request.user, code)
    require(request.user, Action.VERIFY, [site.pk for site in study.sites.all()])
    return render(request, "followup/sdv_worklist.html", {
        "study": study, "records": sdv_worklist(study, request.user), "scope": plan_scope(study)})


@login_required
@require_POST
def study_sdv_plan(request, code):
    study = selectors.study_for_user(request.user, code)
    require(request.user, Action.MANAGE_SDV, [site.pk for site in study.sites.all()])
    form = SdvPlanForm(request.POST)
    if form.is_valid():
        try:
            sdv_plan_set(study=study, scope=form.cleaned_data["scope"], reason=form.cleaned_data["reason"],
                         by=request.user)
        except RecordLocked:
            raise  # 403 naming the lock
        except ServiceError as error:
            for message_list in error.errors.values():
                for message in message_list:
                    messages.error(request, message)
        else:
            messages.success(request, _("The source data verification plan was saved."))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect(reverse("study-detail", args=[study.code]) + "#sdv")

