"""Study-defined items and where forms place them (`trials.items` holds the rules they follow).

An item belongs to a study; a placement puts it on the screening form (no visit definition) or on
one visit definition's form, in a section and an order. Imported by `trials.models`.
"""
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import items as item_rules
from .scoping import ScopedQuerySet


class ItemType(models.TextChoices):
    YES_NO = item_rules.YES_NO, _("Yes / no")
    NUMBER = item_rules.NUMBER, _("Number")
    DATE = item_rules.DATE, _("Date")
    CHOICE = item_rules.CHOICE, _("Single choice from a list")
    MULTI_CHOICE = item_rules.MULTI_CHOICE, _("Multiple choice from a list")
    TEXT = item_rules.TEXT, _("Text")


class Item(models.Model):
    study = models.ForeignKey("trials.Study", on_delete=models.CASCADE, related_name="items")
    code = models.CharField(_("code"), max_length=60, validators=[RegexValidator(
        r"^[a-z][a-z0-9_]*$", _("Use lower-case letters, digits and underscores, starting with a letter."))])
    label = models.CharField(_("label"), max_length=300)
    label_zh = models.CharField(_("label (Chinese)"), max_length=300, blank=True,
                                help_text=_("Shown to Chinese readers; empty: the English label."))
    help_text = models.TextField(_("help text"), blank=True)
    help_text_zh = models.TextField(_("help text (Chinese)"), blank=True)
    type = models.CharField(_("type"), max_length=20, choices=ItemType.choices)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    min_value = models.FloatField(_("lowest plausible value"), null=True, blank=True)
    max_value = models.FloatField(_("highest plausible value"), null=True, blank=True)
    decimals = models.PositiveSmallIntegerField(_("decimals allowed"), null=True, blank=True)
    max_length = models.PositiveIntegerField(_("maximum length (text)"), null=True, blank=True)
    required = models.BooleanField(_("required"), default=False)
    choices = models.JSONField(_("choices"), default=list, blank=True,
                               help_text=_('A list of {"code": ..., "label": ..., "label_zh": ...} (the Chinese label '
                                           'optional), in the order shown.'))
    applies_if = models.JSONField(
        _("applies if"), default=dict, blank=True,
        help_text=_('Empty: always. Otherwise any of {"sex": "female", "min_age_years": 12, "max_age_years": 50, '
                    '"item": "<another item>", "equals": <its answer>}.'))
    section = models.CharField(_("section"), max_length=200, blank=True,
                               help_text=_("The heading the item stands under on its forms."))
    section_zh = models.CharField(_("section (Chinese)"), max_length=200, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0,
                                        help_text=_("Items stand on their forms in this order."))
    history = HistoricalRecords()

    site_scope = "study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["study", "order", "code"]
        verbose_name = _("item")
        verbose_name_plural = _("items (data dictionary)")
        constraints = [models.UniqueConstraint(fields=["study", "code"], name="item_code_unique_in_study")]

    def __str__(self):
        return f"{self.code} - {self.label}"

    @property
    def spec(self) -> item_rules.ItemSpec:
        return item_rules.ItemSpec(
            code=self.code, label=self.label, type=self.type, help_text=self.help_text, unit=self.unit,
            min_value=self.min_value, max_value=self.max_value, decimals=self.decimals, max_length=self.max_length,
            required=self.required, applies_if=self.applies_if or {},
            choices=item_rules.choice_pairs(self.choices), label_zh=self.label_zh, help_text_zh=self.help_text_zh,
            choices_zh=item_rules.choice_pairs(self.choices, "label_zh"),
        )

    def clean(self):
        if not isinstance(self.choices, list) or not all(
                isinstance(c, dict) and {"code", "label"} <= set(c) <= {"code", "label", "label_zh"}
                and isinstance(c.get("label_zh", ""), str) for c in self.choices):
            raise ValidationError({"choices": _('Give the choices as a list of {"code": ..., "label": ...}, each with '
                                                'its Chinese "label_zh" if it has one.')})
        codes = set(Item.objects.filter(study_id=self.study_id).values_list("code", flat=True)
                    if self.study_id else [])
        errors = item_rules.definition_errors(self.spec, codes | {self.code})
        if errors:
            raise ValidationError(errors)


class ItemPlacement(models.Model):
    """An item on a form: the screening form (no visit definition) or a visit's form, under the
    item's section, in the items' order."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="placements")
    visit_definition = models.ForeignKey("trials.VisitDefinition", on_delete=models.CASCADE, null=True, blank=True,
                                         related_name="item_placements",
                                         help_text=_("Empty: the screening form."))
    history = HistoricalRecords()

    site_scope = "item__study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["visit_definition", "item__order", "item__code"]
        verbose_name = _("item on a form")
        verbose_name_plural = _("items on forms")
        constraints = [
            models.UniqueConstraint(fields=["item", "visit_definition"], name="item_once_per_visit_form"),
            models.UniqueConstraint(fields=["item"], condition=Q(visit_definition__isnull=True),
                                    name="item_once_on_screening_form"),
        ]

    def __str__(self):
        form = self.visit_definition.code if self.visit_definition_id else _("screening")
        return f"{self.item.code} @ {form}"

    def clean(self):
        if self.visit_definition_id and self.item_id and self.visit_definition.study_id != self.item.study_id:
            raise ValidationError({"visit_definition": _("The visit belongs to another study than the item.")})
