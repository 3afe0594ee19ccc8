"""The study administration's definition tools: download a study as one document, copy it under a
new code, and create a study from an uploaded document (`trials.definitions`, `trials.services.
study_create_from_definition`), with the same checks as `POST /api/v1/studies/`. A copy or an
upload is a draft until activated (`trials.admin_activation`)."""
from __future__ import annotations

import json

import yaml
from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .definitions import study_definition
from .errors import ServiceError
from .forms_errors import add_service_errors
from .limits import LimitedForm
from .models import Study
from .services import study_create_from_definition


class CopyStudyForm(LimitedForm, forms.Form):
    length_model = Study

    code = forms.CharField(label=gettext_lazy("Code of the copy"))
    title = forms.CharField(label=gettext_lazy("Title of the copy"), required=False,
                            help_text=gettext_lazy("Empty: the study's title."))
    reason = forms.CharField(label=gettext_lazy("Reason (kept in the audit trail)"))


class UploadDefinitionForm(LimitedForm, forms.Form):
    length_model = Study

    definition = forms.FileField(label=gettext_lazy("Study definition (YAML or JSON)"))
    reason = forms.CharField(label=gettext_lazy("Reason (kept in the audit trail)"))

    def clean_definition(self):
        upload = self.cleaned_data["definition"]
        if upload.size > 1_000_000:
            raise forms.ValidationError(_("A study definition is at most 1 MB."))
        try:
            data = yaml.safe_load(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError):
            raise forms.ValidationError(_("The file is not YAML or JSON text.")) from None
        if not isinstance(data, dict):
            raise forms.ValidationError(_("The file is not a study definition (a code, a title, ...)."))
        return data


class StudyDefinitionAdminMixin:
    """Adds the download, copy and upload pages to the study administration."""

    def get_urls(self):
        own = [
            path("upload-definition/", self.admin_site.admin_view(self.upload_definition_view),
                 name="trials_study_upload_definition"),
            path("<path:object_id>/definition/", self.admin_site.admin_view(self.definition_view),
                 name="trials_study_definition"),
            path("<path:object_id>/copy/", self.admin_site.admin_view(self.copy_view), name="trials_study_copy"),
        ]
        return own + super().get_urls()

    def _configured_study(self, request, object_id) -> Study:
        study = self.get_object(request, unquote(object_id))
        if study is None or not self.has_change_permission(request, study):
            raise Http404
        return Study.objects.prefetch_related(*_DEFINITION_PREFETCH).get(pk=study.pk)

    def definition_view(self, request, object_id):
        study = self._configured_study(request, object_id)
        response = HttpResponse(json.dumps(study_definition(study), ensure_ascii=False, indent=2),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{study.code}.json"'
        return response

    def copy_view(self, request, object_id):
        study = self._configured_study(request, object_id)
        form = CopyStudyForm(request.POST or None, initial={"code": f"{study.code}-COPY"})
        if request.method == "POST" and form.is_valid():
            data = {**study_definition(study), "code": form.cleaned_data["code"].strip(),
                    "title": form.cleaned_data["title"].strip() or study.title}
            created = self._create(request, form, data, field_for={"code": "code", "title": "title"}.get)
            if created is not None:
                return created
        return self._page(request, form, _("Copy %(code)s") % {"code": study.code}, study)

    def upload_definition_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadDefinitionForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            created = self._create(request, form, form.cleaned_data["definition"],
                                   field_for=lambda path: None)
            if created is not None:
                return created
        return self._page(request, form, _("Create a study from a definition"), None)

    def _create(self, request, form, data, *, field_for):
        try:
            study = study_create_from_definition(data=data, by=request.user, reason=form.cleaned_data["reason"])
        except ServiceError as error:
            add_service_errors(form, error, field_for=field_for)
            return None
        messages.success(request, _("Study %(code)s created as a draft: check its configuration, then activate it "
                                    "(\"Activate study\") so that it records screenings.") % {"code": study.code})
        return HttpResponseRedirect(reverse("admin:trials_study_change", args=[study.pk]))

    def _page(self, request, form, title, study):
        return render(request, "admin/trials/study/definition_form.html", {
            **self.admin_site.each_context(request), "title": title, "form": form, "study": study,
            "opts": self.model._meta, "multipart": isinstance(form, UploadDefinitionForm),
        })


_DEFINITION_PREFETCH = ("sites", "diseases__response_criteria", "arms__dose_levels", "arms__infusion_definitions",
                        "visit_definitions__arm", "criteria")
