"""SDV progress per site of a study counted in the database: the same figures as `followup.sdv`'s
`study_sdv` (plan items held by complete records, and those verified at the record's version),
without reading a record: one aggregate query per kind of case report form, whatever the number of
participants (the study page).

Under the key-items plan every item is a field, a lab or the prior-therapy history, each of which
the database can tell held or not; the all-items plan adds the study-defined answers (a JSON object
whose non-empty values are counted), so it is counted through `followup.sdv.study_sdv`.

A tick counts when it is at the record's current version and names a plan item: the verification
service ticks only items the record holds at that version, and every saved change moves the version
on (`followup.record_states`), so such a tick names an item still held.
"""
from __future__ import annotations

from django.db.models import (Case, CharField, Count, F, IntegerField, JSONField, OuterRef, Q, Subquery, Sum,
                              TextField, Value, When)
from django.db.models.functions import Coalesce

from enrollment.models import Participant, ScreeningLab
from trials.scoping import Action, site_ids_for

from .models import LabResult
from .record_refs import KINDS, KEY_ANALYTES
from .sdv import Progress, SiteProgress, plan_scope, study_sdv
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


def _lab_counts(kind: str):
    """(labs held that are plan items, those verified at the record's version), per record."""
    if kind == "screening":  # every screening lab is a key item
        labs = ScreeningLab.objects.filter(screening=OuterRef("pk"))
    else:
        labs = LabResult.objects.filter(assessment=OuterRef("pk"), analyte__in=KEY_ANALYTES)
    held = Coalesce(Subquery(labs.order_by().values(labs.model._meta.get_field(
        "screening" if kind == "screening" else "assessment").attname).annotate(
        n=Count("analyte", distinct=True)).values("n"), output_field=IntegerField()), 0)
    ticks = ItemVerification.objects.filter(record_kind=kind, record_pk=OuterRef("pk"),
                                            record_version=OuterRef("row_version"))
    ticks = ticks.filter(item_code__startswith="lab:") if kind == "screening" else \
        ticks.filter(item_code__in=[f"lab:{code}" for code in KEY_ANALYTES])
    return held, ticks


def _kind_sums(kind: str, study, site_ids) -> dict[int, Progress]:
    definition = KINDS[kind]
    model = definition.model_class()
    path = definition.participant_path
    codes = [item.code for item in definition.items if item.key]
    required = sum((Case(When(_held(model, code), then=Value(1)), default=Value(0), output_field=IntegerField())
                    for code in codes), Value(0))
    version = OuterRef("row_version") if any(f.name == "row_version" for f in model._meta.concrete_fields) else 1
    ticks = ItemVerification.objects.filter(record_kind=kind, record_pk=OuterRef("pk"), record_version=version,
                                            item_code__in=codes)
    verified = _tick_count(ticks)
    if definition.labs:
        held_labs, lab_ticks = _lab_counts(kind)
        required = required + held_labs
        verified = verified + _tick_count(lab_ticks)
    rows = (model.objects.filter(**{f"{path}__study": study, f"{path}__site_id__in": site_ids})
            .exclude(NOT_ENTERED.get(kind, Q(pk__in=[])))
            .annotate(sdv_required=required, sdv_verified=verified)
            .values(sdv_site=F(f"{path}__site_id"))
            .annotate(required=Sum("sdv_required"), verified=Sum("sdv_verified")).order_by())
    return {row["sdv_site"]: Progress(required=row["required"] or 0, verified=row["verified"] or 0) for row in rows}


def _tick_count(ticks):
    return Coalesce(Subquery(ticks.order_by().values("record_pk").annotate(n=Count("*")).values("n"),
                             output_field=IntegerField()), 0)


def study_sdv_sites(study, user, action: Action = Action.VIEW) -> list[SiteProgress]:
    """The SDV progress of each of the study's sites where the user's role allows `action` (in site
    code order), as `study_sdv` counts it: a constant number of queries."""
    if plan_scope(study) != "key":
        return study_sdv(study, user, action)[1]
    allowed = set(site_ids_for(user, action))
    sites = [site for site in study.sites.all() if site.pk in allowed]
    by_site = {site.pk: SiteProgress(site=site, participants=0, progress=Progress()) for site in sites}
    site_ids = list(by_site)
    for row in (Participant.objects.filter(study=study, site_id__in=site_ids).values("site_id")
                .annotate(n=Count("pk")).order_by()):
        by_site[row["site_id"]].participants = row["n"]
    if not any(row.participants for row in by_site.values()):
        return list(by_site.values())
    for kind in KINDS:
        for site_id, sums in _kind_sums(kind, study, site_ids).items():
            by_site[site_id].progress.required += sums.required
            by_site[site_id].progress.verified += sums.verified
    return list(by_site.values())
