"""The study administration's "Protocol versions" page: the versions of a running study with what
each changed, the amendment in preparation (what the item and criterion rows change from the
version in force) and the form that activates it (`trials.amendments.amendment_activate`, the same
service as `POST /api/v1/studies/{code}/amendments/`)."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .amendments import amendment_activate, pending_changes
from .errors import ServiceError
from .forms_errors import add_service_errors
from .limits import LimitedForm
from .models import StudyVersion
from .widgets import date_input


class AmendmentForm(LimitedForm, forms.Form):
    length_model = StudyVersion

    # Not required here: the service names every missing value at once, with the other refusals.
    version = forms.CharField(label=gettext_lazy("New protocol version"), max_length=40, required=False)
    effective_date = forms.DateField(label=gettext_lazy("Effective date (approval)"), widget=date_input(),
                                     required=False)
    reason = forms.CharField(label=gettext_lazy("Reason (kept in the audit trail)"), required=False,
                             widget=forms.TextInput(attrs={"size": 80}))


class StudyAmendmentAdminMixin:
    """Adds the protocol versions page to the study administration."""

    def get_urls(self):
        own = [path("<path:object_id>/versions/", self.admin_site.admin_view(self.versions_view),
                    name="trials_study_versions")]
        return own + super().get_urls()

    def versions_view(self, request, object_id):
        study = self.get_object(request, unquote(object_id))
        if study is None or not self.has_view_permission(request, study):
            raise Http404
        can_amend = self.has_change_permission(request, study)
        form = AmendmentForm(request.POST or None)
        if request.method == "POST":
            if not can_amend:
                raise Http404
            if form.is_valid():
                try:
                    version = amendment_activate(study=study, by=request.user, **form.cleaned_data)
                except ServiceError as error:
                    add_service_errors(form, error)
                else:
                    messages.success(request, _("Protocol version %(version)s of %(code)s is in force: screenings are "
                                                "evaluated under it from now on.") % {"version": version.version,
                                                                                     "code": study.code})
                    return HttpResponseRedirect(reverse("admin:trials_study_versions", args=[study.pk]))
        return render(request, "admin/trials/study/versions.html", {
            **self.admin_site.each_context(request), "title": _("Protocol versions of %(code)s") % {"code": study.code},
            "form": form, "study": study, "opts": self.model._meta, "can_amend": can_amend,
            "versions": list(StudyVersion.objects.filter(study=study).select_related("activated_by")
                             .order_by("-activated_at", "-id")),
            "pending": pending_changes(study),
        })


def notice_amendment(request, study) -> None:
    """After a save that changes a running study's items or criteria, say that the change waits for
    an amendment, with the link to activate it."""
    if study is not None and study.active_version_id and pending_changes(study):
        messages.warning(request, format_html(
            '{} <a href="{}">{}</a>',
            _("The changed items or criteria are not in force yet: version %(version)s is, until the amendment is "
              "activated.") % {"version": study.version},
            reverse("admin:trials_study_versions", args=[study.pk]), _("Protocol versions")))


class AmendmentNoticeMixin:
    """The study administration says so after a save that prepares an amendment."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        notice_amendment(request, form.instance)
