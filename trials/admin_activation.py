"""The study administration's "Activate study" page: an administrator of every site of a draft
study activates it with a reason (`trials.services.study_activate`, the same service as
`POST /api/v1/studies/{code}/activate/`). The page lists what activation does and what the study
still lacks (`study_activation_gaps`) before anything is posted."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .enums import StudyStatus
from .errors import ServiceError
from .forms_errors import add_service_errors
from .limits import LimitedForm
from .models import Study
from .services import study_activate, study_activation_gaps


class ActivateStudyForm(LimitedForm, forms.Form):
    length_model = Study

    reason = forms.CharField(label=gettext_lazy("Reason (kept in the audit trail)"),
                             widget=forms.TextInput(attrs={"size": 80}))


class StudyActivationAdminMixin:
    """Adds the activation page to the study administration."""

    def get_urls(self):
        own = [path("<path:object_id>/activate/", self.admin_site.admin_view(self.activate_view),
                    name="trials_study_activate")]
        return own + super().get_urls()

    def activate_view(self, request, object_id):
        study = self.get_object(request, unquote(object_id))
        if study is None or not self.has_change_permission(request, study):
            raise Http404
        form = ActivateStudyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                study_activate(study=study, by=request.user, reason=form.cleaned_data["reason"])
            except ServiceError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Study %(code)s is active: screenings and enrolments can be recorded.")
                                 % {"code": study.code})
                return HttpResponseRedirect(reverse("admin:trials_study_change", args=[study.pk]))
        draft = study.status == StudyStatus.DRAFT
        return render(request, "admin/trials/study/activate_form.html", {
            **self.admin_site.each_context(request), "title": _("Activate %(code)s") % {"code": study.code},
            "form": form, "study": study, "opts": self.model._meta, "draft": draft,
            "gaps": [message for texts in study_activation_gaps(study).values() for message in texts] if draft else [],
        })
