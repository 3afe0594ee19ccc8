"""Reads of screenings and participants, and the facts the eligibility rules evaluate."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Prefetch, Q, Subquery
from django.shortcuts import get_object_or_404

from trials import catalogues
from trials.models import Arm, DoseLevel
from trials.scoping import Action, require
from trials.units import DefaultRange

from . import eligibility as rules
from .consort import ConsortCounts, ConsortFilter, consort_counts  # noqa: F401 (the screening log reads them here)
from .models import Consent, Participant, Screening


def site_reference_range(ranges, analyte: str, sex: str | None, age: int | None):
    """The site's range for the analyte: the patient's age band, sex-specific before "any"; when the
    site has none, the lab catalogue's default range (a `trials.units.DefaultRange`) chosen alike.

    Without a known age only rows that cover every age (0-150) qualify; without a known sex only
    "any" rows do, so that a range is never guessed.
    """
    found = _range_of(ranges, analyte, sex, age)
    if found is None:
        catalogued = catalogues.current().analytes.get(analyte)
        found = _range_of(catalogued.default_ranges, analyte, sex, age) if catalogued else None
    return found


def range_source_name(found) -> str:
    """How a lab's `range_source` names where a limit it did not give came from."""
    return "catalogue" if isinstance(found, DefaultRange) else "site"


def _range_of(ranges, analyte: str, sex: str | None, age: int | None):
    candidates = []
    for row in ranges:
        if row.analyte != analyte:
            continue
        if row.sex != "any" and row.sex != sex:
            continue
        if age is None:
            if (row.min_age_years, row.max_age_years) != (0, 150):
                continue
        elif not row.min_age_years <= age <= row.max_age_years:
            continue
        candidates.append(row)
    if not candidates:
        return None
    return min(candidates, key=lambda r: (r.sex == "any", r.max_age_years - r.min_age_years))


def screening_facts(screening: Screening, *, labs=None, therapies=None) -> rules.Facts:
    """The facts of a screening; `labs`/`therapies` (rows not written yet) stand for its own."""
    labs = {
        lab.analyte: rules.Lab(value=lab.value, lln=lab.lln, uln=lab.uln, date=lab.sampled_on)
        for lab in (screening.labs.all() if labs is None else labs)
    }
    courses = screening.prior_therapies.all() if therapies is None else therapies
    therapies = None
    if screening.prior_therapies_recorded:
        therapies = tuple(
            rules.PriorTherapy(therapy=t.therapy, start=t.start, end=t.end, outcome=t.outcome, dose_text=t.dose_text)
            for t in courses
        )
    return rules.Facts(
        screening_date=screening.screening_date,
        birth_date=screening.birth_date,
        sex=screening.sex or None,
        weight_kg=screening.weight_kg,
        height_cm=screening.height_cm,
        disease=screening.disease or None,
        diagnosis_date=screening.diagnosis_date,
        ecog=screening.ecog,
        labs=labs,
        prior_therapies=therapies,
        items=dict(screening.items),
        analytes=catalogues.current().analytes,
    )


def screenings_visible(user, action: Action = Action.VIEW):
    return (
        Screening.objects.visible_to(user, action)
        .select_related("study", "site", "participant", "eligibility_confirmed_by")
        .prefetch_related(
            "labs", Prefetch("prior_therapies"), Prefetch("consents", queryset=Consent.objects.order_by("signed_at"))
        )
    )


def with_first_consent(screenings):
    """Screenings that carry `first_consent_signed_at` (or None), read in the same query: what
    enrolment checks of the consent."""
    first = Consent.objects.filter(screening=OuterRef("pk")).order_by("signed_at").values("signed_at")[:1]
    return screenings.annotate(first_consent_signed_at=Subquery(first))


def screening_log(user, *, study=None, outcome: str | None = None):
    """Screenings of the user's sites for the log page, newest first, filterable."""
    queryset = (
        Screening.objects.visible_to(user).select_related("study", "site", "participant").prefetch_related("consents")
    )
    if study is not None:
        queryset = queryset.filter(study=study)
    if outcome == "eligible":
        queryset = queryset.filter(eligible=True, participant__isnull=True)
    elif outcome == "screen_failure":
        queryset = queryset.filter(eligible=False)
    elif outcome == "pending":
        queryset = queryset.filter(eligible__isnull=True)
    elif outcome == "enrolled":
        queryset = queryset.filter(participant__isnull=False)
    elif outcome == "withdrawn":
        queryset = queryset.filter(participant__status="withdrawn")
    return queryset.order_by("-created_at", "-id")


def participants_visible(user, action: Action = Action.VIEW):
    return Participant.objects.visible_to(user, action).select_related(
        "study", "site", "arm", "dose_level", "screening", "locked_by", "study__locked_by"
    )


def participant_for(user, pk, action: Action = Action.VIEW, *prefetch: str) -> Participant:
    """The participant if the user's sites see it (else 404) and, for an action other than VIEW,
    the user's role at its site allows that action (else 403)."""
    participant = get_object_or_404(participants_visible(user).prefetch_related(*prefetch), pk=pk)
    if action != Action.VIEW:
        require(user, action, [participant.site_id])
    return participant


@dataclass(frozen=True)
class EnrolmentOption:
    """An arm, or one dose level of it, a patient can be enrolled into, with the places taken.

    `taken` counts the level's participants who are not withdrawn, as the enrolment service's
    group cap does (across all sites: a cap is study-wide).
    """

    arm: Arm
    level: DoseLevel | None
    taken: int


def enrolment_options(study) -> list[EnrolmentOption]:
    """Every arm without levels and every dose level of the study, in order (2 queries + 1)."""
    taken = dict(
        Participant.objects.filter(study=study, dose_level__isnull=False)
        .holding_a_place()
        .values_list("dose_level")
        .annotate(n=Count("pk"))
        .order_by()
    )
    options = []
    arms = Arm.objects.filter(study=study).prefetch_related(
        Prefetch("dose_levels", queryset=DoseLevel.objects.order_by("order"))).order_by("code")
    for arm in arms:
        levels = list(arm.dose_levels.all())
        if not levels:
            options.append(EnrolmentOption(arm=arm, level=None, taken=0))
        for level in levels:
            options.append(EnrolmentOption(arm=arm, level=level, taken=taken.get(level.pk, 0)))
    return options


def screening_item_answers(*, study, code: str) -> int:
    """`trials.hooks.item_answers`: the study's screenings holding an answer to item `code`."""
    return Screening.objects.filter(study=study, items__has_key=code).count()


def locked_casebooks_by_site(user, study) -> list[dict]:
    """Per site of the study the user sees: [{site, enrolled, locked}], the participants and the
    casebooks locked on their own (a study's data lock locks them all; the study page says so
    above), in one statement."""
    return list(Participant.objects.visible_to(user).filter(study=study).values(site_code=F("site__code"))
                .annotate(enrolled=Count("id"), locked=Count("id", filter=Q(locked_at__isnull=False)))
                .order_by("site_code"))
