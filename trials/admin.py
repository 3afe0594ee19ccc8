"""Study configuration in the browser, for administrators (PROTOCOLS.md, "What configure without
code means").

Every edit of an existing record asks for a reason, which goes to the audit trail with the
user; inline rows saved with it share that reason. Administrators see only the studies of
their sites, in lists, dropdowns and history pages alike. Messages name the field and say what
to do; assessments are ticked and rules chosen by name, with each rule's settings explained.
Rows edited on a study's or arm's page also have a page of their own (history, deletion).
"""
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .admin_activation import StudyActivationAdminMixin
from .admin_definitions import StudyDefinitionAdminMixin
from .admin_forms import CriterionForm, CriterionInlineForm, PlainFieldsMixin, ReasonForm, StudyForm, UniqueRowsFormSet
from .audit import audited_delete, audited_save, change_context
from .enums import DoseLevelStatus
from .models import (
    Arm,
    DoseLevel,
    EligibilityCriterion,
    InfusionDefinition,
    ReferenceRange,
    ResponseCriteriaSet,
    Site,
    SiteMembership,
    Study,
    StudyDisease,
    VisitDefinition,
)
from .response_thresholds import describe_schemes
from .rule_text import describe_rule
from .scoping import Action
from .units import ANALYTES

CREATED_REASON = "Created in administration"


# --------------------------------------------------------------------------------------------
# Audited, site-scoped administration
# --------------------------------------------------------------------------------------------


class AuditedAdmin(PlainFieldsMixin, SimpleHistoryAdmin):
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
        if isinstance(formset, UniqueRowsFormSet):
            instances = formset.save_order(instances)
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

    def history_view(self, request, object_id, extra_context=None):
        self._check_history_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._check_history_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _check_history_visible(self, request, object_id) -> None:
        """The history of a record (and reverting to a version of it) is scoped like the record;
        django-simple-history would otherwise show any record by its id. A deleted record's
        history is visible when the record it belonged to (its study, arm or site) is."""
        if request.user.is_superuser or self.get_object(request, unquote(object_id)) is not None:
            return
        try:
            if self.model._default_manager.filter(pk=unquote(object_id)).exists():
                raise Http404
            history = getattr(self.model, self.model._meta.simple_history_manager_attribute)
            latest = history.filter(**{self.model._meta.pk.attname: unquote(object_id)}).order_by(
                "-history_date", "-history_id").first()
        except (ValueError, ValidationError):
            raise Http404 from None
        scope = getattr(self.model, "site_scope", None)
        if latest is None or scope is None:  # nothing recorded, or not owned by a site
            return
        try:
            owner = self.model._meta.get_field(scope.split("__")[0])
        except FieldDoesNotExist:
            raise Http404 from None
        if not owner.many_to_one or not hasattr(owner.related_model, "site_scope"):
            raise Http404
        visible = owner.related_model.objects.visible_to(request.user, Action.CONFIGURE_STUDY)
        if not visible.filter(pk=getattr(latest, owner.attname)).exists():
            raise Http404

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


class ScopedInline(PlainFieldsMixin, admin.TabularInline):
    extra = 0
    formset = UniqueRowsFormSet
    show_change_link = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not request.user.is_superuser and hasattr(related, "site_scope"):
            kwargs["queryset"] = related.objects.visible_to(request.user, Action.CONFIGURE_STUDY)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _parent_id(request):
    """The id of the record whose change page is being shown (None on an add page)."""
    match = request.resolver_match
    object_id = match.kwargs.get("object_id") if match else None
    return unquote(object_id) if object_id else None


class StudyDiseaseInline(ScopedInline):
    model = StudyDisease


