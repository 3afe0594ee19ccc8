"""`{% submission_token %}`: a form's one-time token against double submission (`trials/idempotency.py`).

Used through `{% include "includes/submission_token.html" %}` inside a form that creates or changes records.
"""
from django import template

from trials.idempotency import submission_token_new

register = template.Library()


@register.simple_tag(takes_context=True)
def submission_token(context) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    return submission_token_new(user) if user is not None and user.is_authenticated else ""
