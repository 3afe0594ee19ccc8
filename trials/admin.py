"""Study configuration in the browser, for administrators (PROTOCOLS.md, "What configure without
code means").

Every edit of an existing record asks for a reason, which goes to the audit trail with the
user; inline rows saved with it share that reason. Administrators see only the studies of
their sites, in lists, dropdowns and history pages alike. Messages name the field and say what
to do; assessments are ticked and rules chosen by name, with each rule's settings explained.
Rows edited on a study's or arm's page also have a page of their own (history, deletion).
"""
from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import (
    admin_accounts,  # noqa: F401 (registers the API tokens' and sign-in locks' pages)
    admin_catalogues,  # noqa: F401 (registers the catalogues' pages)
    admin_items,  # noqa: F401 (registers the data dictionary's pages)
    catalogues,
)
from .account_audit import account_audit_link
from .admin_activation import StudyActivationAdminMixin
from .admin_amendments import AmendmentNoticeMixin, StudyAmendmentAdminMixin
from .admin_base import AuditedAdmin, ScopedInline, _parent_id, study_text
from .content import ContentText, content, language_of
from .admin_definitions import StudyDefinitionAdminMixin
from .admin_forms import (
    CriterionForm,
    CriterionInlineForm,
    LanguageSelect,
    PlainFieldsMixin,
    StudyForm,
    UniqueRowsFormSet,
    code,
    html_message,
)
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
from .rule_text import describe_rule_html
from .scoping import Action


# Django's inline templates with each row's name (the study's codes) marked as the study's text.
STUDY_ROWS_TABULAR = "admin/trials/edit_inline/tabular.html"
STUDY_ROWS_STACKED = "admin/trials/edit_inline/stacked.html"


def _criteria_set_label(criteria_set) -> ContentText:
    name = content(criteria_set, "name")
    return ContentText(f"{name} ({criteria_set.version})", language_of(name))


