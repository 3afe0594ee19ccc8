"""`{% load scoping %}{% if user|may:"worklist" %}`: what the signed-in user may do, for menus and
links (each view checks again)."""
from django import template

from trials import scoping

register = template.Library()


@register.filter
def may(user, what: str) -> bool:
    """True when `user` may do `what` (an action or a role rule of `trials.scoping`) at one of their sites."""
    return scoping.may(user, what)
