"""The catalogues as the application reads them: one immutable snapshot per process, renewed on
the next request after any catalogue row changes, in this process or another.

Reading the catalogues costs no SQL statement per request (the query budgets count none): the
snapshot is kept in the process with the generation it was read at, and a generation token in
Django's cache (shared by every process: Redis in production) names the current one. Every save
or deletion of a catalogue row gives the cache a new token once its transaction commits, so that
each process compares tokens on its next read and rereads the five tables once. A token missing
from the cache (evicted, cache restarted) is replaced by a new one, which makes every process
reread: a change made while the cache was down is never missed. When the cache cannot be reached
at all, every read goes to the database.

Inside a transaction that has changed a catalogue row, reads go to the database (the change is
visible there and nowhere else) and nothing is kept: should the transaction roll back, the
snapshot of the committed rows still holds.
"""
from __future__ import annotations

import logging
import uuid
from types import MappingProxyType

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import post_delete, post_save

from .catalogue import Catalogue, DiseaseEntry, TherapyEntry
from .catalogue_names import shown_name
from .catalogue_models import Analyte, AnalyteReferenceRange, AnalyteUnit, Disease, Therapy
from .units import Analyte as AnalyteSpec
from .units import DefaultRange

__all__ = ["GENERATION_KEY", "catalogue_changed", "code_label", "current", "keep_snapshot_generation",
           "read_catalogue"]

logger = logging.getLogger(__name__)

GENERATION_KEY = "trials:catalogue-generation"
CATALOGUE_MODELS = (Disease, Therapy, Analyte, AnalyteUnit, AnalyteReferenceRange)

# (generation token, catalogue) of this process; replaced whole, never changed in place.
_snapshot: tuple[str, Catalogue] | None = None
# The connection attribute marking the transaction (its outermost atomic block) that changed a row.
_DIRTY = "_catalogue_changed_in"


def read_catalogue() -> Catalogue:
    """The catalogues from the database (five statements)."""
    analytes = {}
    for row in Analyte.objects.prefetch_related("units", "reference_ranges"):
        analytes[row.code] = AnalyteSpec(
            code=row.code, label=shown_name(row.name), si_unit=row.si_unit,
            units={row.si_unit: 1.0, **{u.unit: u.factor for u in row.units.all()}},
            physiological_range=(row.plausible_low, row.plausible_high),
            default_ranges=tuple(
                DefaultRange(analyte=row.code, sex=r.sex, min_age_years=r.min_age_years,
                             max_age_years=r.max_age_years, lln=r.lln, uln=r.uln)
                for r in row.reference_ranges.all()),
        )
    therapies = {t.code: TherapyEntry(code=t.code, name=shown_name(t.name), therapy_class=t.therapy_class)
                 for t in Therapy.objects.all()}
    # Read-only views: one snapshot is shared by every request of the process.
    return Catalogue(diseases=MappingProxyType(_diseases()), therapies=MappingProxyType(therapies),
                     analytes=MappingProxyType(analytes))


def _diseases() -> dict[str, DiseaseEntry]:
    return {code: DiseaseEntry(code=code, name=shown_name(name), lineages=tuple(lineages or ()),
                               response_criteria=criteria)
            for code, name, lineages, criteria in Disease.objects.values_list(
                "code", "name", "lineages", "response_criteria__code")}


def _changed_in_this_transaction(connection) -> bool:
    marker = getattr(connection, _DIRTY, None)
    if marker is None:
        return False
    if connection.in_atomic_block and connection.atomic_blocks and connection.atomic_blocks[0] is marker:
        return True
    # The transaction that changed a row has ended without committing: the snapshot still holds.
    setattr(connection, _DIRTY, None)
    return False


def _token() -> str | None:
    """The current generation token, a new one if the cache has none; None if the cache is down."""
    try:
        token = cache.get(GENERATION_KEY)
        if token is None:
            cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
            token = cache.get(GENERATION_KEY)
        return token
    except Exception:  # noqa: BLE001 - any failure of the cache backend: read the database instead
        logger.warning("Catalogue generation unavailable from the cache; reading the database.", exc_info=True)
        return None


def current() -> Catalogue:
    """The catalogues as committed, from this process's snapshot when it is current."""
    global _snapshot
    if _changed_in_this_transaction(connections[DEFAULT_DB_ALIAS]):
        return read_catalogue()
    token = _token()  # read before the tables: a change committed meanwhile gives a newer token
    if token is None:
        return read_catalogue()
    snapshot = _snapshot
    if snapshot is not None and snapshot[0] == token:
        return snapshot[1]
    catalogue = read_catalogue()
    _snapshot = (token, catalogue)
    return catalogue


def code_label(field_name: str, code) -> str | None:
    """How a record's catalogue code reads in the audit trail, as when the codes were fixed choices:
    a disease or therapy by its name, an analyte as "code - name"; None for any other field or code."""
    if field_name not in ("disease", "therapy", "analyte"):
        return None
    catalogue = current()
    if field_name == "disease" and code in catalogue.diseases:
        return catalogue.diseases[code].name
    if field_name == "therapy" and code in catalogue.therapies:
        return catalogue.therapies[code].name
    if field_name == "analyte" and code in catalogue.analytes:
        return f"{code} - {catalogue.analytes[code].label}"
    return None


def keep_snapshot_generation() -> None:
    """Put this process's snapshot generation back into a cache that was emptied while the tables
    stayed as they were (the tests' fresh cache; the snapshot holds committed rows only)."""
    if _snapshot is not None:
        cache.set(GENERATION_KEY, _snapshot[0], timeout=None)


def _new_generation() -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    setattr(connection, _DIRTY, None)
    try:
        cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # noqa: BLE001 - the processes will read the database while the cache is down
        logger.warning("Could not renew the catalogue generation in the cache.", exc_info=True)


def catalogue_changed(**kwargs) -> None:
    """A catalogue row was saved or deleted: read the database until the transaction ends, and
    give every process a new generation when it commits."""
    connection = connections[kwargs.get("using") or DEFAULT_DB_ALIAS]
    if connection.in_atomic_block:
        setattr(connection, _DIRTY, connection.atomic_blocks[0])
    transaction.on_commit(_new_generation, using=connection.alias)


for _model in CATALOGUE_MODELS:
    post_save.connect(catalogue_changed, sender=_model, dispatch_uid=f"catalogue-changed-save-{_model.__name__}")
    post_delete.connect(catalogue_changed, sender=_model, dispatch_uid=f"catalogue-changed-delete-{_model.__name__}")
