"""The time of the latest change of each participant's casebook, kept as it happens
(`followup.signoff_models.CasebookChange`), so that the investigator's sign-off (`followup.signoff`)
and the worklist's casebooks to sign read one row per participant instead of the history of twelve
kinds of record.

The casebook's records are those listed here (`SCREENING_RECORDS`, `PARTICIPANT_RECORDS`); every
write of one keeps a history row (django-simple-history, `trials.audit`), whatever the code path:
a service, a queryset's update or bulk write, a cascaded deletion, the admin. A database trigger on
each of their history tables raises the participant's stored time to the history row's
`history_date` in the same statement, so the stored time is, at every commit, the latest
`history_date` of the casebook's history rows (`latest_change_from_history`), and no write has to
remember it: the statements a service runs, and so its query budget, are unchanged. The triggers
are installed by the migration that created the table and again after every `migrate` (a table
rebuilt by a later migration on SQLite loses its triggers); `rebuild` recomputes every row from the
history (run by that migration for the data already there).

The row also holds what the worklist's casebooks to sign read beside the time, so that they are read
from it alone: whether the participant has an infusion recorded (`recorded`: set by the trigger of
the row's first history row, and again by each infusion's history row) and the time of the latest
signature (`signed_at`: kept by a trigger on the signatures, after every insert, update or deletion).
"""
from __future__ import annotations

from datetime import UTC, datetime

from django.apps import apps
from django.db import connections, models
from django.db.models import Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Greatest

from .signoff_models import CasebookChange

# Below every change time: a record kind with no history row for the participant adds no change.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)

# The casebook's records as (app label, model, link of their history rows to the participant's
# screening or to the participant). A deleted record keeps its history rows: its deletion counts.
SCREENING_RECORDS = (("enrollment", "Screening", "id"), ("enrollment", "ScreeningLab", "screening_id"),
                     ("enrollment", "PriorTherapy", "screening_id"), ("enrollment", "Consent", "screening_id"))
PARTICIPANT_RECORDS = (("enrollment", "Participant", "id"), ("dosing", "Infusion", "participant_id"),
                       ("followup", "Visit", "participant_id"), ("followup", "Assessment", "participant_id"),
                       ("followup", "LabResult", "assessment__participant_id"),
                       ("followup", "Transfusion", "assessment__participant_id"),
                       ("followup", "RescueTherapy", "assessment__participant_id"),
                       ("followup", "AdverseEvent", "participant_id"))
ALL_RECORDS = (*SCREENING_RECORDS, *PARTICIPANT_RECORDS)
TRIGGER_PREFIX = "casebook_change_"
SIGNED_TRIGGER = "casebook_signed_at"


def _history_rows(model: type[models.Model]):
    rows = model.history.model.objects.all()
    if model._meta.model_name == "participant":
        # The lock of a signed casebook (`enrollment.locks`) changes no data: while locked nothing
        # else of the participant's row can change, so its rows with a lock are the lock's own. An
        # unlock opens the casebook to changes again: it counts, and the casebook is signed again
        # before it is locked again.
        rows = rows.filter(locked_at__isnull=True)
    return rows


def _latest_history(model: type[models.Model], lookup: str, value) -> Coalesce:
    rows = _history_rows(model).filter(**{lookup: value}).order_by("-history_date").values("history_date")
    return Coalesce(Subquery(rows[:1]), Value(NEVER), output_field=models.DateTimeField())


def latest_change_from_history(participant=None, screening=None) -> Greatest:
    """An expression: the time of the latest change of the participant's casebook read from the
    history tables themselves (one scalar subquery per record kind): what the stored time
    (`CasebookChange`) always equals; `rebuild` computes it for every participant at once.
    `participant` and `screening` are ids, as values or references to the outer query (by
    default, of a query of participants)."""
    participant = OuterRef("pk") if participant is None else participant
    screening = OuterRef("screening_id") if screening is None else screening
    return Greatest(*(_latest_history(apps.get_model(app, name), lookup, screening)
                      for app, name, lookup in SCREENING_RECORDS),
                    *(_latest_history(apps.get_model(app, name), lookup, participant)
                      for app, name, lookup in PARTICIPANT_RECORDS),
                    output_field=models.DateTimeField())


# --- the triggers -----------------------------------------------------------------------------------

def _participants_of(get_model, app: str, name: str, lookup: str) -> str:
    """SQL: the condition on `p` (the participant table) that selects the participant of the new
    history row `NEW` of the record kind."""
    if (app, name, lookup) in SCREENING_RECORDS:
        return f"p.screening_id = NEW.{'id' if lookup == 'id' else 'screening_id'}"
    if lookup == "assessment__participant_id":
        assessments = get_model("followup", "Assessment")._meta.db_table
        return f"p.id = (SELECT a.participant_id FROM {assessments} a WHERE a.id = NEW.assessment_id)"
    return f"p.id = NEW.{lookup}"


