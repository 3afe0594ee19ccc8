"""What a user chooses for their own account, kept with its history: their interface language."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def language_choices():
    """The interface's languages (settings.LANGUAGES), read when asked: the list is configuration."""
    return settings.LANGUAGES


class AccountSettings(models.Model):
    """One user's own settings. `language` empty: no choice, the browser's language is used."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_settings")
    language = models.CharField(_("language"), max_length=20, blank=True, choices=language_choices,
                                help_text=_("The language of the pages, the API and the e-mails for this user; "
                                            "empty: the browser's language."))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("account settings")
        verbose_name_plural = _("account settings")

    def __str__(self) -> str:
        return f"{self.user}: {self.language or '-'}"
