"""The forms of source data verification: a study's plan, the items of a record ticked."""
from django import forms
from django.utils.translation import gettext_lazy as _

from trials.limits import LimitedForm

from .sdv_models import SdvScope


class SdvPlanForm(LimitedForm, forms.Form):
    scope = forms.ChoiceField(label=_("Items verified against source"), choices=SdvScope.choices,
                              widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Reason for the change (kept in the audit trail)"),
                             widget=forms.Textarea(attrs={"rows": 2}))


class VerifyItemsForm(LimitedForm, forms.Form):
    """The items ticked on a record's verification page (their codes) and the version it showed."""

    items = forms.MultipleChoiceField(label=_("Items verified"), widget=forms.CheckboxSelectMultiple,
                                      error_messages={"required": _("Tick at least one item.")})
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(code, code) for code in codes]
