"""The subjects of the ODM export kept as written (`followup.export_odm`; issue 15, "Exports").

The clinical data of an ODM export are its subjects' SubjectData and AuditRecords, each written
from that subject's rows and their history alone. On PostgreSQL every subject written is kept
(`KeptOdmSubject`) with the fingerprint of what it was written from, and the next export writes it
as it is when its fingerprint and the setting are the same: only the subjects whose data changed
are written again, and the kept ones are copied out by one statement per part.

- The fingerprint (`fingerprints`, one statement for the export's subjects) is worked out from
  the version of every row the subject is written from: its participant row (with the name of the
  user who locked its casebook), its screening, screening labs, prior therapies and consents, its
  infusions, visits, assessments, lab values, transfusions, rescue therapies and adverse events,
  and every history row of these (those of deleted rows included). PostgreSQL writes a new version
  of a row at each insert and update, whoever makes it and however (through the services, a bulk
  statement, by hand): a version is the transaction that wrote it (`xmin`) and its place (`ctid`,
  new at each update, also within one transaction). Each row's version and id are hashed and the
  hashes combined, with their number: any row written changes the fingerprint (but with a chance of
  2^-64). A row moved without being written (VACUUM FULL, a restored dump) changes it too: its
  subject is written again.
- The setting (`setting_of`) is what the text of a subject depends on besides its rows: the
  study's groups and items, units, analytes' SI units, arm, dose level and site codes, and the
  product's code (its apps' sources): a change of any is a new setting, and every subject is
  written again.
- An export reads every fingerprint and the kept subjects in its snapshot of the database
  (`followup.exports.one_snapshot`), writes the subjects not kept into temporary files (bounded
  memory) and keeps them (in the snapshot's read-only transaction: by a thread with a connection of
  its own, 50 a statement committed at once, while the next are written; elsewhere in the caller's
  transaction), then writes the document: the subjects in order, the kept ones copied out of the
  database (COPY, binary) between those just written. A failure to keep is logged; the export goes on.
- The periodic task `followup.keep_odm_subjects` (`export_odm.keep_subjects`) keeps every study's
  subjects as they are now, so that exports find them kept, after a deployment too.

Elsewhere (SQLite) nothing is kept: every subject is written each time, the same text.
"""
from __future__ import annotations

import hashlib
from importlib import metadata
import json
import logging
import queue
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.utils.translation import gettext_lazy as _

from dosing.models import Infusion
from enrollment.models import Consent, Participant, PriorTherapy, Screening, ScreeningLab

from .models import AdverseEvent, Assessment, KeptOdmSubject, LabResult, RescueTherapy, Transfusion, Visit

logger = logging.getLogger(__name__)

PARTICIPANT, SCREENING_ONLY = "P", "S"  # a participant; a screening never enrolled
FORMAT = 1  # raised when the kept text must be written again whatever the sources say
CHUNK = 200  # subjects written at once
KEEP_BATCH = 50  # subjects kept by one statement (its text is held twice meanwhile: the memory's bound)
_APPS = ("trials", "enrollment", "dosing", "followup")


@dataclass
class Written:
    """A subject as written: its SubjectData, its AuditRecords, the users they name, the number of
    current values."""

    kind: str
    subject: int
    body: str
    records: str
    users: set[int] = field(default_factory=set)
    values: int = 0