def _tracked(get_model):
    """(trigger name, history table, WHEN condition, participant condition) per record kind."""
    for app, name, lookup in ALL_RECORDS:
        history = get_model(app, f"Historical{name}")._meta.db_table
        when = "NEW.locked_at IS NULL" if name == "Participant" else ""
        yield f"{TRIGGER_PREFIX}{history}", history, when, _participants_of(get_model, app, name, lookup)


def _signs(get_model) -> bool:
    """Whether the stored row has the latest signature's time (not before the migration adding it)."""
    return any(field.name == "signed_at" for field in get_model("followup", "CasebookChange")._meta.get_fields())


def _latest_signature(get_model, participant: str) -> str:
    """SQL: the time of the latest signature of the participant `participant` (an SQL value)."""
    signatures = get_model("followup", "CasebookSignature")._meta.db_table
    return f"(SELECT MAX(s.signed_at) FROM {signatures} s WHERE s.participant_id = {participant})"


def _recorded(get_model, participant: str) -> str:
    """SQL: whether the participant `participant` (an SQL value) has an infusion recorded (not planned)."""
    infusions = get_model("dosing", "Infusion")._meta.db_table
    return f"EXISTS (SELECT 1 FROM {infusions} i WHERE i.participant_id = {participant} AND i.state <> 'planned')"


def _signature_statements(vendor: str, get_model) -> list[str]:
    """The trigger that keeps each row's `signed_at`: after every insert, update or deletion of a
    signature, the latest signature's time of its participant (the row made if there is none)."""
    changes = get_model("followup", "CasebookChange")._meta.db_table
    signatures = get_model("followup", "CasebookSignature")._meta.db_table
    never = f"'{NEVER:%Y-%m-%d %H:%M:%S}{'+00' if vendor == 'postgresql' else ''}'"

    def updated(row: str) -> str:
        return (f"UPDATE {changes} SET signed_at = {_latest_signature(get_model, f'{row}.participant_id')} "
                f"WHERE participant_id = {row}.participant_id;")

    def kept(row: str) -> str:
        made = (f"INSERT {'' if vendor == 'postgresql' else 'OR IGNORE '}INTO {changes} "
                f"(participant_id, changed_at, recorded) VALUES ({row}.participant_id, {never}, "
                f"{_recorded(get_model, f'{row}.participant_id')})"
                f"{' ON CONFLICT DO NOTHING' if vendor == 'postgresql' else ''}")
        return f"{made}; {updated(row)}"

    # A deletion only updates the row: a signature's insert made it, and a deletion must not make a
    # row again while the tables are emptied (the participant may be gone already).

    if vendor == "postgresql":
        return [f"CREATE OR REPLACE FUNCTION {SIGNED_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF TG_OP <> 'DELETE' THEN {kept('NEW')} END IF; "
                f"IF TG_OP = 'UPDATE' THEN {kept('OLD')} END IF; "
                f"IF TG_OP = 'DELETE' THEN {updated('OLD')} END IF; RETURN NULL; END $$",
                f"DROP TRIGGER IF EXISTS {SIGNED_TRIGGER} ON {signatures}",
                f"CREATE TRIGGER {SIGNED_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {signatures} "
                f"FOR EACH ROW EXECUTE FUNCTION {SIGNED_TRIGGER}()"]
    if vendor == "sqlite":
        statements = []
        for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("NEW", "OLD")), ("DELETE", ("OLD",))):
            trigger = f"{SIGNED_TRIGGER}_{event.lower()}"
            statements += [f"DROP TRIGGER IF EXISTS {trigger}",
                           f"CREATE TRIGGER {trigger} AFTER {event} ON {signatures} FOR EACH ROW BEGIN "
                           f"{' '.join(updated(row) if event == 'DELETE' else kept(row) for row in rows)} END"]
        return statements
    raise NotImplementedError(f"The casebook change triggers are written for PostgreSQL and SQLite, not {vendor}.")


