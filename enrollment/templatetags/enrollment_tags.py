from django import template
from django.utils.translation import gettext as _

from trials.units import format_number

register = template.Library()


@register.filter
def num(value, decimals: int = 4) -> str:
    """A measured number without trailing zeros (13.680 -> "13.68"); empty for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return format_number(float(value), int(decimals))


@register.filter
def answer(value, kind="bool") -> str:
    """A recorded yes/no, number or choice answer as a person reads it; None is "unknown"."""
    if value is None:
        return _("Unknown")
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if hasattr(kind, "choices"):
        return str(dict(kind.choices).get(value, value))
    return num(value)
