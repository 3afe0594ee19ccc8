"""The data dictionary in the administration: a study's items and the forms that place them.

An item's page holds its definition (type, unit, plausible range, choices, when it applies, its
section and order) and the forms where it stands: the screening form (no visit) or visits' forms.
Choices are typed one per line as "code = label". Every change asks for a reason (audit trail),
like every page of study configuration; administrators see the items of their sites' studies.
"""
from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import hooks
from .admin_amendments import notice_amendment
from .admin_base import AuditedAdmin, ScopedInline, _parent_id, study_text
from .content import content
from .admin_forms import ReasonForm
from .audit import audited_delete, audited_save
from .models import Item, ItemPlacement, Study
from .rule_items import items_read


def _choices_text(choices) -> str:
    return "\n".join(f"{row.get('code')} = {row.get('label')}"
                     + (f" | {row['label_zh']}" if row.get("label_zh") else "")
                     for row in choices or [] if isinstance(row, dict))


class ChoicesField(forms.CharField):
    """Choices typed one per line, "code = label" or "code = label | Chinese label", kept as
    [{"code": ..., "label": ..., "label_zh": ...}] (`trials.content`)."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60})

    def prepare_value(self, value):
        return _choices_text(value) if isinstance(value, list) else value

    def to_python(self, value):
        rows = []
        for number, line in enumerate((value or "").splitlines(), start=1):
            if not line.strip():
                continue
            code, separator, label = line.partition("=")
            if not separator or not code.strip() or not label.strip():
                raise forms.ValidationError(
                    gettext('Line %(n)s: write each choice as "code = label".') % {"n": number}, code="choice_line")
            label, _bar, label_zh = label.partition("|")
            if not label.strip():
                raise forms.ValidationError(
                    gettext('Line %(n)s: write each choice as "code = label".') % {"n": number}, code="choice_line")
            rows.append({"code": code.strip(), "label": label.strip(),
                         **({"label_zh": label_zh.strip()} if label_zh.strip() else {})})
        return rows


class ItemForm(ReasonForm):
    on_screening_form = forms.BooleanField(label=_("on the screening form"), required=False,
                                           help_text=_("Asked at screening (criteria read screening items)."))
    choices = ChoicesField(label=_("choices"), required=False,
                           help_text=_('For a choice item: one per line, "code = label | Chinese label" (e.g. '
                                       '"negative = Negative | 阴性"; the Chinese label may be left out). Criteria and '
                                       "the API use the codes."))

    class Meta:
        model = Item
        fields = "__all__"
        widgets = {"applies_if": forms.Textarea(attrs={"rows": 2, "cols": 60}),
                   "help_text": forms.Textarea(attrs={"rows": 2, "cols": 60}),
                   "help_text_zh": forms.Textarea(attrs={"rows": 2, "cols": 60})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["on_screening_form"].initial = self.instance.placements.filter(
                visit_definition__isnull=True).exists()

    def _post_clean(self):
        super()._post_clean()
        if self.has_error("choices", "choice_line"):
            # The line's own message says what is wrong; the definition's check of an empty list does not.
            self._errors["choices"] = self.error_class([e for e in self.errors.as_data()["choices"]
                                                        if e.code == "choice_line"])

    def clean_applies_if(self):
        value = self.cleaned_data.get("applies_if")
        return {} if value in (None, "") else value


class ItemPlacementInline(ScopedInline):
    model = ItemPlacement
    fields = ["visit_definition"]
    verbose_name = _("visit form")
    verbose_name_plural = _("visit forms where the item stands")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(visit_definition__isnull=False)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "visit_definition":
            # Only the visits of the item's study (an item being added: choose them after saving it).
            item = Item.objects.filter(pk=_parent_id(request)).first() if _parent_id(request) else None
            field.queryset = (field.queryset.filter(study_id=item.study_id) if item else field.queryset.none())
            field.required = True
        return field


def item_uses(item: Item) -> list[str]:
    """What holds an item in place: stored answers, criteria that read it, items that depend on it."""
    uses = []
    answers = sum(hooks.item_answers(study=item.study, code=item.code))
    if answers:
        uses.append(ngettext("%(n)d record holds an answer to it", "%(n)d records hold an answer to it",
                             answers) % {"n": answers})
    criteria = [c.code for c in item.study.criteria.all() if item.code in items_read(c.rule_type, c.params)]
    if criteria:
        uses.append(gettext("criteria %(codes)s read it") % {"codes": ", ".join(criteria)})
    dependent = [other.code for other in item.study.items.exclude(pk=item.pk)
                 if (other.applies_if or {}).get("item") == item.code]
    if dependent:
        uses.append(gettext("items %(codes)s apply according to it") % {"codes": ", ".join(dependent)})
    return uses


@admin.register(Item)
class ItemAdmin(AuditedAdmin):
    form = ItemForm
    list_display = ["study_code", "order", "shown_code", "shown_label", "type", "shown_unit", "required",
                    "shown_section", "forms"]
    list_display_links = ["shown_code"]
    search_fields = ["code", "label", "study__code"]
    ordering = ["study__code", "order", "code"]
    fieldsets = [
        (None, {"fields": ["study", "code", "label", "label_zh", "help_text", "help_text_zh", "type", "required",
                           "section", "section_zh", "order",
                           "on_screening_form"]}),
        (_("Number"), {"fields": ["unit", "min_value", "max_value", "decimals"]}),
        (_("Choices and text"), {"fields": ["choices", "max_length"]}),
        (_("When it applies"), {"fields": ["applies_if"]}),
        (_("Audit"), {"fields": ["change_reason"]}),
    ]
    inlines = [ItemPlacementInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("study").prefetch_related("placements__visit_definition")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        item, reason = form.instance, self._reason(request, form)
        on_screening = item.placements.filter(visit_definition__isnull=True).first()
        if form.cleaned_data.get("on_screening_form") and on_screening is None:
            audited_save(ItemPlacement(item=item, visit_definition=None), by=request.user, reason=reason)
        elif not form.cleaned_data.get("on_screening_form") and on_screening is not None:
            audited_delete(on_screening, by=request.user, reason=reason)
        notice_amendment(request, item.study)

    def lookup_allowed(self, lookup, value, request=None):
        # The study page links to its dictionary as ?study__code=<code>.
        return lookup == "study__code" or super().lookup_allowed(lookup, value, request)

    def get_readonly_fields(self, request, obj=None):
        # An item stays in its study; once answered or read by a criterion or another item's
        # condition, its code and type stay too (stored answers and rules keep their meaning).
        if obj is None:
            return []
        return ["study", "code", "type"] if item_uses(obj) else ["study"]

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected) + [f"{obj.code}: {use}" for obj in objs for use in item_uses(obj)]
        return deleted, counts, perms_needed, protected

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        study = Study.objects.filter(code=request.GET.get("study__code")).first()
        if study is not None:
            initial["study"] = study.pk
        return initial

    @admin.display(description=_("study"), ordering="study__code")
    def study_code(self, obj):
        return obj.study.code

    @admin.display(description=_("code"), ordering="code")
    def shown_code(self, obj):  # the study's own name of the item
        return format_html("<code data-study-content>{}</code>", obj.code)

    @admin.display(description=_("unit"), ordering="unit")
    def shown_unit(self, obj):  # as the study writes it (it has no Chinese twin)
        return format_html('<span lang="en" data-study-content>{}</span>', obj.unit) if obj.unit else ""

    @admin.display(description=_("label"), ordering="label")
    def shown_label(self, obj):
        return study_text(content(obj, "label"))

    @admin.display(description=_("section"), ordering="section")
    def shown_section(self, obj):
        return study_text(content(obj, "section")) if obj.section else ""

    @admin.display(description=_("forms"))
    def forms(self, obj):
        places = [row.visit_definition.code if row.visit_definition_id else gettext("screening")
                  for row in obj.placements.all()]
        return ", ".join(places) or "—"

