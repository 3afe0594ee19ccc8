"""Strings of Django's admin templates that Django's own Chinese catalogue lacks (the hidden headers
of the admin's model lists, read aloud by screen readers). Marked here so that they are gathered into
this project's catalogue, which the admin reads first (`LOCALE_PATHS`); never imported."""
from django.utils.translation import gettext_noop

DJANGO_ADMIN_MESSAGES = (
    gettext_noop("Model name"),  # admin/app_list.html
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)
