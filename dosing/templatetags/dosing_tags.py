from django import template

from dosing.anchor_text import anchor_shown

register = template.Library()


@register.filter
def anchor_text(text) -> str:
    """An infusion's stored "planned from" explanation, in the reader's language."""
    return anchor_shown(text)