class CriteriaSetChoiceMixin:
    """A disease's response criteria set chosen by its name in the reader's language (the English
    name, marked so, where the set has no Chinese one)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "response_criteria":
            kwargs.setdefault("widget", LanguageSelect)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "response_criteria":
            field.label_from_instance = _criteria_set_label
        return field


class StudyDiseaseInline(CriteriaSetChoiceMixin, ScopedInline):
    model = StudyDisease
    template = STUDY_ROWS_TABULAR


class VisitDefinitionInline(ScopedInline):
    model = VisitDefinition
    template = STUDY_ROWS_TABULAR
    fields = ["code", "label", "label_zh", "arm", "anchor", "offset", "offset_unit", "window_before", "window_after",
              "window_unit", "assessments", "sex_restriction", "first_n_participants", "order"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "arm":
            # Only this study's arms (none yet on a new study: add its arms first).
            study_id = _parent_id(request)
            field.queryset = field.queryset.filter(study_id=study_id) if study_id else field.queryset.none()
            field.label = capfirst(_("arm"))
        return field


class CriterionInline(PlainFieldsMixin, admin.StackedInline):
    model = EligibilityCriterion
    form = CriterionInlineForm
    formset = UniqueRowsFormSet
    template = STUDY_ROWS_STACKED
    extra = 0
    show_change_link = True
    fields = ["code", "kind", "order", "text", "text_zh", "source", "rule_type", "params", "rule_in_words"]
    readonly_fields = ["rule_in_words"]

    @admin.display(description=_("rule in words"))
    def rule_in_words(self, obj):
        if not obj.pk:
            return "—"
        catalogue = catalogues.current()
        return describe_rule_html(obj.rule_type, obj.params, catalogue.analytes, diseases=catalogue.diseases)


class ArmLinkInline(admin.TabularInline):
    model = Arm
    template = STUDY_ROWS_TABULAR
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
class StudyAdmin(StudyActivationAdminMixin, StudyAmendmentAdminMixin, AmendmentNoticeMixin, StudyDefinitionAdminMixin,
                 AuditedAdmin):
    form = StudyForm
    change_form_template = "admin/trials/study/change_form.html"
    change_list_template = "admin/trials/study/change_list.html"
    list_display = ["code", "shown_title", "status", "version", "effective_date", "enrolment_target",
                    "uses_dose_escalation"]
    list_filter = ["status"]
    search_fields = ["code", "title", "registry_id"]
    filter_horizontal = ["sites"]
    fieldsets = [
        (None, {"fields": ["code", "title", "title_zh", "status", "registry_id", "version", "effective_date",
                           "sites"]}),
        (_("Design"), {"fields": ["design", "design_zh", "intervention", "intervention_zh", "primary_endpoint",
                                  "primary_endpoint_zh", "enrolment_target",
                                  "uses_dose_escalation", "eligibility_confirmation_required"]}),
        (_("Response assessment"), {"fields": ["response_from_day", "response_until_day", "response_time_points",
                                               "time_point_window_days"]}),
        (_("Data dictionary"), {"fields": ["data_dictionary"]}),
        (_("Audit"), {"fields": ["change_reason"]}),
    ]
    inlines = [StudyDiseaseInline, ArmLinkInline, VisitDefinitionInline, CriterionInline]

    def get_readonly_fields(self, request, obj=None):
        # A draft becomes active through "Activate study" (`study_activate`), never by editing the
        # field; a running study's version number and effective date are those of its version in
        # force, which changes by "Protocol versions" (`trials.amendments`).
        running = ["version", "effective_date"] if obj is not None and obj.active_version_id else []
        return ["status", "data_dictionary", *running]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "response_time_points":
            # The model's help with its names and example shown as code, as typed.
            kwargs["help_text"] = html_message(
                gettext("Named time-point endpoints: %(example)s; names %(names)s; anchors %(anchors)s."),
                example=code('{"early": {"anchor": "first_infusion", "days": 7}, ...}'),
                names=format_html_join(", ", "{}", ((code(name),) for name in ("early", "initial", "durable",
                                                                                 "remission"))),
                anchors=format_html_join(gettext(" or "), "{}", ((code(name),) for name in ("first_infusion",
                                                                                             "last_infusion"))))
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("title"), ordering="title")
    def shown_title(self, obj):
        return study_text(content(obj, "title"))

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
    template = STUDY_ROWS_TABULAR
    fields = ["code", "label", "label_zh", "order", "dose_basis", "dose_per_kg", "flat_dose", "hard_limit_low",
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
    template = STUDY_ROWS_TABULAR


@admin.register(Arm)
class ArmAdmin(AuditedAdmin):
    list_display = ["study", "code", "name", "product_kind"]
    # No list filter by study: Django's filter would list every study, other sites' included.
    search_fields = ["code", "name", "study__code"]
    fields = ["study", "code", "name", "name_zh", "description", "description_zh", "product_kind",
              "missed_infusion_rule", "change_reason"]
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
class StudyDiseaseAdmin(CriteriaSetChoiceMixin, RowAdmin):
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
    fields = ["code", "name", "name_zh", "change_reason"]


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
    fields = ["code", "name", "name_zh", "version", "family", "source", "description", "description_zh", "thresholds",
              "change_reason"]

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
    list_display = ["user", "site", "role", "account_audit"]
    list_filter = ["role"]
    fields = ["user", "site", "role", "change_reason"]

    @admin.display(description=_("account"))
    def account_audit(self, obj):
        return account_audit_link(obj.user)


@admin.register(ReferenceRange)
class ReferenceRangeAdmin(AuditedAdmin):
    """A site laboratory's normal ranges, used for lab values entered without their own range."""

    list_display = ["site", "analyte", "sex", "min_age_years", "max_age_years", "lln", "uln"]
    list_filter = ["analyte", "sex"]
    fields = ["site", "analyte", "sex", "min_age_years", "max_age_years", "lln", "uln", "source", "change_reason"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "analyte":
            kwargs["widget"] = forms.Select(choices=[
                (code, f"{code} - {a.label} ({a.si_unit})") for code, a in catalogues.current().analytes.items()])
        return super().formfield_for_dbfield(db_field, request, **kwargs)

