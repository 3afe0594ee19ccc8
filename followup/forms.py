from django import forms
from django.utils.translation import gettext_lazy as _

from dosing.forms import DateTimeLocal


class VisitDoneForm(forms.Form):
    done_at = forms.DateTimeField(label=_("Done (collected) at"), widget=DateTimeLocal(),
                                  input_formats=["%Y-%m-%dT%H:%M"])
    deviation_reason = forms.CharField(label=_("Reason, if outside the window"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))


class VisitMissedForm(forms.Form):
    reason = forms.CharField(label=_("Why was it missed?"), widget=forms.Textarea(attrs={"rows": 2}))
