"""Each study's dashboard data version (`followup.signoff_models.DashboardVersion`): a number raised,
with a new random token, by database triggers in every transaction that wrote what the study
dashboard shows (on PostgreSQL at its commit, on SQLite in the writing statement), so that the built
dashboard can be cached under it (`followup.dashboard_cache`) and never served once the data moved.

The writes followed (`TRACKED`): every record of the casebooks and of the screenings (the history
tables of the records `followup.casebook_changes` follows, the participant's lock included), the
escalation decisions, the study's configuration (the study and its lock, arms, dose levels and their
infusions, diseases and their response criteria, eligibility criteria, visit schedule), and the
stored outcomes (`OutcomeResult`, `OutcomeSnapshot`, written by the outcomes task). The history rows
are written by every path (services, querysets' updates and bulk writes, cascades, the admin), so no
write path can miss the version and no service runs one more statement.

Why a number in one row per study rather than the latest change time of the study's records: a
transaction that changed a record earlier but commits later than another would leave the latest time
unchanged, and a dashboard read between the two commits would be kept under a version that no longer
moves. The row is updated in the writing transaction, atomic with its data, so its lock orders the
commits of a study's writes, and a dashboard read after the version was read sees at least that
version's data (a read whose snapshot lacks a write never sees the version that includes it). The
token is new at every raise: a transaction rolled back after raising the number (and after a
dashboard was cached under it) leaves a key that the next raise does not give again.

On PostgreSQL the version row is taken only at the commit, not from the first write: the triggers
run once per statement over its rows (transition tables; a bulk write of thousands of rows is one
run) and only record the studies written in the transaction's row of a pending table (`PENDING`,
keyed by the transaction id, which no other transaction writes); the row's insert queues a deferred
constraint trigger that runs once at the commit, raises those studies' versions (their rows locked
in study order: two commits of several studies never wait for each other) and deletes the row. A
long transaction (the outcomes computation) therefore never makes a study's other writes wait, and
two transactions cannot deadlock on a version row; a rolled-back one leaves neither a raise nor a
pending row. On SQLite (one writing transaction at a time) the triggers raise the version once per
row in the writing statement. Installed by the migration that created the table (and 0036, the
pending table, 0039, the kinds, and 0042, the marks) and again after every `migrate`.

The triggers of the participants', screenings', infusions' and adverse events' history also mark the
participant written (`MARKED`, `followup.signoff_models.DashboardMark`) with the version the commit
raised (on SQLite the version the statement raised), so that the dashboard's kept sums
(`followup.dashboard_base`) read again only the participants marked after the version they were read
at; the commit removes the study's marks older than `RETENTION`.
"""
from __future__ import annotations

from django.apps import apps
from django.db import connections

TRIGGER_PREFIX = "dashboard_version_"
# PostgreSQL: the studies a transaction wrote, until its commit raises their versions (one row a transaction).
PENDING = "followup_dashboardversion_pending"
COMMIT_TRIGGER = f"{TRIGGER_PREFIX}commit"

