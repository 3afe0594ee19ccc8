"""SDV progress per site of a study counted in the database: the same figures as `followup.sdv`'s
`study_sdv` (plan items held by complete records, and those verified at the record's version),
in grouped aggregates (the plan's fields held per kind of case report form, the labs held, the ticks
that count), whatever the number of participants (the study page).

Under the key-items plan every item is a field, a lab or the prior-therapy history, each of which
the database can tell held or not; the all-items plan adds the study-defined answers (a JSON object
whose non-empty values are counted), so it is counted through `followup.sdv.study_sdv`.

A tick counts when it is at the record's current version and names a plan item: the verification
service ticks only items the record holds at that version, and every saved change moves the version
on (`followup.record_states`), so such a tick names an item still held.
"""
from __future__ import annotations

import json
from functools import lru_cache

from django.db import connection
from django.db.models import (Case, CharField, Count, Exists, F, IntegerField, JSONField, OuterRef, Q, Sum, TextField,
                              Value, When)
from django.db.models.expressions import RawSQL

from enrollment.models import ScreeningLab
from trials.scoping import Action, site_ids_for

from .models import LabResult
from .record_refs import KINDS, KEY_ANALYTES
from .sdv import Progress, SiteProgress, plan_scope, study_sdv
from .sdv_counts import NAMED_LIMIT, kept_by_site
from .sdv_models import ItemVerification

# Records outside the progress: in progress (nothing to verify yet) or not an adverse event at all.
NOT_ENTERED = {"adverse_event": Q(status__in=("draft", "dismissed")), "infusion": Q(state="planned"),
               "visit": Q(state="upcoming")}


def _held(model, code: str) -> Q:
    """The record holds the field `code` (`followup.record_values`: not None, "", [] or {})."""
    if code == "prior_therapies":
        return Q(prior_therapies_recorded=True)
    field = model._meta.get_field(code)
    held = Q(**{f"{code}__isnull": False})
    if isinstance(field, JSONField):
        return held & ~Q(**{code: None}) & ~Q(**{code: ""}) & ~Q(**{code: []}) & ~Q(**{code: {}})
    if isinstance(field, CharField | TextField):
        return held & ~Q(**{code: ""})
    return held


def _entered(kind: str):
    """The records of `kind` counted in the progress: complete (`followup.record_states.entered_state`)."""
    return KINDS[kind].model_class().objects.exclude(NOT_ENTERED.get(kind, Q(pk__in=[])))


def _of(path: str, study, site_ids, only) -> dict:
    """The filter of rows reached from the participant by `path`: the study's participants at
    `site_ids`, and among `only` (a queryset of participants) when given."""
    found = {f"{path}__study": study, f"{path}__site_id__in": site_ids}
    if only is not None:
        found[f"{path}__in"] = only
    return found


def _key(path: str, by: str) -> F:
    """What the figures are grouped by: the participant's site ("site") or the participant."""
    return F(f"{path}__site_id") if by == "site" else F(path if path == "participant" else f"{path}__id")


def _held_fields(kind: str, study, site_ids, *, by: str = "site", only=None):
    """Site (or participant) id `sdv_key` -> the plan's fields held by the complete records of
    `kind`, `held` (one query)."""
    definition = KINDS[kind]
    model, path = definition.model_class(), definition.participant_path
    held = sum((Case(When(_held(model, item.code), then=Value(1)), default=Value(0), output_field=IntegerField())
                for item in definition.items if item.key), Value(0))
    return (_entered(kind).filter(**_of(path, study, site_ids, only))
            .values(sdv_key=_key(path, by)).annotate(held=Sum(held)).order_by())


def _held_labs(kind: str, study, site_ids, *, by: str = "site", only=None):
    """Site (or participant) id `sdv_key` -> the labs of the plan held by the records of `kind`,
    `held` (every screening lab, the key analytes of an assessment; one value per analyte and
    record: a constraint)."""
    if kind == "screening":
        labs, path = ScreeningLab.objects.all(), "screening__participant"
    else:
        labs, path = LabResult.objects.filter(analyte__in=KEY_ANALYTES), "assessment__participant"
    return (labs.filter(**_of(path, study, site_ids, only))
            .values(sdv_key=_key(path, by)).annotate(held=Count("pk")).order_by())


def _ticks_counted(study, site_ids, *, by: str = "site", only=None):
    """Site (or participant) id `sdv_key` -> the ticks at their record's current version that name
    an item of the plan, of complete records, `held` (one query: it reads the ticks, not the records)."""
    counted = Q()
    for kind, definition in KINDS.items():
        model = definition.model_class()
        codes = Q(item_code__in=[item.code for item in definition.items if item.key])
        if kind == "screening":
            codes |= Q(item_code__startswith="lab:")
        elif definition.labs:
            codes |= Q(item_code__in=[f"lab:{code}" for code in KEY_ANALYTES])
        current = _entered(kind).filter(pk=OuterRef("record_pk"))
        if any(f.name == "row_version" for f in model._meta.concrete_fields):
            current = current.filter(row_version=OuterRef("record_version"))
        else:  # written once: version 1 (`followup.record_states.record_version`)
            codes &= Q(record_version=1)
        counted |= Q(record_kind=kind) & codes & Exists(current)
    return (ItemVerification.objects.filter(**_of("participant", study, site_ids, only))
            .filter(counted).values(sdv_key=_key("participant", by)).annotate(held=Count("pk")).order_by())


