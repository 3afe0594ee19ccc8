"""The participants of one study, or of every study of the user's sites: searched, filtered and
paginated (the participants page, the participant x visit grid and `GET /api/v1/participants/`).

Every role that reads participants (`Action.VIEW`) sees those of their own sites only
(`trials.scoping`); another site's participant never appears. Search matches the study number,
the initials and the screening number, ignoring case. Filters: status, arm or dose level
(``ARM`` or ``ARM:LEVEL``), disease, site and "overdue" - a participant, not withdrawn, with a
visit or an infusion whose window has passed without it being done, given or missed (the
participant page's "overdue", `followup.participant_schedule`, read here in the one statement that
lists the participants: a visit waiting for an infusion not given yet is not overdue). One page
costs the same statements for 1 and for 50 participants: the count and the page's rows.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import (BooleanField, Case, Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When,
                              Window)
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.models import Infusion
from enrollment.enums import ParticipantStatus
from enrollment.selectors import participants_visible
from trials.models import Arm, Site, Study, StudyDisease
from trials.scoping import Action, site_ids_for

from .models import Visit

PAGE_SIZE = 50
LEVEL_SEPARATOR = ":"


@dataclass(frozen=True)
class ParticipantFilters:
    """What the user asked for; empty strings (False) ask for nothing."""

    study: str = ""
    q: str = ""
    status: str = ""
    site: str = ""
    disease: str = ""
    level: str = ""  # an arm code, or "ARM:LEVEL" for one dose level of the arm
    overdue: bool = False

    @classmethod
    def from_params(cls, params, *, study: str = "") -> ParticipantFilters:
        """From a query string (`search` is taken for `q`, as API.md names it)."""
        def text(name):
            return (params.get(name) or "").strip()[:100]
        return cls(study=study or text("study"), q=text("q") or text("search"), status=text("status"),
                   site=text("site"), disease=text("disease"), level=text("level"),
                   overdue=text("overdue").lower() in ("1", "true", "yes", "on"))

    def unknown_status(self) -> bool:
        return bool(self.status) and self.status not in ParticipantStatus.values

    def query(self, *, without_study: bool = False) -> str:
        """The filters as a query string (to keep them on the next page), without the page."""
        pairs = [(f.name, getattr(self, f.name)) for f in fields(self)
                 if getattr(self, f.name) and not (without_study and f.name == "study")]
        return urlencode([(name, "1" if value is True else value) for name, value in pairs])


def require_reader(user) -> list[int]:
    """The sites whose participants the user reads; PermissionDenied (403) with none."""
    site_ids = site_ids_for(user, Action.VIEW)
    if not site_ids:
        raise PermissionDenied(_("Your role at your sites does not allow reading participants."))
    return site_ids


def overdue_condition(now: datetime) -> Case:
    """True for a participant, not withdrawn, with a visit or an infusion overdue at `now`."""
    today = timezone.localdate(now)
    visits = (Visit.objects.filter(participant=OuterRef("pk"), state="upcoming", window_end__lt=now)
              .exclude(provisional=True, definition__offset__gt=0))  # `Visit.waits_for_infusion`
    infusions = Infusion.objects.filter(participant=OuterRef("pk"), state="planned", window_end__lt=today)
    return Case(When(~Q(status=ParticipantStatus.WITHDRAWN) & (Q(Exists(visits)) | Q(Exists(infusions))),
                     then=Value(True)), default=Value(False), output_field=BooleanField())


def _level_q(level: str) -> Q:
    arm, _sep, dose_level = level.partition(LEVEL_SEPARATOR)
    q = Q(arm__code=arm)
    return q & Q(dose_level__code=dose_level) if dose_level else q


# The list's order: study, site, enrolment sequence.
ORDER = ("study__code", "site__code", "sequence", "pk")


# What a row of the list (and of `GET /api/v1/participants/`) shows of the participant and its relations
# (`participant_row`, `followup/participant_list.html`): fewer joins and columns to plan and read.
LISTED_RELATIONS = ("study", "site", "arm", "dose_level", "screening")
LISTED_FIELDS = ("study_id", "site_id", "sequence", "study_number", "arm_id", "dose_level_id", "screening_id", "status",
                 "enrolled_on", "study__code", "site__code", "arm__code", "dose_level__code", "dose_level__label",
                 "dose_level__label_zh", "screening__initials", "screening__number", "screening__disease")


def participants_shown(user, *, now: datetime | None = None, locks: bool = True):
    """The participants of the user's sites as a list shows them (with study, site, arm, dose level
    and screening, annotated with `overdue`) in the list's order, unfiltered: the rows of a page,
    chosen by their keys (`KeyedPaginator`). With `locks` (the grid), the whole rows with the
    casebook's and the study's locks (`enrollment.locks.lock_of`); without, what the list shows."""
    rows = participants_visible(user)
    if not locks:
        rows = rows.select_related(None).select_related(*LISTED_RELATIONS).only(*LISTED_FIELDS)
    return rows.annotate(overdue=overdue_condition(now or timezone.now())).order_by(*ORDER)


def user_sites(user, study: Study | None = None) -> list[Site]:
    """The user's sites (those whose participants they read) by code, each with `in_study` (True
    without a study: a site of `study` otherwise). One statement: the sites filter's choices
    (`filter_choices`) and the list's order (`participants_listed`)."""
    sites = Site.objects.filter(pk__in=site_ids_for(user, Action.VIEW)).only("code")
    in_study = (Exists(Study.sites.through.objects.filter(site_id=OuterRef("pk"), study_id=study.pk))
                if study is not None else Value(True))
    return list(sites.annotate(in_study=in_study).order_by("code"))


