"""The catalogues in the browser: diseases, prior therapies and lab analytes (with their accepted
units and default normal ranges), for administrators.

The catalogues are shared by every study and site, like the response criteria sets: any
administrator edits them, every change with a reason in the audit trail. Records store the codes,
so a row's code (and an analyte's SI unit, in which values are stored) is fixed once saved, and
rows are not deleted: a record naming them would lose its meaning.
"""
from django import forms
from django.contrib import admin
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .admin_base import AuditedAdmin, ScopedInline, catalogue_name
from .catalogue_models import LINEAGE_LABELS, Analyte, AnalyteReferenceRange, AnalyteUnit, Disease, Therapy
from .scoping import Action, site_ids_for


class CatalogueAdmin(AuditedAdmin):
    """Shared rows (no site owns them), edited by administrators only, never deleted."""

    fixed_after_creation = ("code",)

    def get_queryset(self, request):
        return super(AuditedAdmin, self).get_queryset(request)

    @staticmethod
    def _administers(request) -> bool:
        user = request.user
        return user.is_active and (user.is_superuser or bool(site_ids_for(user, Action.CONFIGURE_STUDY)))

    def has_module_permission(self, request):
        return self._administers(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._administers(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self._administers(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._administers(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return list(self.fixed_after_creation) if obj is not None else []


@admin.register(Disease)
class DiseaseAdmin(CatalogueAdmin):
    list_display = ["code", "name", "lineages", "response_criteria", "order"]
    search_fields = ["code", "name"]
    fields = ["code", "name", "lineages", "response_criteria", "order", "change_reason"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "lineages":
            return forms.MultipleChoiceField(
                label=capfirst(db_field.verbose_name), choices=list(LINEAGE_LABELS.items()), required=False,
                widget=forms.CheckboxSelectMultiple, help_text=db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Therapy)
class TherapyAdmin(CatalogueAdmin):
    list_display = ["code", "name", "therapy_class", "order"]
    search_fields = ["code", "name", "therapy_class"]
    fields = ["code", "name", "therapy_class", "order", "change_reason"]


class AnalyteUnitInline(ScopedInline):
    model = AnalyteUnit
    fields = ["unit", "factor"]
    show_change_link = False


class AnalyteReferenceRangeInline(ScopedInline):
    model = AnalyteReferenceRange
    fields = ["sex", "min_age_years", "max_age_years", "lln", "uln"]
    show_change_link = False


@admin.register(Analyte)
class AnalyteAdmin(CatalogueAdmin):
    list_display = ["code", "shown_name", "si_unit", "plausible_low", "plausible_high", "order"]
    search_fields = ["code", "name"]
    fields = ["code", "name", "si_unit", "plausible_low", "plausible_high", "order", "change_reason"]
    # Values are stored in the SI unit: it stays what it was when values were first recorded.
    fixed_after_creation = ("code", "si_unit")
    inlines = [AnalyteUnitInline, AnalyteReferenceRangeInline]

    @admin.display(description=_("name"), ordering="name")
    def shown_name(self, obj):
        return catalogue_name(obj.name)