@cache
def sources() -> str:
    """A digest of the product's code (its apps' Python sources, tests and migrations left out) and
    of the versions of the packages the text goes through; read once per process, when it starts
    (`followup.apps`): a process that runs code older than the files keeps the digest of its code."""
    digest = hashlib.sha256()
    for package in ("django", "django-simple-history", "psycopg2-binary"):
        try:
            digest.update(f"{package} {metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(package.encode())
    root = Path(settings.BASE_DIR)
    for app in _APPS:
        for path in sorted((root / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def setting_of(meta, codes: dict, site_codes: dict) -> str:
    """What a subject's text depends on besides its rows, as a digest (module docstring)."""
    groups = [(g.oid, g.signature, [(f.oid, f.key, f.datatype, f.unit, f.unit_key, f.stored, f.codelist)
                                    for f in g.fields]) for g in meta.groups.values()]
    specs = sorted((code, spec.type) for code, spec in meta.item_specs.items())
    setting = (FORMAT, sys.version_info[:2], sources(), groups, sorted(meta.units.items()),
               sorted(meta.si_units.items()), specs, {k: sorted(v.items()) for k, v in sorted(codes.items())},
               sorted(site_codes.items()))
    return hashlib.sha256(repr(setting).encode()).hexdigest()


# --- fingerprints ----------------------------------------------------------------------------------

def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _terms(parts: Iterable[tuple], scopes: dict) -> str:
    """One SELECT per (model, scope name, join condition): each row of the model (and of its history)
    joined to its subject, with its hash."""
    selects = []
    for n, (model, scope, condition) in enumerate(parts):
        subject = scopes[scope]
        for table, key, seed in ((_table(model), "id", 2 * n), (_table(model.history.model), "history_id", 2 * n + 1)):
            selects.append(f"SELECT {subject} AS subject, "
                           f"hashtextextended(x.xmin::text || ':' || x.ctid::text, x.{key} * 64 + {seed}) AS h "
                           f"FROM {table} x JOIN {scope} ON {condition}")
    return " UNION ALL ".join(selects)


_SCREENING_PARTS = ((ScreeningLab, "{s}", "{s}.{sid} = x.screening_id"),
                    (PriorTherapy, "{s}", "{s}.{sid} = x.screening_id"), (Consent, "{s}", "{s}.{sid} = x.screening_id"))


def _screening_parts(scope: str, column: str) -> list[tuple]:
    return [(Screening, scope, f"{scope}.{column} = x.id")] + [
        (model, s.format(s=scope), c.format(s=scope, sid=column)) for model, s, c in _SCREENING_PARTS]


def _participants_sql() -> str:
    parts = [(Participant, "p", "p.id = x.id"), *_screening_parts("p", "screening_id"),
             (Infusion, "p", "p.id = x.participant_id"), (Visit, "p", "p.id = x.participant_id"),
             (Assessment, "p", "p.id = x.participant_id"), (AdverseEvent, "p", "p.id = x.participant_id"),
             (LabResult, "a", "a.id = x.assessment_id"), (Transfusion, "a", "a.id = x.assessment_id"),
             (RescueTherapy, "a", "a.id = x.assessment_id")]
    user = connection.ops.quote_name(Participant._meta.get_field("locked_by").related_model._meta.db_table)
    # Who locked a casebook is written by name: the name is part of the participant's fingerprint.
    lockers = (f"SELECT p.id AS subject, hashtextextended(u.username, 63) AS h FROM p JOIN {user} u "
               f"ON u.id = p.locked_by_id")
    return (f"WITH p AS (SELECT id, screening_id, locked_by_id FROM {_table(Participant)} WHERE id = ANY(%s)), "
            f"a AS (SELECT x.id, x.participant_id AS subject FROM {_table(Assessment)} x JOIN p "
            f"ON p.id = x.participant_id) "
            f"SELECT subject, count(*), bit_xor(h) FROM ({_terms(parts, {'p': 'p.id', 'a': 'a.subject'})} "
            f"UNION ALL {lockers}) parts GROUP BY subject")


def _screenings_sql() -> str:
    parts = _screening_parts("s", "id")
    return (f"WITH s AS (SELECT id FROM {_table(Screening)} WHERE id = ANY(%s)) "
            f"SELECT subject, count(*), bit_xor(h) FROM ({_terms(parts, {'s': 's.id'})}) parts GROUP BY subject")


def fingerprints(order: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """{(kind, id): fingerprint} of the subjects (PostgreSQL)."""
    found = {}
    with connection.cursor() as cursor:
        for kind, sql in ((PARTICIPANT, _participants_sql()), (SCREENING_ONLY, _screenings_sql())):
            ids = [subject for k, subject in order if k == kind]
            if ids:
                cursor.execute(sql, [ids])
                found.update({(kind, subject): f"{count}:{digest & 0xFFFFFFFFFFFFFFFF:016x}"
                              for subject, count, digest in cursor.fetchall()})
    return found


# --- an export's subjects ----------------------------------------------------------------------------

class Subjects:
    """The subjects of one export, in order: those kept under the same fingerprint and setting, and
    the others written (`write`) into temporary files and kept. Then `copy(out, part)` writes every
    subject's part ("body" or "records") in order; `users` and `values` are those of all."""

    def __init__(self, study, setting: str, order: list[tuple[str, int]], *, keep: bool, spool: bool = True):
        """`spool`: the subjects written are kept for `copy` (without it, only kept in the database)."""
        self.study, self.setting, self.order, self.spool = study, setting, order, spool
        self.keeping = keep and connection.vendor == "postgresql"
        self.users: set[int] = set()
        self.values = 0
        self.kept: set[tuple[str, int]] = set()
        self.prints: dict[tuple[str, int], str] = {}
        self._spans: dict[tuple[str, int], dict[str, tuple[int, int]]] = {}
        self._read_only = False
        self._keeper: _Keeper | None = None  # keeps the subjects written, in a read-only snapshot
        if self.keeping:
            self._read_kept()
        self._files = {"body": tempfile.TemporaryFile(), "records": tempfile.TemporaryFile()}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._keeper is not None:
            self._keeper.close()
        for file in self._files.values():
            file.close()

    def _read_kept(self) -> None:
        self.prints = fingerprints(self.order)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('transaction_read_only')")
            self._read_only = cursor.fetchone()[0] == "on"
            # Outside the snapshot, the kept rows read are locked until the end of the caller's
            # transaction: another export does not replace them before they are copied out.
            lock = " FOR SHARE" if connection.in_atomic_block and not self._read_only else ""
            cursor.execute(f"SELECT kind, subject, fingerprint, current_values, users FROM {_table(KeptOdmSubject)} "
                           f"WHERE study_id = %s AND setting = %s{lock}", [self.study.pk, self.setting])
            for kind, subject, fingerprint, values, users in cursor.fetchall():
                key = (kind, subject)
                if self.prints.get(key) == fingerprint:
                    self.kept.add(key)
                    self.values += values
                    self.users.update(json.loads(users) if isinstance(users, str) else users)

    @property
    def stale(self) -> list[tuple[str, int]]:
        return [key for key in self.order if key not in self.kept]

    def write(self, render: Callable[[str, list[int]], Iterator[Written]],
              progress: Callable[[int], None] | None = None) -> None:
        """Write the subjects not kept (`render(kind, ids)`, by chunks) and keep them; `progress`
        is told the share of them written after each chunk (0-95: copying the kept ones is the rest)."""
        total, done = len(self.stale), 0
        for kind in (PARTICIPANT, SCREENING_ONLY):
            ids = [subject for k, subject in self.stale if k == kind]
            for start in range(0, len(ids), CHUNK):
                written = list(render(kind, ids[start:start + CHUNK]))
                for one in written if self.spool else ():
                    spans = self._spans[(one.kind, one.subject)] = {}
                    for part in ("body", "records"):
                        file = self._files[part]
                        data = getattr(one, part).encode("utf-8", "xmlcharrefreplace")
                        spans[part] = (file.tell(), len(data))
                        file.write(data)
                    self.users.update(one.users)
                    self.values += one.values
                if self.keeping:
                    for at in range(0, len(written), KEEP_BATCH):
                        self._keep(written[at:at + KEEP_BATCH])
                done += len(written)
                if progress is not None:
                    progress(done * 95 // total)

    def _keep(self, written: list[Written]) -> None:
        rows = [(self.study.pk, one.kind, one.subject, self.setting, self.prints.get((one.kind, one.subject), ""),
                 one.values, json.dumps(sorted(one.users)), _text(one.body), _text(one.records))
                for one in written if (one.kind, one.subject) in self.prints]
        if not rows:
            return
        table = _table(KeptOdmSubject)
        sql = (f"INSERT INTO {table} (study_id, kind, subject, setting, fingerprint, current_values, users, body, "
               f"records) "
               f"VALUES {', '.join(['(%s, %s, %s, %s, %s, %s, %s, %s, %s)'] * len(rows))} "
               f"ON CONFLICT (study_id, kind, subject) DO UPDATE SET setting = EXCLUDED.setting, "
               f"fingerprint = EXCLUDED.fingerprint, current_values = EXCLUDED.current_values, users = EXCLUDED.users, "
               f"body = EXCLUDED.body, records = EXCLUDED.records")
        params = [value for row in rows for value in row]
        # A screening since enrolled is exported as its participant: its own subject is dropped.
        sql += (f"; DELETE FROM {table} k USING {_table(Participant)} p WHERE k.study_id = %s "
                f"AND k.kind = '{SCREENING_ONLY}' AND p.screening_id = k.subject")
        params.append(self.study.pk)
        if self._read_only:  # the export's snapshot: kept through a connection of its own
            if self._keeper is None:
                self._keeper = _Keeper(self.study.code)
            self._keeper.put(sql, params)
            return
        try:
            # A cursor of the driver's: the statement (the subjects' text) is not logged (DEBUG).
            with transaction.atomic(), connection.wrap_database_errors, connection.connection.cursor() as cursor:
                cursor.execute(sql, params)
        except DatabaseError:  # kept another time; this export is written all the same
            logger.exception("ODM export of %s: the subjects written could not be kept", self.study.code)

    def copy(self, out, part: str) -> None:
        """Every subject's `part`, in order, into the binary file `out`."""
        file = self._files[part]
        file.flush()
        kept = [n for n, key in enumerate(self.order) if key in self.kept]
        merge = _Merge(out, file, self.order, self._spans, part, kept)
        if kept:
            column = {"body": "body", "records": "records"}[part]
            # Each kept row as it was read (its fingerprint and setting): one replaced meanwhile by
            # another export is not copied, and the export fails rather than mix two versions.
            sql = (f"COPY (SELECT k.{column} FROM unnest(%s::varchar[], %s::bigint[], %s::varchar[]) "
                   f"WITH ORDINALITY AS o(kind, subject, fingerprint, n) JOIN {_table(KeptOdmSubject)} k "
                   f"ON k.study_id = %s AND k.kind = o.kind AND k.subject = o.subject "
                   f"AND k.fingerprint = o.fingerprint AND k.setting = %s ORDER BY o.n) TO STDOUT (FORMAT binary)")
            keys = [self.order[n] for n in kept]
            params = [[k for k, _ in keys], [s for _, s in keys], [self.prints[key] for key in keys], self.study.pk,
                      self.setting]
            with connection.cursor() as cursor:
                cursor.copy_expert(cursor.mogrify(sql, params).decode(), merge)
        merge.finish()


class _Keeper:
    """Keeps the subjects written during an export's read-only snapshot: through a connection of its
    own (autocommit), in a thread of its own, so that the database stores a chunk while the export
    writes the next (one chunk waits at most). A failure is logged; the export goes on."""

    def __init__(self, code: str):
        self.code = code
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._run, name=f"odm-keep-{code}", daemon=True)
        self.thread.start()

    def put(self, sql: str, params: list) -> None:
        self.queue.put((sql, params))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        apart = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            while (statement := self.queue.get()) is not None:
                try:
                    apart.ensure_connection()
                    # A cursor of the driver's: the statement (the subjects' text) is not logged (DEBUG).
                    with apart.wrap_database_errors, apart.connection.cursor() as cursor:
                        cursor.execute(*statement)
                except Exception:  # noqa: BLE001 - kept another time; the queue is drained all the same
                    logger.exception("ODM export of %s: the subjects written could not be kept", self.code)
        finally:
            apart.close()


def _text(value: str) -> str:
    """The text as kept: what the document holds (a character UTF-8 cannot encode as a reference)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "xmlcharrefreplace").decode("utf-8")
    return value


_HEADER = b"PGCOPY\n\xff\r\n\x00"
# Said to the user whose export failed (in their language: the document is written in English).
CHANGED = _("The subjects kept for the ODM export changed while it ran; start the export again.")
UNREADABLE = _("The database sent the subjects kept for the ODM export in a form this server does not read; "
                   "ask the administrator.")
_HEADER_LENGTH = len(_HEADER) + 8  # the signature, the flags, the header extension's length


class _Merge:
    """The file object a binary COPY of kept parts writes into: each kept subject's part written to
    `out` after the parts of the subjects written this time that come before it. `kept`: the
    places in `order` of the kept subjects, in the order the COPY gives them."""

    def __init__(self, out, spool, order, spans, part: str, kept: list[int]):
        self.out, self.spool, self.order, self.spans, self.part = out, spool, order, spans, part
        self.kept = kept
        self.at = 0  # the next subject of `order`
        self.buffer = bytearray()
        self.header = False
        self.ended = False
        self.copied = 0

    def _written_before(self, place: int) -> None:
        while self.at < place:
            self._from_spool(self.order[self.at])
            self.at += 1

    def _from_spool(self, key) -> None:
        if key not in self.spans:
            return
        start, length = self.spans[key][self.part]
        if length:
            self.spool.seek(start)
            self.out.write(self.spool.read(length))

    def write(self, data) -> int:
        buffer = self.buffer
        buffer += data
        view, at = memoryview(buffer), 0
        try:
            if not self.header:
                if len(buffer) < _HEADER_LENGTH:
                    return len(data)
                if bytes(view[:len(_HEADER)]) != _HEADER:
                    raise DatabaseError(UNREADABLE)
                extension = struct.unpack_from("!i", buffer, len(_HEADER) + 4)[0]
                if len(buffer) < _HEADER_LENGTH + extension:
                    return len(data)
                at = _HEADER_LENGTH + extension
                self.header = True
            while len(buffer) - at >= 2:
                fields = struct.unpack_from("!h", buffer, at)[0]
                if fields == -1:
                    at += 2
                    self.ended = True
                    break
                if len(buffer) - at < 6:
                    break
                length = struct.unpack_from("!i", buffer, at + 2)[0]
                if fields != 1 or length < 0 or self.copied >= len(self.kept):
                    raise DatabaseError(UNREADABLE)
                if len(buffer) - at - 6 < length:
                    break
                place = self.kept[self.copied]
                self._written_before(place)
                self.out.write(view[at + 6:at + 6 + length])
                self.at = place + 1
                self.copied += 1
                at += 6 + length
        finally:
            view.release()
        del buffer[:at]
        return len(data)

    def finish(self) -> None:
        if self.kept and not self.ended or self.copied != len(self.kept):
            raise DatabaseError(CHANGED)
        self._written_before(len(self.order))