def _site_rank(sites: list[Site]) -> Case:
    """The rank of a participant's site among `sites` (by code): the list's order by site without
    joining the sites to every participant listed."""
    return Case(*(When(site_id=site.pk, then=Value(rank)) for rank, site in enumerate(sites)),
                default=Value(len(sites)), output_field=IntegerField())


def participants_listed(user, filters: ParticipantFilters, *, now: datetime | None = None,
                        sites: list[Site] | None = None):
    """The participants of the user's sites that `filters` keep, annotated with `overdue`, by
    study, site and enrolment sequence (a queryset: nothing is read yet). With the user's `sites`
    (`user_sites`: every site of theirs, by code), the sites are ordered by their rank in it."""
    rows = participants_shown(user, now=now)
    site_order = _site_rank(sites).asc() if sites else "site__code"
    if filters.study:
        # One study: its key found once (a scalar subquery) and the study's code left out of the
        # order (the same for every row), so neither the sites nor the studies are joined to the keys
        rows = rows.filter(study_id=Subquery(Study.objects.filter(code=filters.study).values("pk")[:1]))
        rows = rows.order_by(site_order, "sequence", "pk")
    elif sites:
        rows = rows.order_by("study__code", site_order, "sequence", "pk")
    if filters.q:
        rows = rows.filter(Q(study_number__icontains=filters.q) | Q(screening__initials__icontains=filters.q)
                           | Q(screening__number__icontains=filters.q))
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.site:
        rows = rows.filter(site__code=filters.site)
    if filters.disease:
        rows = rows.filter(screening__disease=filters.disease)
    if filters.level:
        rows = rows.filter(_level_q(filters.level))
    if filters.overdue:
        rows = rows.filter(overdue=True)
    return rows