# (app, model, how the row's study is found, history table or the model's own table).
# "study_id"/"id": a column of the row; otherwise (table, alias, column of the row joined to its id) steps.
_SCREENING = (("enrollment", "Screening", "s", "screening_id"),)
_PARTICIPANT = (("enrollment", "Participant", "p", "participant_id"),)
_ASSESSMENT = (("followup", "Assessment", "a", "assessment_id"), ("enrollment", "Participant", "p", "participant_id"))
_ARM = (("trials", "Arm", "r", "arm_id"),)
HISTORY = "history"
OWN = "own"
TRACKED = (
    # the screenings and casebooks
    ("enrollment", "Screening", "study_id", HISTORY),
    ("enrollment", "ScreeningLab", _SCREENING, HISTORY),
    ("enrollment", "PriorTherapy", _SCREENING, HISTORY),
    ("enrollment", "Consent", _SCREENING, HISTORY),
    ("enrollment", "Participant", "study_id", HISTORY),  # enrolment, withdrawal, status, lock
    ("dosing", "Infusion", _PARTICIPANT, HISTORY),
    ("followup", "Visit", _PARTICIPANT, HISTORY),
    ("followup", "Assessment", _PARTICIPANT, HISTORY),
    ("followup", "LabResult", _ASSESSMENT, HISTORY),
    ("followup", "Transfusion", _ASSESSMENT, HISTORY),
    ("followup", "RescueTherapy", _ASSESSMENT, HISTORY),
    ("followup", "AdverseEvent", _PARTICIPANT, HISTORY),
    ("dosing", "EscalationDecision", "study_id", HISTORY),
    # the configuration
    ("trials", "Study", "id", HISTORY),
    ("trials", "Arm", "study_id", HISTORY),
    ("trials", "DoseLevel", _ARM, HISTORY),
    ("trials", "InfusionDefinition", _ARM, HISTORY),
    ("trials", "StudyDisease", "study_id", HISTORY),
    ("trials", "EligibilityCriterion", "study_id", HISTORY),
    ("trials", "VisitDefinition", "study_id", HISTORY),
    ("trials", "ResponseCriteriaSet", "criteria", HISTORY),  # shared: every study using the set
    # the stored outcomes
    ("followup", "OutcomeResult", "study_id", OWN),
    ("followup", "OutcomeSnapshot", "study_id", OWN),
)


# The kinds of data (`KINDS`, each a column of the version row holding a token drawn again at every
# raise): the dashboard's parts are cached under the kinds they read (`followup.dashboard_cache`).
KINDS = ("screenings", "participants", "infusions", "casebooks", "adverse_events", "escalation",
         "configuration", "outcomes")
KIND_OF = {
    "Screening": "screenings", "ScreeningLab": "screenings", "PriorTherapy": "screenings", "Consent": "screenings",
    "Participant": "participants", "Infusion": "infusions",
    "Visit": "casebooks", "Assessment": "casebooks", "LabResult": "casebooks", "Transfusion": "casebooks",
    "RescueTherapy": "casebooks", "AdverseEvent": "adverse_events", "EscalationDecision": "escalation",
    "Study": "configuration", "Arm": "configuration", "DoseLevel": "configuration",
    "InfusionDefinition": "configuration", "StudyDisease": "configuration", "EligibilityCriterion": "configuration",
    "VisitDefinition": "configuration", "ResponseCriteriaSet": "configuration",
    "OutcomeResult": "outcomes", "OutcomeSnapshot": "outcomes",
}
# The records whose writes mark their participant (`followup.signoff_models.DashboardMark`): what the
# dashboard's kept sums read of a participant besides their results (their group, disease, sex,
# status, number, infusions and adverse events), each with how its history row names the participant:
# a column of the row, or the participant of the screening (a screening never enrolled marks nobody).
# A participant's own history row names them and their study (so that a deletion marks them too). A
# record moved to another participant would mark the new one only: no service moves one.
MARKED = {"Participant": "own", "Screening": "screening", "Infusion": "participant_id",
          "AdverseEvent": "participant_id"}
# Marks older than this are removed (the sums that read them are kept under today's date: a day at most).
RETENTION = "2 days"
# PostgreSQL's pending rows hold -(study * KIND_BASE + kind + 1) (the kind's index in `KINDS`): negative,
# so that a study id recorded by the triggers before the kinds (a transaction open while they were
# installed) is still read, as every kind of that study.
KIND_BASE = 16
_WRITTEN = (f"(SELECT CASE WHEN s < 0 THEN (-s - 1) / {KIND_BASE} ELSE s END AS study, "
            f"CASE WHEN s < 0 THEN (-s - 1) % {KIND_BASE} ELSE -1 END AS kind FROM unnest(touched) s)")