class VisitDefinitionInline(ScopedInline):
    model = VisitDefinition
    fields = ["code", "label", "arm", "anchor", "offset", "offset_unit", "window_before", "window_after",
              "window_unit", "assessments", "sex_restriction", "first_n_participants", "order"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "arm":
            # Only this study's arms (none yet on a new study: add its arms first).
            study_id = _parent_id(request)
            field.queryset = field.queryset.filter(study_id=study_id) if study_id else field.queryset.none()
        return field


class CriterionInline(PlainFieldsMixin, admin.StackedInline):
    model = EligibilityCriterion
    form = CriterionInlineForm
    formset = UniqueRowsFormSet
    extra = 0
    show_change_link = True
    fields = ["code", "kind", "order", "text", "source", "rule_type", "params", "rule_in_words"]
    readonly_fields = ["rule_in_words"]

    @admin.display(description=_("rule in words"))
    def rule_in_words(self, obj):
        return describe_rule(obj.rule_type, obj.params) if obj.pk else "—"


class ArmLinkInline(admin.TabularInline):
    model = Arm
    formset = UniqueRowsFormSet
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
class StudyAdmin(StudyActivationAdminMixin, StudyDefinitionAdminMixin, AuditedAdmin):
    form = StudyForm
    change_form_template = "admin/trials/study/change_form.html"
    change_list_template = "admin/trials/study/change_list.html"
    list_display = ["code", "title", "status", "version", "effective_date", "enrolment_target", "uses_dose_escalation"]
    list_filter = ["status"]
    search_fields = ["code", "title", "registry_id"]
    # A draft becomes active through "Activate study" (`study_activate`), never by editing the field.
    readonly_fields = ["status"]
    filter_horizontal = ["sites"]
    fieldsets = [
        (None, {"fields": ["code", "title", "status", "registry_id", "version", "effective_date", "sites"]}),
        (_("Design"), {"fields": ["design", "intervention", "primary_endpoint", "enrolment_target",
                                  "uses_dose_escalation", "eligibility_confirmation_required"]}),
        (_("Response assessment"), {"fields": ["response_from_day", "response_until_day", "response_time_points",
                                               "time_point_window_days"]}),
        (_("Data dictionary"), {"fields": ["data_dictionary"]}),
        (_("Audit"), {"fields": ["change_reason"]}),
    ]
    readonly_fields = ["data_dictionary"]
    inlines = [StudyDiseaseInline, ArmLinkInline, VisitDefinitionInline, CriterionInline]

    @admin.display(description=_("items"))
    def data_dictionary(self, obj):
        if not obj or not obj.pk:
            return _("Save the study first, then add the items its forms ask.")
        url = reverse("admin:trials_item_changelist")
        return format_html('{} <a href="{}?study__code={}">{}</a> · <a href="{}?study__code={}">{}</a>',
                           gettext("%(n)s items.") % {"n": obj.items.count()}, url, obj.code, gettext("Edit the items"),
                           reverse("admin:trials_item_add"), obj.code, gettext("Add an item"))


class DoseLevelInline(ScopedInline):
    model = DoseLevel
    fields = ["code", "label", "order", "dose_basis", "dose_per_kg", "flat_dose", "hard_limit_low",
              "hard_limit_high", "group_cap", "status"]

    def get_readonly_fields(self, request, obj=None):
        # A level opens or closes only by a signed escalation decision; only a new level's first
        # status is chosen here.
        return ["status"] if obj is not None else []

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None and "status" in formset.form.base_fields:
            formset.form.base_fields["status"].help_text = _(
                "Existing levels open or close by signed escalation decisions."
            )
        return formset


class InfusionDefinitionInline(ScopedInline):
    model = InfusionDefinition


@admin.register(Arm)
class ArmAdmin(AuditedAdmin):
    list_display = ["study", "code", "name", "product_kind"]
    # No list filter by study: Django's filter would list every study, other sites' included.
    search_fields = ["code", "name", "study__code"]
    fields = ["study", "code", "name", "description", "product_kind", "missed_infusion_rule", "change_reason"]
    inlines = [DoseLevelInline, InfusionDefinitionInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is DoseLevel and not form.instance.study.uses_dose_escalation:
            # Without dose escalation no signed decision ever opens a level: a level added to an
            # existing arm (whose status is not offered) is open at once, as in the built-in studies.
            for row in formset.forms:
                if row.instance.pk is None and "status" not in row.fields:
                    row.instance.status = DoseLevelStatus.OPEN
        super().save_formset(request, form, formset, change)

    def get_readonly_fields(self, request, obj=None):
        # An arm stays in its study: its visits and participants belong there.
        return ["study"] if obj else []


class RowAdmin(AuditedAdmin):
    """A row edited on its study's or arm's page, with a page of its own for its history and for
    deletion with a reason (the row's "Change" link). Not listed on the admin index."""

    parent_field = "study"

    def get_model_perms(self, request):
        return {}

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [self.parent_field]


@admin.register(StudyDisease)
class StudyDiseaseAdmin(RowAdmin):
    fields = ["study", "disease", "response_criteria", "change_reason"]


@admin.register(VisitDefinition)
class VisitDefinitionAdmin(RowAdmin):
    fields = ["study", *VisitDefinitionInline.fields, "change_reason"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "arm":
            visit = self.get_object(request, _parent_id(request)) if _parent_id(request) else None
            field.queryset = field.queryset.filter(study_id=visit.study_id) if visit else field.queryset.none()
        return field


@admin.register(EligibilityCriterion)
class EligibilityCriterionAdmin(RowAdmin):
    form = CriterionForm
    fields = ["study", *CriterionInline.fields, "change_reason"]
    rule_in_words = CriterionInline.rule_in_words

    def get_readonly_fields(self, request, obj=None):
        return [self.parent_field, "rule_in_words"]


@admin.register(DoseLevel)
class DoseLevelAdmin(RowAdmin):
    parent_field = "arm"
    fields = ["arm", *DoseLevelInline.fields, "change_reason"]

    def get_readonly_fields(self, request, obj=None):
        return [self.parent_field, "status"]


@admin.register(InfusionDefinition)
class InfusionDefinitionAdmin(RowAdmin):
    parent_field = "arm"
    fields = ["arm", "number", "anchor", "offset_days", "window_before_days", "window_after_days", "change_reason"]


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ["code", "name"]
    fields = ["code", "name", "change_reason"]


def _thresholds_help() -> str:
    rows = format_html_join(
        "", "<dt>{}</dt><dd>{} {}<br>{} {}</dd>",
        ((name, gettext("Required:"), ", ".join(required), gettext("Optional:"), ", ".join(optional) or "-")
         for name, required, optional in describe_schemes()),
    )
    return format_html(
        '{}<details><summary>{}</summary><dl class="rule-types">{}</dl></details>',
        gettext('Named numbers of 0 or more, e.g. {"cr_platelets": 100, "r_platelets": 30, ...}; a set missing a '
                'threshold its rules read is refused. An AIHA set with cr_hb follows the international '
                'consensus, one without it the Chinese 2017 consensus.'),
        gettext("Thresholds of each family"),
        rows,
    )


thresholds_help = lazy(_thresholds_help, str)


@admin.register(ResponseCriteriaSet)
class ResponseCriteriaSetAdmin(AuditedAdmin):
    list_display = ["code", "name", "version", "family"]
    fields = ["code", "name", "version", "family", "source", "description", "thresholds", "change_reason"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "thresholds":
            kwargs["help_text"] = thresholds_help()
            kwargs["widget"] = forms.Textarea(attrs={"rows": 8, "cols": 80})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request):
        # Criteria sets are a shared library, not owned by a site.
        return super(AuditedAdmin, self).get_queryset(request)

    def _used_elsewhere(self, request, obj) -> bool:
        """Used by a study this administrator does not configure: changing it would change theirs."""
        mine = Study.objects.visible_to(request.user, Action.CONFIGURE_STUDY).values("pk")
        return StudyDisease.objects.filter(response_criteria=obj).exclude(study__in=mine).exists()

    def has_change_permission(self, request, obj=None):
        if obj is not None and not request.user.is_superuser and self._used_elsewhere(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not request.user.is_superuser and self._used_elsewhere(request, obj):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(SiteMembership)
class SiteMembershipAdmin(AuditedAdmin):
    list_display = ["user", "site", "role"]
    list_filter = ["role"]
    fields = ["user", "site", "role", "change_reason"]


@admin.register(ReferenceRange)
class ReferenceRangeAdmin(AuditedAdmin):
    """A site laboratory's normal ranges, used for lab values entered without their own range."""

    list_display = ["site", "analyte", "sex", "min_age_years", "max_age_years", "lln", "uln"]
    list_filter = ["analyte", "sex"]
    fields = ["site", "analyte", "sex", "min_age_years", "max_age_years", "lln", "uln", "source", "change_reason"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "analyte":
            kwargs["widget"] = forms.Select(
                choices=[(code, f"{code} - {a.label} ({a.si_unit})") for code, a in ANALYTES.items()]
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# The data dictionary's pages build on the classes above.
from . import admin_items  # noqa: E402, F401
