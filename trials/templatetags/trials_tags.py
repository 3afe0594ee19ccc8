from django import template

from trials import catalogues
from trials.rule_text import describe_rule

register = template.Library()


@register.filter
def rule_text(criterion) -> str:
    return describe_rule(criterion.rule_type, criterion.params, catalogues.current().analytes)


@register.filter
def disease_name(code) -> str:
    """The catalogue's name of a disease code (the code itself if the catalogue has none)."""
    return catalogues.current().disease_name(code)


@register.filter
def therapy_name(code) -> str:
    """The catalogue's name of a prior-therapy code (the code itself if the catalogue has none)."""
    return catalogues.current().therapy_name(code)


@register.filter
def cells(value) -> str:
    """1.0e8 -> "1 x10^8"; the way doses are written in protocols."""
    if value is None:
        return ""
    mantissa, exponent = f"{float(value):e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} x10^{int(exponent)}"
