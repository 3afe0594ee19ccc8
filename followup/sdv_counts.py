"""Each participant's SDV progress under the key-items plan, kept for the study page (`SdvCount`),
so that the page sums a row per participant instead of counting every record.

- Stale, without a statement on any write: a participant's kept figures are behind their records
  when they have no row, when their casebook changed after the change the figures were counted
  at (`CasebookChange`, kept by triggers on the history tables of the casebook's records, which
  are the records the progress counts: `followup.casebook_changes`), or when a tick was written
  since (a trigger on the history table of the ticks clears the row's `counted_at`, installed
  here in the same way). The plan does not move them: they are the key-items figures whatever
  the study's plan, and the page counts a study on the all-items plan from its records.
- Counted again: `followup.sdv_recount.sdv_counts_refresh`, by the periodic reconcile. The rows to count are locked,
  then their participants' casebook change rows (a trigger writing one holds it until its write
  commits), so a write in progress is waited for and counted, or marks the row stale after; the
  row keeps the change time read under that lock.
- Read (`kept_by_site`, `followup.sdv_progress.study_sdv_sites`): the kept figures of the fresh
  rows and, in the same statement, the participants whose figures are stale, counted from their
  records then. The page never shows figures behind the data.
"""
from __future__ import annotations

from django.apps import apps
from django.db import connections
from django.db.models import Aggregate, CharField, Count, F, Q, Sum
from django.db.models.functions import Cast

from enrollment.models import Participant

from .sdv_models import SdvCount

# Beyond this many participants waiting to be counted again, the page counts the whole study from
# its records (as many queries) rather than naming them.
NAMED_LIMIT = 2000
# Rows counted again per transaction by the refresh (each batch's rows locked while it counts).
BATCH = 2000
TRIGGER = "sdv_count_ticked"


class _Ids(Aggregate):
    """Ids comma-joined (SQLite's GROUP_CONCAT, PostgreSQL's STRING_AGG), with a filter."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        clone = self.copy()
        clone.function, clone.template = "STRING_AGG", "%(function)s(%(expressions)s, ',')"
        return super(_Ids, clone).as_sql(compiler, connection, **extra)


def stale_participants() -> Q:
    """The participants whose progress is to be counted from their records: no row or a cleared
    one (`counted_at` is null on both), or a casebook changed since it was counted."""
    return Q(sdv_count__counted_at__isnull=True) | Q(casebook_change__changed_at__gt=F("sdv_count__counted_at"))


def fresh_participants() -> Q:
    """The participants whose kept figures are those of their records."""
    return Q(sdv_count__counted_at__isnull=False) & (
        Q(casebook_change__isnull=True) | Q(casebook_change__changed_at__lte=F("sdv_count__counted_at")))


def stale_rows() -> Q:
    return Q(counted_at__isnull=True) | Q(participant__casebook_change__changed_at__gt=F("counted_at"))


def kept_by_site(study, site_ids) -> list[dict]:
    """Per site of `site_ids`: participants, the casebooks locked on their own (`locked`), the kept
    figures of the fresh rows (required, verified), how many are stale, and their ids comma-joined
    (one query: the study page's locked casebooks are counted in the same pass over the participants)."""
    fresh = fresh_participants()
    return list(Participant.objects.filter(study=study, site_id__in=site_ids).values("site_id").annotate(
        participants=Count("pk"), locked=Count("pk", filter=Q(locked_at__isnull=False)),
        required=Sum("sdv_count__required", filter=fresh),
        verified=Sum("sdv_count__verified", filter=fresh), stale=Count("pk", filter=stale_participants()),
        stale_ids=_Ids(Cast("pk", CharField()), filter=stale_participants())).order_by())




# --- the trigger of the ticks -------------------------------------------------------------------------

def _statements(vendor: str, get_model) -> list[str]:
    """A tick's history row written clears its participant's `counted_at` in the same statement."""
    history = get_model("followup", "HistoricalItemVerification")._meta.db_table
    counts = get_model("followup", "SdvCount")._meta.db_table
    clear = f"UPDATE {counts} SET counted_at = NULL WHERE participant_id = NEW.participant_id"
    if vendor == "postgresql":
        return [f"CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"{clear}; RETURN NULL; END $$",
                f"DROP TRIGGER IF EXISTS {TRIGGER} ON {history}",
                f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON {history} FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"]
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {TRIGGER}",
                f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON {history} FOR EACH ROW BEGIN {clear}; END"]
    raise NotImplementedError(f"The SDV count trigger is written for PostgreSQL and SQLite, not {vendor}.")


def install(connection, get_model=None) -> None:
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, get_model or apps.get_model):
            cursor.execute(statement)


def uninstall(connection, get_model=None) -> None:
    history = (get_model or apps.get_model)("followup", "HistoricalItemVerification")._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {history}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")


def installed(connection) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", [TRIGGER])
        else:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s", [TRIGGER])
        return cursor.fetchone() is not None


def after_migrate(sender, using, **kwargs) -> None:
    """post_migrate: the trigger installed again (idempotent; a table rebuilt on SQLite loses it)."""
    connection = connections[using]
    if SdvCount._meta.db_table in connection.introspection.table_names():
        install(connection)