class KeyedPaginator(Paginator):
    """A paginator of an ordered queryset that reads a page's keys, then its rows by their keys: the
    first statement orders the filtered list's keys alone (and counts them, unless counted already),
    the second reads the page's rows from `shown` (what the page shows of each: joined, annotated,
    prefetched, in the same order) by their keys - a page of 50 of 10,000 participants neither joins
    nor annotates nor sorts 10,000 wide rows. `shown` defaults to the queryset itself."""

    def __init__(self, object_list, per_page, *, shown=None):
        super().__init__(object_list, per_page)
        self.shown = object_list if shown is None else shown

    def page(self, number):
        if "count" in self.__dict__:
            number = self.validate_number(number)
            keys = list(self.object_list.values_list("pk", flat=True)[(number - 1) * self.per_page:][:self.per_page])
        else:
            try:
                number = int(number)
            except (TypeError, ValueError):
                raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
            if number < 1:
                raise EmptyPage(self.error_messages["min_page"])
            bottom = (number - 1) * self.per_page
            rows = list(self.object_list.annotate(listed=Window(Count("pk"))).values_list("pk", "listed")
                        [bottom:bottom + self.per_page])
            # No key on the first page: nothing is listed (no statement to count them).
            self.count = rows[0][1] if rows else 0 if bottom == 0 else self.object_list.count()
            if not rows:
                number = self.validate_number(number)  # EmptyPage beyond the last page
            keys = [pk for pk, _listed in rows]
        return self._get_page(self.shown.filter(pk__in=keys), number, self)

    def get_page(self, number):
        """As `Paginator.get_page`, the page counted with its keys."""
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)


def page_of(rows, number, *, shown=None, per_page: int | None = None) -> Page:
    """The page `number` (1 for a missing or bad one, the last beyond the end) of `PAGE_SIZE`
    rows, read from `shown` (`KeyedPaginator`): two statements (the keys with their count, the rows;
    a page beyond the last one costs two more)."""
    return KeyedPaginator(rows, per_page or PAGE_SIZE, shown=shown).get_page(number)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def filter_choices(user, study: Study | None, sites: list[Site] | None = None) -> dict[str, list[Choice]]:
    """The values each filter offers: the user's sites (of the study), the statuses, the arms and
    dose levels and the diseases of the study (of the user's studies). Four statements; three with
    the user's `sites` (`user_sites` of the same study) read already."""
    sites = user_sites(user, study) if sites is None else sites
    studies = Study.objects.filter(pk=study.pk) if study else Study.objects.visible_to(user)
    arms = Arm.objects.filter(study__in=studies).select_related("study").prefetch_related("dose_levels")
    several = study is None
    levels = []
    for arm in arms.order_by("study__code", "code"):
        prefix = f"{arm.study.code} " if several else ""
        levels.append(Choice(arm.code, f"{prefix}{arm.code}"))
        for level in sorted(arm.dose_levels.all(), key=lambda lv: lv.order):
            levels.append(Choice(f"{arm.code}{LEVEL_SEPARATOR}{level.code}",
                                 f"{prefix}{arm.code} · {level.label or level.code}"))
    diseases = sorted(set(StudyDisease.objects.filter(study__in=studies).values_list("disease", flat=True)))
    return {"sites": [Choice(s.code, s.code) for s in sites if s.in_study],
            "statuses": [Choice(value, label) for value, label in ParticipantStatus.choices],
            "levels": levels, "diseases": [Choice(code, code) for code in diseases]}


_KEY = 987654321  # a participant's key in the address reversed once a page


def with_links(participants) -> list:
    """The page's participants (read here), each with the address of its page (`detail_url`) and of
    its study's list (`study_url`): reversed once a page and once a study rather than twice a row."""
    rows = list(participants)
    detail = reverse("participant-detail", args=[_KEY])
    studies: dict[str, str] = {}
    for row in rows:
        row.detail_url = detail.replace(str(_KEY), str(row.pk))
        code = row.study.code
        if code not in studies:
            studies[code] = reverse("study-participants", args=[code])
        row.study_url = studies[code]
    return rows


def participant_row(participant) -> dict:
    """A participant as the list shows it and the API gives it."""
    level = participant.dose_level
    return {"id": participant.pk, "study_number": participant.study_number,
            "initials": participant.screening.initials, "screening_number": participant.screening.number,
            "study": participant.study.code, "site": participant.site.code, "arm": participant.arm.code,
            "dose_level": level.code if level else None, "disease": participant.screening.disease,
            "status": participant.status, "enrolled_on": participant.enrolled_on.isoformat(),
            "overdue": participant.overdue}