def _studies_sql(get_model, how, row: str, pg: bool) -> str:
    """SQL selecting the study id (as `sid`) of the written row `row` (`n` of the transition table on
    PostgreSQL, `NEW` on SQLite)."""
    source = " FROM changed n" if pg else ""
    if isinstance(how, str) and how != "criteria":
        return f"SELECT {row}.{how} AS sid{source}"
    if how == "criteria":
        steps, column = (("trials", "StudyDisease", "d", None),), "d.study_id"
    else:
        steps, column = how, f"{how[-1][2]}.study_id"
    joins, previous = [], row
    for app, name, alias, link in steps:
        table = get_model(app, name)._meta.db_table
        condition = (f"{alias}.response_criteria_id = {row}.id" if link is None
                     else f"{alias}.id = {previous}.{link}")
        joins.append((table, alias, condition))
        previous = alias
    if pg:
        return f"SELECT {column} AS sid FROM changed n " + " ".join(f"JOIN {t} {a} ON {c}" for t, a, c in joins)
    return (f"SELECT {column} AS sid FROM " + ", ".join(f"{t} {a}" for t, a, _c in joins)
            + " WHERE " + " AND ".join(c for _t, _a, c in joins))


def _tracked(get_model):
    """(trigger name, table, the kind of data, the SQL of the written rows' studies for PostgreSQL and for
    SQLite, the name of the model whose rows mark their participant (`MARKED`; None: they mark none),
    whether updates and deletions of the table count too)."""
    for app, name, how, kind in TRACKED:
        model = get_model(app, f"Historical{name}" if kind == HISTORY else name)
        table = model._meta.db_table
        yield (f"{TRIGGER_PREFIX}{table}", table, KIND_OF[name], _studies_sql(get_model, how, "n", True),
               _studies_sql(get_model, how, "NEW", False), _studies_sql(get_model, how, "OLD", False),
               name if name in MARKED and kind == HISTORY else None, kind == OWN)


def _marks_table(connection, get_model) -> str | None:
    """The marks' table, None where it is not (yet, or no longer) in the database: installed by a
    migration before 0042, or after 0042 was reversed."""
    try:
        table = get_model("followup", "DashboardMark")._meta.db_table
    except LookupError:
        return None
    return table if table in connection.introspection.table_names() else None


def _marks_sql(get_model, marks: str, name: str, pg: bool) -> str:
    """The written rows' participants marked (`MARKED`): on PostgreSQL without a version, given at the
    commit by `_commit_statements`; on SQLite with the version the statement just raised."""
    participants = get_model("enrollment", "Participant")._meta.db_table
    row = "n" if pg else "NEW"
    how = MARKED[name]
    if how == "own":  # (study, participant) of the history row itself
        found = f"SELECT {row}.study_id AS sid, {row}.id AS pid" + (" FROM changed n" if pg else "")
    else:
        joined = f"p.screening_id = {row}.id" if how == "screening" else f"p.id = {row}.{how}"
        found = f"SELECT p.study_id AS sid, p.id AS pid FROM {'changed n JOIN ' if pg else ''}{participants} p " \
                + (f"ON {joined}" if pg else f"WHERE {joined}")
    if pg:
        return (f"INSERT INTO {marks} (study_id, participant_id, version, xact, at) "
                f"SELECT DISTINCT f.sid, f.pid, NULL::bigint, pg_current_xact_id()::text::bigint, "
                f"NULL::timestamptz FROM ({found}) f; ")
    versions = get_model("followup", "DashboardVersion")._meta.db_table
    return (f"INSERT INTO {marks} (study_id, participant_id, version, xact, at) "
            f"SELECT v.study_id, f.pid, v.version, 0, CURRENT_TIMESTAMP FROM ({found}) f "
            f"JOIN {versions} v ON v.study_id = f.sid; "
            f"DELETE FROM {marks} WHERE study_id IN (SELECT f.sid FROM ({found}) f) "
            f"AND at < datetime('now', '-{RETENTION}'); ")


