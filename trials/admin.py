"""Study configuration in the browser, for administrators.

Every edit of an existing record asks for a reason, which goes to the audit trail with the
user; inline rows saved with it share that reason. Administrators see only the studies of
their sites. Messages name the field and say what to do.
"""
from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.utils.html import format_html
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from enrollment.rule_text import describe_rule

from .audit import audited_delete, audited_save, change_context
from .models import (
    Arm,
    DoseLevel,
    EligibilityCriterion,
    InfusionDefinition,
    ResponseCriteriaSet,
    Site,
    SiteMembership,
    Study,
    StudyDisease,
    VisitDefinition,
)
from .scoping import Action, site_ids_for

CREATED_REASON = "Created in administration"


class ReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        label=_("Reason for this change"),
        required=False,
        max_length=500,
        help_text=_("Required when you change an existing record; kept in the audit trail."),
        widget=forms.TextInput(attrs={"size": 80}),
    )

    def clean_change_reason(self):
        reason = (self.cleaned_data.get("change_reason") or "").strip()
        if self.instance.pk and not reason:
            raise forms.ValidationError(_("Say why you are changing this record (for the audit trail)."))
        return reason


class AuditedAdmin(SimpleHistoryAdmin):
    """Saves and deletions carry the administrator and their reason into the audit trail."""

    form = ReasonForm
    delete_confirmation_template = "admin/delete_with_reason.html"
    # Bulk deletion would bypass the per-record reason.
    actions = None

    def _reason(self, request, form=None):
        reason = (form.cleaned_data.get("change_reason") if form is not None else "") or ""
        return reason.strip() or CREATED_REASON

    def save_model(self, request, obj, form, change):
        audited_save(obj, by=request.user, reason=self._reason(request, form))

    def save_related(self, request, form, formsets, change):
        with change_context(by=request.user, reason=self._reason(request, form)):
            super().save_related(request, form, formsets, change)

    def save_formset(self, request, form, formset, change):
        reason = self._reason(request, form)
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            audited_delete(obj, by=request.user, reason=reason)
        for obj in instances:
            audited_save(obj, by=request.user, reason=reason)
        formset.save_m2m()

    def delete_view(self, request, object_id, extra_context=None):
        if request.method == "POST":
            reason = (request.POST.get("change_reason") or "").strip()
            if not reason:
                messages.error(request, _("Give a reason for deleting this record (for the audit trail)."))
                return HttpResponseRedirect(request.get_full_path())
            request.audit_reason = reason
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        with transaction.atomic():
            audited_delete(obj, by=request.user, reason=request.audit_reason)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.visible_to(request.user, Action.CONFIGURE_STUDY)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not request.user.is_superuser and hasattr(related, "site_scope"):
            kwargs["queryset"] = related.objects.visible_to(request.user, Action.CONFIGURE_STUDY)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not request.user.is_superuser and hasattr(related, "site_scope"):
            kwargs["queryset"] = related.objects.visible_to(request.user, Action.CONFIGURE_STUDY)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedInline(admin.TabularInline):
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not request.user.is_superuser and hasattr(related, "site_scope"):
            kwargs["queryset"] = related.objects.visible_to(request.user, Action.CONFIGURE_STUDY)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class StudyDiseaseInline(ScopedInline):
    model = StudyDisease


class VisitDefinitionInline(ScopedInline):
    model = VisitDefinition
    fields = ["code", "label", "arm", "anchor", "offset", "offset_unit", "window_before", "window_after",
              "window_unit", "assessments", "sex_restriction", "first_n_participants", "order"]


class CriterionInline(admin.StackedInline):
    model = EligibilityCriterion
    extra = 0
    fields = ["code", "kind", "order", "text", "source", "rule_type", "params", "rule_in_words"]
    readonly_fields = ["rule_in_words"]

    @admin.display(description=_("rule in words"))
    def rule_in_words(self, obj):
        return describe_rule(obj.rule_type, obj.params) if obj.pk else "—"


class ArmLinkInline(admin.TabularInline):
    model = Arm
    extra = 0
    fields = ["code", "name", "product_kind", "edit_link"]
    readonly_fields = ["edit_link"]
    show_change_link = True

    @admin.display(description=_("dose levels and infusions"))
    def edit_link(self, obj):
        if not obj.pk:
            return _("Save first, then edit the arm's dose levels and infusions.")
        return format_html('<a href="{}">{}</a>', reverse("admin:trials_arm_change", args=[obj.pk]), _("edit"))


@admin.register(Study)
class StudyAdmin(AuditedAdmin):
    list_display = ["code", "title", "version", "effective_date", "enrolment_target", "uses_dose_escalation"]
    search_fields = ["code", "title", "registry_id"]
    filter_horizontal = ["sites"]
    fieldsets = [
        (None, {"fields": ["code", "title", "registry_id", "version", "effective_date", "sites"]}),
        (_("Design"), {"fields": ["design", "intervention", "primary_endpoint", "enrolment_target",
                                  "uses_dose_escalation"]}),
        (_("Audit"), {"fields": ["change_reason"]}),
    ]
    inlines = [StudyDiseaseInline, ArmLinkInline, VisitDefinitionInline, CriterionInline]


class DoseLevelInline(ScopedInline):
    model = DoseLevel
    fields = ["code", "label", "order", "dose_basis", "dose_per_kg", "flat_dose", "plausible_min", "plausible_max",
              "group_cap", "status"]


class InfusionDefinitionInline(ScopedInline):
    model = InfusionDefinition


@admin.register(Arm)
class ArmAdmin(AuditedAdmin):
    list_display = ["study", "code", "name", "product_kind"]
    list_filter = ["study"]
    fields = ["study", "code", "name", "description", "product_kind", "missed_infusion_rule", "change_reason"]
    inlines = [DoseLevelInline, InfusionDefinitionInline]


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ["code", "name"]
    fields = ["code", "name", "change_reason"]


@admin.register(ResponseCriteriaSet)
class ResponseCriteriaSetAdmin(AuditedAdmin):
    list_display = ["code", "name", "version", "family"]
    fields = ["code", "name", "version", "family", "source", "description", "thresholds", "change_reason"]

    def get_queryset(self, request):
        # Criteria sets are a shared library, not owned by a site.
        return super(AuditedAdmin, self).get_queryset(request)


@admin.register(SiteMembership)
class SiteMembershipAdmin(AuditedAdmin):
    list_display = ["user", "site", "role"]
    list_filter = ["site", "role"]
    fields = ["user", "site", "role", "change_reason"]