def _statements(vendor: str, get_model, signs: bool | None = None) -> list[str]:
    participants = get_model("enrollment", "Participant")._meta.db_table
    changes = get_model("followup", "CasebookChange")._meta.db_table
    signs = _signs(get_model) if signs is None else signs
    columns = "participant_id, changed_at, signed_at, recorded" if signs else "participant_id, changed_at"
    signed = f", {_latest_signature(get_model, 'p.id')}, {_recorded(get_model, 'p.id')}" if signs else ""
    # An infusion's write (its history row) may record or unrecord the participant's infusions.
    infusions = get_model("dosing", "HistoricalInfusion")._meta.db_table
    statements = []
    for trigger, history, when, condition in _tracked(get_model):
        chosen = f"SELECT p.id, NEW.history_date{signed} FROM {participants} p WHERE {condition}"
        infused = signs and history == infusions
        if vendor == "postgresql":
            statements += [
                f"CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"INSERT INTO {changes} ({columns}) {chosen} "
                f"ON CONFLICT (participant_id) DO UPDATE SET changed_at = "
                f"GREATEST({changes}.changed_at, EXCLUDED.changed_at)"
                f"{', recorded = EXCLUDED.recorded' if infused else ''}; RETURN NULL; END $$",
                f"DROP TRIGGER IF EXISTS {trigger} ON {history}",
                f"CREATE TRIGGER {trigger} AFTER INSERT ON {history} FOR EACH ROW "
                f"{f'WHEN ({when}) ' if when else ''}EXECUTE FUNCTION {trigger}()"]
        elif vendor == "sqlite":
            statements += [
                f"DROP TRIGGER IF EXISTS {trigger}",
                f"CREATE TRIGGER {trigger} AFTER INSERT ON {history} FOR EACH ROW "
                f"{f'WHEN {when} ' if when else ''}BEGIN "
                f"INSERT OR IGNORE INTO {changes} ({columns}) {chosen}; "
                f"UPDATE {changes} SET changed_at = NEW.history_date WHERE changed_at < NEW.history_date "
                f"AND participant_id IN (SELECT p.id FROM {participants} p WHERE {condition}); "
                + (f"UPDATE {changes} SET recorded = {_recorded(get_model, 'NEW.participant_id')} "
                   f"WHERE participant_id = NEW.participant_id; " if infused else "") + "END"]
        else:
            raise NotImplementedError(f"The casebook change triggers are written for PostgreSQL and SQLite, "
                                      f"not {vendor}.")
    return statements + (_signature_statements(vendor, get_model) if signs else [])


def install(connection, get_model=None, *, signs: bool | None = None) -> None:
    """Create (or replace) the trigger of each history table of the casebook's records, and of the
    signatures when the row stores the latest signature (`signs`; by default, when it has it)."""
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, get_model or apps.get_model, signs):
            cursor.execute(statement)


def uninstall(connection, get_model=None) -> None:
    """Drop the triggers of the history tables and of the signatures."""
    with connection.cursor() as cursor:
        for trigger, history, _when, _condition in _tracked(get_model or apps.get_model):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {history}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {trigger}()")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        signatures = (get_model or apps.get_model)("followup", "CasebookSignature")._meta.db_table
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {SIGNED_TRIGGER} ON {signatures}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {SIGNED_TRIGGER}()")
        else:
            for event in ("insert", "update", "delete"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {SIGNED_TRIGGER}_{event}")


def installed(connection) -> set[str]:
    """The history tables that have their trigger in the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                           "WHERE t.tgname LIKE %s", [f"{TRIGGER_PREFIX}%"])
        else:
            cursor.execute("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                           [f"{TRIGGER_PREFIX}%"])
        return {row[0] for row in cursor.fetchall()}


def after_migrate(sender, using, **kwargs) -> None:
    """post_migrate: the triggers installed again (idempotent), once the table exists."""
    connection = connections[using]
    if CasebookChange._meta.db_table in connection.introspection.table_names():
        install(connection)


def rebuild(get_model=None) -> int:
    """Every participant's stored time recomputed from the history tables (one grouped query per
    record kind): what the triggers keep. The number of participants stored."""
    get_model = get_model or apps.get_model
    participants = get_model("enrollment", "Participant")
    of_screening = dict(participants.objects.values_list("screening_id", "id"))
    known = set(of_screening.values())
    latest: dict[int, datetime] = {}
    for app, name, lookup in ALL_RECORDS:
        model = get_model(app, f"Historical{name}")
        rows = model.objects.all()
        if name == "Participant":
            rows = rows.filter(locked_at__isnull=True)
        for key, at in rows.order_by().values_list(lookup).annotate(at=Max("history_date")).values_list(lookup, "at"):
            participant = of_screening.get(key) if (app, name, lookup) in SCREENING_RECORDS else key
            if participant in known and (participant not in latest or at > latest[participant]):
                latest[participant] = at
    changes = get_model("followup", "CasebookChange")
    signed, recorded, signs = {}, set(), _signs(get_model)
    if signs:
        signatures = get_model("followup", "CasebookSignature").objects.order_by().values("participant_id")
        signed = dict(signatures.annotate(at=Max("signed_at")).values_list("participant_id", "at"))
        recorded = set(get_model("dosing", "Infusion").objects.exclude(state="planned")
                       .values_list("participant_id", flat=True).distinct())
    changes.objects.all().delete()
    changes.objects.bulk_create([changes(participant_id=pk, changed_at=latest.get(pk, NEVER),
                                         **({"signed_at": signed.get(pk), "recorded": pk in recorded}
                                            if signs else {}))
                                 for pk in latest.keys() | signed.keys()], batch_size=2000)
    return len(latest.keys() | signed.keys())