def _figure_queries(study, site_ids, *, by: str, only) -> list:
    """The queries of `key_plan_figures`: each kind's fields held (and labs held), then the ticks
    counted last; each reads rows (`sdv_key`, `held`)."""
    queries = []
    for kind, definition in KINDS.items():
        queries.append(_held_fields(kind, study, site_ids, by=by, only=only))
        if definition.labs:
            queries.append(_held_labs(kind, study, site_ids, by=by, only=only))
    return [*queries, _ticks_counted(study, site_ids, by=by, only=only)]


def _figures_of(rows_per_query) -> dict[int, list[int]]:
    """[required, verified] per key from each query's (sdv_key, held) rows, the ticks' last."""
    found: dict[int, list[int]] = {}
    *held_rows, ticks = rows_per_query
    for rows in held_rows:
        for key, held in rows:
            found.setdefault(key, [0, 0])[0] += held or 0
    for key, verified in ticks:
        found.setdefault(key, [0, 0])[1] = verified
    return found


def key_plan_figures(study, site_ids, *, by: str = "site", only=None) -> dict[int, list[int]]:
    """Site (or participant, `by`) id -> [plan items to verify, verified] under the key-items plan,
    of the study's participants at `site_ids` (among `only`, a queryset of participants, when
    given), counted from the records: nine queries whatever their number."""
    return _figures_of([query.values_list("sdv_key", "held") for query in
                        _figure_queries(study, site_ids, by=by, only=only)])


class _StaleIds:
    """Where the participant ids go among the parameters of a statement built once (`_named_statement`)."""


def _ids_subquery() -> RawSQL:
    """The ids given as one parameter (a list, a JSON array on SQLite), so that the statement's text
    does not depend on how many there are."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT UNNEST(%s::bigint[])", (_StaleIds,))
    return RawSQL("SELECT value FROM json_each(%s)", (_StaleIds,))


@lru_cache(maxsize=256)
def _named_statement(alias: str, vendor: str, study_id: int, site_ids: tuple[int, ...]) -> tuple[str, tuple]:
    """The queries of `key_plan_figures` by site among given participants as one statement (a UNION
    ALL, each row tagged with its query's place), built by the ORM once per study and sites in the
    process: building the nine queries' expressions cost more than running them for a few participants."""
    parts, params = [], []
    for place, query in enumerate(_figure_queries(study_id, list(site_ids), by="site", only=_ids_subquery())):
        sql, query_params = query.query.sql_with_params()
        parts.append(f"SELECT {place} AS place, figures.sdv_key, figures.held FROM ({sql}) figures")
        params.extend(query_params)
    return " UNION ALL ".join(parts), tuple(params)


def named_figures(study, site_ids, participant_ids) -> dict[int, list[int]]:
    """`key_plan_figures(study, site_ids, only=<those participants>)` by site, in one statement."""
    if not participant_ids or not site_ids:  # no statement: nothing to count (an empty `IN` is not SQL)
        return {}
    sql, params = _named_statement(connection.alias, connection.vendor, study.pk, tuple(site_ids))
    ids = list(participant_ids) if connection.vendor == "postgresql" else json.dumps(list(participant_ids))
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids if param is _StaleIds else param for param in params])
        rows = cursor.fetchall()
    per_query = [[] for _ in range(sum(2 if definition.labs else 1 for definition in KINDS.values()) + 1)]
    for place, key, held in rows:
        per_query[place].append((key, held))
    return _figures_of(per_query)



def study_sdv_sites(study, user, action: Action = Action.VIEW) -> list[SiteProgress]:
    """The SDV progress of each of the study's sites where the user's role allows `action` (in site
    code order), as `study_sdv` counts it: each participant's figures as kept (`followup.sdv_counts`),
    those of the participants whose records changed since they were last counted counted here from
    their records. A constant number of queries: one more while a few participants wait to be
    counted again (`named_figures`), nine while most do."""
    if plan_scope(study) != "key":
        return study_sdv(study, user, action)[1]
    allowed = set(site_ids_for(user, action))
    sites = [site for site in study.sites.all() if site.pk in allowed]
    by_site = {site.pk: SiteProgress(site=site, participants=0, progress=Progress()) for site in sites}
    site_ids = list(by_site)
    stale: list[int] = []
    for row in by_site.values():  # counted below, zero at a site without participants
        row.locked = 0
    for row in kept_by_site(study, site_ids):
        progress = by_site[row["site_id"]]
        progress.participants, progress.locked = row["participants"], row["locked"]
        progress.progress.required, progress.progress.verified = row["required"] or 0, row["verified"] or 0
        stale.extend(int(pk) for pk in (row["stale_ids"] or "").split(",") if pk)
    if not stale:
        return list(by_site.values())
    if len(stale) > NAMED_LIMIT:  # most wait: every participant counted from the records
        for row in by_site.values():
            row.progress.required = row.progress.verified = 0
        figures = key_plan_figures(study, site_ids)
    else:
        figures = named_figures(study, site_ids, stale)
    for site_id, (required, verified) in figures.items():
        by_site[site_id].progress.required += required
        by_site[site_id].progress.verified += verified
    return list(by_site.values())
