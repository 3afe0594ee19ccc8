"""Reads of data queries for the pages, each a fixed number of statements whatever the number of
queries: a participant's queries not closed (one), the worklist's queries to answer and to close
(one), a study's counts per site (one)."""
from __future__ import annotations

from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from trials.scoping import Action, site_ids_for, site_roles

from .query_models import DataQuery, QueryState


def participant_queries(participant) -> list[DataQuery]:
    """The participant's queries not closed, oldest first (one statement)."""
    return list(DataQuery.objects.filter(participant=participant).exclude(state=QueryState.CLOSED)
                .select_related("opened_by").order_by("opened_at", "id"))


def record_labels(participant) -> dict[tuple[str, int], str]:
    """{(record kind, id): how the participant page names the record}, from the relations the page
    has loaded (assessments, infusions, visits, adverse events, screening and consents)."""
    labels: dict[tuple[str, int], str] = {("screening", participant.screening.pk): _("Screening")}
    for consent in participant.screening.consents.all():
        labels[("consent", consent.pk)] = _("Consent %(version)s") % {"version": consent.version}
    visits = {v.pk: v.code for v in participant.visits.all()}
    for assessment in participant.assessments.all():
        labels[("assessment", assessment.pk)] = _("Assessment of %(date)s") % {"date": assessment.date.isoformat()} + (
            f" ({visits[assessment.visit_id]})" if assessment.visit_id in visits else "")
    for infusion in participant.infusions.all():
        labels[("infusion", infusion.pk)] = _("Infusion %(n)d") % {"n": infusion.number}
    for pk, code in visits.items():
        labels[("visit", pk)] = _("Visit %(code)s") % {"code": code}
    for event in participant.adverse_events.all():
        labels[("adverse_event", event.pk)] = _("Adverse event %(term)s") % {"term": event.shown_term}
    return labels


def worklist_queries(user) -> tuple[list[DataQuery], list[DataQuery]]:
    """(open queries to answer at the sites where the user's role answers them, answered queries
    the user closes: those they opened, an edit check's, and any at a site where they are the data
    manager), oldest first, in one statement."""
    answer_sites = site_ids_for(user, Action.ANSWER_QUERY)
    close_sites = site_ids_for(user, Action.CLOSE_QUERY)
    managed = [site for site, role in site_roles(user).items() if role == "data_manager"]
    to_close = Q(state=QueryState.ANSWERED, participant__site_id__in=close_sites) & (
        Q(opened_by=user) | Q(opened_by__isnull=True) | Q(participant__site_id__in=managed))
    to_answer = Q(state=QueryState.OPEN, participant__site_id__in=answer_sites)
    if not answer_sites and not close_sites:
        return [], []
    rows = list(DataQuery.objects.filter(to_answer | to_close).select_related("participant", "opened_by")
                .order_by("opened_at", "id"))
    return ([q for q in rows if q.state == QueryState.OPEN], [q for q in rows if q.state == QueryState.ANSWERED])


def study_query_counts(user, study) -> list[dict]:
    """Per site of the study the user sees: [{site, open, answered}] of the queries not closed
    (one statement)."""
    return list(DataQuery.objects.filter(participant__study=study, participant__site_id__in=site_ids_for(user))
                .exclude(state=QueryState.CLOSED).values(site=F("participant__site__code"))
                .annotate(open=Count("id", filter=Q(state=QueryState.OPEN)),
                          answered=Count("id", filter=Q(state=QueryState.ANSWERED)))
                .order_by("site"))



def query_wanted(request) -> str:
    """The data query a correction page was asked to answer (`?query=` on the link from the query
    page, then the form's hidden `query`), as given; empty when none."""
    return (request.POST.get("query") or request.GET.get("query") or "").strip()


def query_on_record(user, wanted: str, *, kind: str, pk: int) -> DataQuery | None:
    """The query `wanted` (`query_wanted`) when it is one on the record `kind`/`pk` that `user`
    sees, whatever its state (the correction's service refuses one no longer open); else None."""
    if not wanted.isdigit() or not 0 < int(wanted) < 2 ** 63:
        return None
    return DataQuery.objects.visible_to(user).filter(pk=int(wanted), record_kind=kind, record_pk=pk).first()
