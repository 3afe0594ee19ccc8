"""Recording an infusion from the participant page (the same service as the API)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.locks import refuse_if_locked
from enrollment.selectors import participants_visible
from trials.concurrency import StaleVersion, conflict_of, posted_at
from trials.errors import ServiceError
from trials.forms_errors import add_service_errors
from trials.scoping import Action, require

from . import services
from .forms import InfusionForm, MissedInfusionForm


def _participant(request, pk):
    participant = get_object_or_404(
        participants_visible(request.user).prefetch_related("infusions", "screening__consents"), pk=pk)
    require(request.user, Action.CAPTURE, [participant.site_id])
    refuse_if_locked(participant)  # a locked casebook: 403 naming the lock
    return participant


def _next_planned(participant):
    return next((row for row in sorted(participant.infusions.all(), key=lambda r: r.number) if row.state == "planned"),
                None)


@login_required
def infusion_record(request, pk):
    participant = _participant(request, pk)
    row = _next_planned(participant)
    if row is None:
        messages.info(request, _("Every planned infusion is recorded."))
        return redirect("participant-detail", pk=pk)
    kind = participant.arm.product_kind
    options = {"product_kind": kind, "cells_required": services.cells_required(participant.dose_level, kind),
               "initial": {"number": row.number, "version": row.row_version,
                           "started_at": timezone.localtime().replace(second=0, microsecond=0)}}
    form = InfusionForm(request.POST or None, **options)
    missed_form = MissedInfusionForm(initial={"number": row.number, "version": row.row_version})
    conflict = None
    if request.method == "POST" and not form.is_valid():  # the service's checks too: every problem at once
        add_service_errors(form, services.infusion_problems(
            participant=participant, data=services.InfusionInput(**form.service_input())), beside_form_errors=True)
    elif request.method == "POST":
        try:
            services.infusion_record(participant=participant, data=services.InfusionInput(**form.service_input()),
                                     by=request.user)
        except StaleVersion as stale:  # the plan changed since the page was read: show what, keep the values
            conflict = conflict_of(stale, form.cleaned_data["version"])
            form = InfusionForm(posted_at(request.POST, conflict.version), **options)
            form.is_valid()
        except ServiceError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Infusion %(n)d recorded.") % {"n": row.number})
            return redirect("participant-detail", pk=pk)
    return render(request, "dosing/infusion_form.html",
                  {"participant": participant, "row": row, "form": form, "missed_form": missed_form,
                   "level": participant.dose_level, "conflict": conflict})


@login_required
def infusion_missed(request, pk):
    participant = _participant(request, pk)
    row = _next_planned(participant)
    if request.method != "POST" or row is None:
        return redirect("participant-detail", pk=pk)
    form = MissedInfusionForm(request.POST)
    conflict = None
    if form.is_valid():
        try:
            services.infusion_miss(participant=participant, number=form.cleaned_data["number"],
                                   reason=form.cleaned_data["reason"], by=request.user,
                                   version=form.cleaned_data["version"])
        except StaleVersion as stale:
            conflict = conflict_of(stale, form.cleaned_data["version"])
            form = MissedInfusionForm(posted_at(request.POST, conflict.version))
            form.is_valid()
        except ServiceError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Infusion %(n)d recorded as missed.") % {"n": row.number})
            return redirect("participant-detail", pk=pk)
    kind = participant.arm.product_kind
    infusion_form = InfusionForm(product_kind=kind,
                                 cells_required=services.cells_required(participant.dose_level, kind),
                                 initial={"number": row.number, "version": row.row_version})
    return render(request, "dosing/infusion_form.html",
                  {"participant": participant, "row": row, "form": infusion_form, "missed_form": form,
                   "level": participant.dose_level, "conflict": conflict})
