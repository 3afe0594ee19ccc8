"""What every page of study configuration shares: the audit reason of each save and deletion,
and the scoping of lists, dropdowns and history pages to the administrator's sites."""
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import transaction
from django.forms.models import _get_foreign_key
from django.http import Http404, HttpResponseRedirect
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .admin_forms import PlainFieldsMixin, ReasonForm, UniqueRowsFormSet
from .audit import audited_delete, audited_save, change_context
from .catalogue_names import shown_name
from .content import language_of, reads_chinese
from .scoping import Action

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

    def get_fieldsets(self, request, obj=None):
        # The hidden time the page was read goes with the reason (`ReasonForm.read_at`).
        fieldsets = super().get_fieldsets(request, obj)
        return [(name, {**options, "fields": [*options["fields"], "read_at"]})
                if "change_reason" in options.get("fields", ()) and "read_at" not in options["fields"]
                else (name, options) for name, options in fieldsets]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            related = []
            for inline in self.get_inline_instances(request, obj):
                if hasattr(inline.model, "history"):
                    link = _get_foreign_key(self.model, inline.model, fk_name=inline.fk_name)
                    related.append((inline.model, link.attname))
            form = type(form.__name__, (form,), {"related_histories": tuple(related)})
        return form

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


def study_text(text) -> str:
    """A study's text in an admin list (`trials.content.ContentText`: its Chinese twin for a
    Chinese reader where the study gives one), marked with the language it is written in."""
    return format_html('<span lang="{}" data-study-content>{}</span>', language_of(text), text)


def catalogue_name(name: str) -> str:
    """A catalogue row's name in an admin list: translated where the catalogue of translations
    holds it (`trials.catalogue_names`), else as stored, marked as written in English."""
    shown = str(shown_name(name))
    if shown == name and reads_chinese():
        return format_html('<span lang="en" data-study-content>{}</span>', name)
    return shown
