"""The product's own bookkeeping of its services: the background worker's heartbeat and the
submissions claimed once (`trials.idempotency`). Models of the `trials` app, imported by
`trials.models`."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """When a background worker last ran its periodic heartbeat (shows that Celery and beat run)."""

    name = models.CharField(max_length=50, unique=True)
    hostname = models.CharField(max_length=200, blank=True)
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = _("worker heartbeat")

    def __str__(self):
        return f"{self.name} @ {self.hostname}"


class SubmissionKey(models.Model):
    """One submission claimed by a user: a browser form's one-time token or an API `Idempotency-Key`.

    Claimed (inserted) before the view runs, so a second post of the same key finds it and creates
    nothing; completed with the first response (the API's status and body, a form's redirect to the
    record created) for replay. Kept 24 hours (`trials/idempotency.py`).
    """

    class Kind(models.TextChoices):
        FORM = "form", _("form token")
        API = "api", _("Idempotency-Key")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text=_("SHA-256 of the method, path and body."))
    created_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    response_body = models.TextField(blank=True)
    location = models.CharField(max_length=2000, blank=True, help_text=_("Where the record created is shown."))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "key"], name="submission_key_once_per_user")]

    def __str__(self):
        return f"{self.kind} {self.key}"
