"""Data queries: a question about one item of one record of a participant's casebook.

A monitor, an investigator or a data manager opens a query on an item (`followup.record_refs`);
an edit check opens one by itself (`source` system, with its `check_code`). The site's data entry
answers it, with or without a correction made through the record's usual edit (the correction's
history row is linked); the asker or a data manager closes it, and may re-open it. Each step is a
message of the query's thread; the row keeps its history (django-simple-history).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials.scoping import ScopedQuerySet

from .record_refs import KINDS


class QueryState(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class QuerySource(models.TextChoices):
    MANUAL = "manual", _("Opened by a person")
    SYSTEM = "system", _("Opened by an edit check")


class QueryCheck(models.TextChoices):
    """The edit checks that open queries by themselves (`followup.auto_queries`)."""

    ASSESSMENT_AFTER_VISIT = "assessment_after_visit", _("Assessment dated after its visit")
    WEIGHT_CHANGE = "weight_change", _("Weight changed by more than a tenth since the previous infusion")
    OUTSIDE_WINDOW = "outside_window", _("Outside the visit window without a deviation reason")
    RESPONSE_CHANGE = "response_change", _("Count that changes the confirmed response")


class DataQuery(models.Model):
    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT, related_name="data_queries")
    record_kind = models.CharField(_("record"), max_length=20, choices=[(k, d.label) for k, d in KINDS.items()])
    record_pk = models.PositiveBigIntegerField(_("record id"))
    item = models.CharField(_("item"), max_length=100)
    question = models.TextField(_("question"))
    state = models.CharField(_("state"), max_length=10, choices=QueryState.choices, default=QueryState.OPEN)
    source = models.CharField(_("source"), max_length=10, choices=QuerySource.choices, default=QuerySource.MANUAL)
    check_code = models.CharField(_("edit check"), max_length=40, choices=QueryCheck.choices, blank=True)
    # What the edit check compared with, when it needs it to know its question answered: the best
    # confirmed response before the count it asks about (`response_change`).
    check_basis = models.CharField(_("edit check basis"), max_length=40, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("opened by"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("answered by"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # The correction made with the answer: the audit trail record (`trials.audit.register_audited` name
    # and id) and the history row of the change.
    correction_kind = models.CharField(_("corrected record"), max_length=30, blank=True)
    correction_pk = models.PositiveBigIntegerField(_("corrected record id"), null=True, blank=True)
    correction_history_id = models.PositiveBigIntegerField(_("correction"), null=True, blank=True)
    corrected_at = models.DateTimeField(_("corrected at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("closed by"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_note = models.TextField(_("close note"), blank=True)
    history = HistoricalRecords()

    site_scope = "participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["opened_at", "id"]
        verbose_name = _("data query")
        verbose_name_plural = _("data queries")
        indexes = [models.Index(fields=["record_kind", "record_pk"], name="data_query_record")]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=QueryState.values), name="data_query_state_known"),
            models.CheckConstraint(condition=Q(source="manual", check_code="", opened_by__isnull=False)
                                   | (Q(source="system") & ~Q(check_code="")),
                                   name="data_query_manual_has_opener_system_has_check"),
            models.CheckConstraint(condition=~Q(state="answered") | Q(answered_at__isnull=False),
                                   name="data_query_answered_has_time"),
            models.CheckConstraint(condition=~Q(state="closed") | Q(closed_at__isnull=False),
                                   name="data_query_closed_has_time"),
            # An edit check asks once about a record's item while its query is not closed.
            models.UniqueConstraint(fields=["record_kind", "record_pk", "item", "check_code"],
                                    condition=Q(source="system") & ~Q(state="closed"),
                                    name="data_query_system_once_while_not_closed"),
        ]

    def __str__(self):
        return f"{self.record_kind}/{self.record_pk} {self.item} ({self.state})"

    @property
    def record_label(self):
        return KINDS[self.record_kind].label

    @property
    def item_label(self) -> str:
        for item in KINDS[self.record_kind].items:
            if item.code == self.item:
                return str(item.label)
        return self.item.split(":", 1)[-1]

    @property
    def age_days(self) -> int:
        """Whole days since it was opened."""
        return (timezone.now() - self.opened_at).days


class MessageKind(models.TextChoices):
    QUESTION = "question", _("Question")
    ANSWER = "answer", _("Answer")
    CLOSE = "close", _("Closed")
    REOPEN = "reopen", _("Re-opened")


class DataQueryMessage(models.Model):
    """One step of a query's thread: the question, each answer, each closing and re-opening."""

    query = models.ForeignKey(DataQuery, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=10, choices=MessageKind.choices)
    text = models.TextField(_("text"), blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                           related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    site_scope = "query__participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["query", "at", "id"]
        verbose_name = _("data query message")
        verbose_name_plural = _("data query messages")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=MessageKind.values), name="data_query_message_kind_known"),
        ]

    def __str__(self):
        return f"{self.query_id} {self.kind} {self.at}"