def _commit_statements(versions: str, marks: str | None) -> list[str]:
    """PostgreSQL: the pending table, and the deferred trigger that, at the commit of a transaction
    that wrote a tracked record, raises its studies' versions (their rows locked in study order, so
    that two commits of several studies cannot wait for each other), gives the transaction's marks
    the version raised (so a reader that saw a version sees every mark up to it: the row's lock
    orders the commits) and deletes its pending row and the studies' marks older than `RETENTION`.
    The trigger is queued by the pending row's insert (once a transaction: later statements update
    it) and reads the row again by its transaction, as it stands at the commit."""
    return [
        f"CREATE TABLE IF NOT EXISTS {PENDING} (xact bigint PRIMARY KEY, studies bigint[] NOT NULL)",
        f"CREATE OR REPLACE FUNCTION {COMMIT_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"DECLARE touched bigint[]; BEGIN "
        f"DELETE FROM {PENDING} WHERE xact = NEW.xact RETURNING studies INTO touched; "
        f"IF touched IS NULL THEN RETURN NULL; END IF; "
        f"PERFORM 1 FROM {versions} WHERE study_id IN (SELECT w.study FROM {_WRITTEN} w) "
        f"ORDER BY study_id FOR UPDATE; "
        f"INSERT INTO {versions} (study_id, version, token, {', '.join(KINDS)}) "
        f"SELECT w.study, 1, floor(random() * 9e15)::bigint, "
        + ", ".join(f"CASE WHEN bool_or(w.kind IN ({index}, -1)) THEN floor(random() * 9e15)::bigint + 1 ELSE 0 END"
                    for index, _kind in enumerate(KINDS))
        + f" FROM {_WRITTEN} w GROUP BY w.study ORDER BY w.study "
        f"ON CONFLICT (study_id) DO UPDATE SET version = {versions}.version + 1, token = EXCLUDED.token, "
        + ", ".join(f"{kind} = CASE WHEN EXCLUDED.{kind} <> 0 THEN EXCLUDED.{kind} ELSE {versions}.{kind} END"
                    for kind in KINDS) + "; "
        + (f"UPDATE {marks} m SET version = v.version, at = now() FROM {versions} v "
           f"WHERE m.xact = NEW.xact AND m.version IS NULL AND v.study_id = m.study_id; "
           f"DELETE FROM {marks} WHERE study_id IN (SELECT w.study FROM {_WRITTEN} w) "
           f"AND at < now() - interval '{RETENTION}'; " if marks is not None else "")
        + "RETURN NULL; END $$",
        f"DROP TRIGGER IF EXISTS {COMMIT_TRIGGER} ON {PENDING}",
        f"CREATE CONSTRAINT TRIGGER {COMMIT_TRIGGER} AFTER INSERT ON {PENDING} DEFERRABLE INITIALLY DEFERRED "
        f"FOR EACH ROW EXECUTE FUNCTION {COMMIT_TRIGGER}()",
    ]


