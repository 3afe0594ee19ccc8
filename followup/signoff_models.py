"""The investigator's sign-off of a participant's casebook (issue 14: investigator sign-off).

An investigator of the participant's site approves the casebook's data as complete and accurate,
re-entering their password (`trials.signatures.check_signature`). Each signature is a row of its
own, written once by `followup.signoff.casebook_sign` and never edited: a new signature supersedes
the earlier ones, which stay as they were (with their history) so the record shows every sign-off.
Whether the latest signature still holds is not stored: any change of the casebook's data after it
withdraws it, read from the time of the casebook's latest change (`CasebookChange`, kept from the
history of the records; `followup.signoff.casebook_signature_state`).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials.scoping import ScopedQuerySet
from trials.signature_record import Signature


class CasebookSignature(models.Model):
    """One investigator's signature of a participant's casebook; the latest one (by `signed_at`,
    then id) is the casebook's signature (21 CFR 11.50: printed name, date and time, meaning)."""

    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT,
                                    related_name="casebook_signatures")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("signed by"))
    signed_by_name = models.CharField(_("signer's printed name"), max_length=300)
    signed_at = models.DateTimeField(_("signed at"))
    meaning = models.TextField(_("meaning of the signature"))
    history = HistoricalRecords()

    site_scope = "participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["participant", "-signed_at", "-id"]
        verbose_name = _("casebook signature")
        verbose_name_plural = _("casebook signatures")
        indexes = [models.Index(fields=["participant", "-signed_at", "-id"], name="casebook_signature_latest")]
        constraints = [
            models.CheckConstraint(condition=~Q(signed_by_name="") & ~Q(meaning=""),
                                   name="casebook_signature_names_signer_and_meaning"),
        ]

    @property
    def signature(self) -> Signature:
        """The signature as pages show it (the printed name stored when signing)."""
        return Signature.of(self.signed_by, self.signed_at, self.meaning, name=self.signed_by_name)

    def __str__(self):
        return f"{self.participant} signed by {self.signed_by_name} at {self.signed_at:%Y-%m-%d %H:%M}"


class CasebookChange(models.Model):
    """The time of the latest change of a participant's casebook: the latest `history_date` of the
    history rows of its records, kept by database triggers on their history tables in the
    statement that writes each one (`followup.casebook_changes`), never written by the application.
    A casebook signed before it is signed; one changed after it is to be signed again. A
    participant's row is there once its casebook has a history row or a signature."""

    participant = models.OneToOneField("enrollment.Participant", on_delete=models.CASCADE, primary_key=True,
                                       related_name="casebook_change")
    changed_at = models.DateTimeField(_("latest change of the casebook at"))
    # The latest signature's time (`CasebookSignature`), kept by a trigger on the signatures, so
    # that the casebooks to sign are read from this row alone: with an infusion recorded, and never
    # signed or changed after the latest signature.
    signed_at = models.DateTimeField(_("latest signature of the casebook at"), null=True, blank=True)
    # Whether the participant has an infusion recorded (given or missed, not planned), kept by the
    # trigger on the infusions' history: only such a casebook waits for a signature.
    recorded = models.BooleanField(_("infusion recorded"), default=False, db_default=False)

    class Meta:
        verbose_name = _("casebook change")
        # The worklist's casebooks to sign (`followup.worklist_reads`): its predicate is their filter
        # and it holds every column they read, so they are read from it alone (an index-only scan of
        # the few to sign, not of every row, which its trigger's updates leave large).
        indexes = [models.Index(fields=["changed_at", "participant"], include=["signed_at"], name="casebook_to_sign",
                                condition=Q(recorded=True) & (Q(signed_at__isnull=True)
                                                              | Q(changed_at__gt=models.F("signed_at"))))]

    def __str__(self):
        return f"{self.participant_id} changed at {self.changed_at}"


class DashboardVersion(models.Model):
    """A study's dashboard data version: raised, with a new random token, by database triggers in
    every write that can change the study dashboard (`followup.dashboard_version`), never written by
    the application. The built dashboard is cached under it (`followup.dashboard_cache`). The study
    is a plain number (no constraint), so that the triggers of a study's deletion still run."""

    study_id = models.BigIntegerField(_("study"), primary_key=True)
    version = models.BigIntegerField(_("data version"), default=0)
    token = models.BigIntegerField(_("token"), default=0)
    # Each kind of data's token (`followup.dashboard_version.KINDS`), drawn again when a write of the kind
    # commits: the dashboard's parts are cached under the kinds they read.
    screenings = models.BigIntegerField(_("screenings token"), default=0, db_default=0)
    participants = models.BigIntegerField(_("participants token"), default=0, db_default=0)
    infusions = models.BigIntegerField(_("infusions token"), default=0, db_default=0)
    casebooks = models.BigIntegerField(_("casebooks token"), default=0, db_default=0)
    adverse_events = models.BigIntegerField(_("adverse events token"), default=0, db_default=0)
    escalation = models.BigIntegerField(_("escalation token"), default=0, db_default=0)
    configuration = models.BigIntegerField(_("configuration token"), default=0, db_default=0)
    outcomes = models.BigIntegerField(_("outcomes token"), default=0, db_default=0)

    class Meta:
        verbose_name = _("dashboard data version")

    def __str__(self):
        return f"study {self.study_id} at {self.version}"


class DashboardMark(models.Model):
    """A participant whose record, screening, infusions or adverse events a transaction wrote, with the
    study's dashboard data version its commit raised (`DashboardVersion.version`; None until the
    commit): written by the triggers of `followup.dashboard_version` (`MARKED`), never by the
    application, and removed two days after (`dashboard_version.RETENTION`; `at`: the writing
    transaction's time). The kept dashboard sums (`followup.dashboard_base`) read the participants
    marked after the version they were read at, and count those again alone."""

    study_id = models.BigIntegerField(_("study"))
    participant_id = models.BigIntegerField(_("participant"))
    version = models.BigIntegerField(_("data version"), null=True)
    xact = models.BigIntegerField(_("transaction"), default=0)
    at = models.DateTimeField(_("marked at"), null=True)

    class Meta:
        verbose_name = _("dashboard mark")
        indexes = [models.Index(fields=["study_id", "version"], name="dashboard_mark_version"),
                   models.Index(fields=["xact"], name="dashboard_mark_xact"),
                   models.Index(fields=["study_id", "at"], name="dashboard_mark_at")]

    def __str__(self):
        return f"participant {self.participant_id} of study {self.study_id} at {self.version}"
