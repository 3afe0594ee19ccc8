"""Wrong-password counters (`trials.throttle`), kept in the database so that every web process
counts together and sign-in does not depend on the cache."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class PasswordFailureCount(models.Model):
    """Wrong passwords for one account (`account:<user name>`) or from one client address
    (`address:<ip>`) since the count started; forgotten at `expires_at`."""

    key = models.CharField(_("counted for"), max_length=200, unique=True)
    count = models.PositiveIntegerField(_("wrong passwords"), default=0)
    expires_at = models.DateTimeField(_("counted until"), db_index=True)

    class Meta:
        verbose_name = _("wrong-password count")
        verbose_name_plural = _("wrong-password counts")

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