def _statements(vendor: str, get_model, marks: str | None) -> list[str]:
    versions = get_model("followup", "DashboardVersion")._meta.db_table
    statements = _commit_statements(versions, marks) if vendor == "postgresql" else []
    for trigger, table, kind, pg_rows, new_rows, old_rows, marked, every_write in _tracked(get_model):
        if vendor == "postgresql":
            coded = f"-(r.sid * {KIND_BASE} + {KINDS.index(kind) + 1})"  # the study and the kind written
            statements.append(
                f"CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"INSERT INTO {PENDING} (xact, studies) "
                f"SELECT pg_current_xact_id()::text::bigint, "
                f"array_agg(DISTINCT {coded} ORDER BY {coded}) "
                f"FROM ({pg_rows}) r WHERE r.sid IS NOT NULL HAVING count(*) > 0 "
                f"ON CONFLICT (xact) DO UPDATE SET studies = ARRAY(SELECT DISTINCT s FROM unnest("
                f"{PENDING}.studies || EXCLUDED.studies) s ORDER BY s) "
                f"WHERE NOT {PENDING}.studies @> EXCLUDED.studies; "
                + (_marks_sql(get_model, marks, marked, True) if marked and marks else "")
                + "RETURN NULL; END $$")
            events = (("insert", "INSERT", "NEW"), ("update", "UPDATE", "NEW"), ("delete", "DELETE", "OLD"))
            for suffix, event, transition in events if every_write else events[:1]:
                statements += [
                    f"DROP TRIGGER IF EXISTS {trigger}_{suffix} ON {table}",
                    f"CREATE TRIGGER {trigger}_{suffix} AFTER {event} ON {table} "
                    f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {trigger}()"]
        elif vendor == "sqlite":
            events = (("insert", "INSERT", new_rows), ("update", "UPDATE", new_rows), ("delete", "DELETE", old_rows))
            for suffix, event, rows in events if every_write else events[:1]:
                statements += [
                    f"DROP TRIGGER IF EXISTS {trigger}_{suffix}",
                    f"CREATE TRIGGER {trigger}_{suffix} AFTER {event} ON {table} FOR EACH ROW BEGIN "
                    # a deletion only raises an existing row (an insert made it): emptying the
                    # tables must not make a row for a study that is gone or going
                    + ("" if event == "DELETE" else
                       f"INSERT OR IGNORE INTO {versions} (study_id, version, token, {', '.join(KINDS)}) "
                       f"SELECT q.sid, 0, 0{', 0' * len(KINDS)} FROM ({rows}) q WHERE q.sid IS NOT NULL; ")
                    # a kind's token never 0 (the value of a kind not written since its row was made)
                    + f"UPDATE {versions} SET version = version + 1, token = random(), "
                    f"{kind} = abs(random() % 9000000000000000) + 1 "
                    f"WHERE study_id IN (SELECT q.sid FROM ({rows}) q); "
                    + (_marks_sql(get_model, marks, marked, False) if marked and marks and event == "INSERT"
                       else "") + "END"]
        else:
            raise NotImplementedError(f"The dashboard version triggers are written for PostgreSQL and SQLite, "
                                      f"not {vendor}.")
    return statements


def install(connection, get_model=None) -> None:
    """Create (or replace) the triggers; every study gets its row (a new token)."""
    get_model = get_model or apps.get_model
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, get_model, _marks_table(connection, get_model)):
            cursor.execute(statement)


def uninstall(connection, get_model=None) -> None:
    with connection.cursor() as cursor:
        for trigger, table, _kind, *_rest, every_write in _tracked(get_model or apps.get_model):
            for suffix in ("insert", "update", "delete") if every_write else ("insert",):
                if connection.vendor == "postgresql":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}_{suffix} ON {table}")
                else:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}_{suffix}")
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP FUNCTION IF EXISTS {trigger}()")
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TABLE IF EXISTS {PENDING}")  # and its trigger
            cursor.execute(f"DROP FUNCTION IF EXISTS {COMMIT_TRIGGER}()")


def after_migrate(sender, using, **kwargs) -> None:
    """post_migrate: the triggers installed again (idempotent), once the table exists (a table rebuilt
    by a migration on SQLite loses its triggers)."""
    connection = connections[using]
    if apps.get_model("followup", "DashboardVersion")._meta.db_table in connection.introspection.table_names():
        install(connection)


def current(study_id: int) -> str:
    """The study's data version as a short text (one statement): "<number>.<token>", "0" when nothing
    was written since the table was created."""
    from .signoff_models import DashboardVersion  # noqa: PLC0415

    found = DashboardVersion.objects.filter(study_id=study_id).values_list("version", "token").first()
    return f"{found[0]}.{found[1]}" if found else "0"


def of_kinds(study_id: int) -> dict[str, str]:
    """The study's token of each kind of data (`KINDS`; "0": not written since its row was made, or no
    row yet) and, under "all", its data version as `current` gives it: one statement."""
    from .signoff_models import DashboardVersion  # noqa: PLC0415

    found = DashboardVersion.objects.filter(study_id=study_id).values_list("version", "token", *KINDS).first()
    if found is None:
        return {"all": "0", **{kind: "0" for kind in KINDS}}
    return {"all": f"{found[0]}.{found[1]}", **{kind: str(value) for kind, value in zip(KINDS, found[2:])}}
