"""A synthetic study for measuring the product at scale (`manage.py make_synthetic_study`).

A copy of the P3 study's configuration (MSC-ITP-5: five MSC infusions, refractory ITP, IWG 2009
criteria, follow-up to month 12) under its own code, spread over several sites, filled with
screenings (labs, a consent, a share of screen failures), participants, infusions, visits,
assessments with platelet and haemoglobin values following plausible courses (responders, responders
who lose their response, non-responders, withdrawals) and adverse events, all written by bulk inserts
with their history rows (one change reason). Deterministic: the same seed, size and `today` give
the same data.

The courses themselves are plain functions (`participant_course`, `platelet_course`) tested without
a database; `build_synthetic_study` writes them.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import yaml
from django.db import transaction
from django.utils import timezone

from dosing.models import Infusion
from enrollment.models import Consent, Participant, Screening, ScreeningLab
from trials.audit_context import change_context
from trials.models import Site, Study
from trials.services import STUDIES_DIR, LoadReport, studies_load, study_load

from .models import AdverseEvent, Assessment, LabResult, Visit

REASON = "Synthetic study (make_synthetic_study)"
TEMPLATE = "MSC-ITP-5.yaml"
SITES = (("PUMCH", "Peking Union Medical College Hospital, Beijing"),
         ("SYN-SH", "Synthetic site, Shanghai"), ("SYN-GZ", "Synthetic site, Guangzhou"),
         ("SYN-CD", "Synthetic site, Chengdu"))
INFUSION_DAYS = (0, 7, 21, 35, 49)
LAST_INFUSION_DAY = INFUSION_DAYS[-1]
# Visit code -> day after the first infusion (follow-up anchored on the last infusion, day 49).
VISIT_DAYS = (("BL", 0), ("D14", 63), ("M1", 79), ("M2", 109), ("M3", 139), ("M6", 229), ("M9", 319),
              ("M12", 409))
# Share of each course among the participants (cumulative thresholds of a uniform draw).
COURSES = (("responder", 0.40), ("lost", 0.55), ("non_responder", 0.90), ("withdrawn", 1.0))
SCREEN_FAILURES = 0.1
AE_TERMS = (("Fever", "fever"), ("Headache", "non_haematological"), ("Nausea", "non_haematological"),
            ("Infusion related reaction", "infusion_reaction"), ("Platelet count decreased", "haematological"))


@dataclass(frozen=True)
class Course:
    """One participant's course: its kind, platelets (x10^9/L) and Hb (g/L) at each visit, the
    infusions given (of five) and the adverse event if any (term, category, grade, day)."""

    kind: str
    platelets: tuple[float, ...]
    hb: tuple[float, ...]
    infusions_given: int
    adverse_event: tuple[str, str, int, int] | None


def platelet_course(kind: str, rng: random.Random, visits: int = len(VISIT_DAYS)) -> tuple[float, ...]:
    """Platelets at baseline and each later visit: a responder rises above 100 and stays; a lost
    responder rises, then falls below 30 from month 6; a non-responder stays below 30; a withdrawal
    stays low. Baseline below 30 (the P3 entry criterion)."""
    baseline = round(rng.uniform(5, 28), 1)
    values = [baseline]
    for index in range(1, visits):
        if kind == "responder" or (kind == "lost" and index < 5):
            value = rng.uniform(105, 220) if index >= 2 else rng.uniform(40, 120)
        elif kind == "lost":
            value = rng.uniform(8, 28)
        else:
            value = rng.uniform(5, 29)
        values.append(round(value, 1))
    return tuple(values)


def participant_course(rng: random.Random) -> Course:
    """A participant's course, drawn from `rng` (see `COURSES`)."""
    draw = rng.random()
    kind = next(name for name, upto in COURSES if draw < upto)
    platelets = platelet_course(kind, rng)
    hb_base = rng.uniform(95, 135)
    hb = tuple(round(hb_base + rng.uniform(-8, 12) + (10 if kind == "responder" and i > 2 else 0), 0)
               for i in range(len(VISIT_DAYS)))
    infusions = rng.randint(1, 3) if kind == "withdrawn" else 5
    adverse = None
    if rng.random() < 0.3:
        term, category = AE_TERMS[rng.randrange(len(AE_TERMS))]
        adverse = (term, category, rng.choice((1, 1, 2, 2, 3)), rng.randint(0, LAST_INFUSION_DAY + 14))
    return Course(kind, platelets, hb, infusions, adverse)


def _template(code: str, size: int) -> dict:
    data = yaml.safe_load((Path(STUDIES_DIR) / TEMPLATE).read_text())
    data.update(code=code, title=f"{data['title']} (synthetic, {size} participants)",
                enrolment_target=max(size, 1), sites=[{"code": c, "name": n} for c, n in SITES])
    return data


def _at(day: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


class _Writer:
    """Bulk inserts by `user`: the project's querysets write each row's "+" history row in the same
    statement batch, with the change reason in force (`trials.audit_querysets`)."""

    def __init__(self, user):
        self.user = user
        self.rows = 0

    def __call__(self, model, objects: list) -> list:
        with change_context(by=self.user, reason=REASON):
            created = model.objects.bulk_create(objects, batch_size=5000)
        self.rows += len(created)
        return created


def build_synthetic_study(*, participants: int, seed: int, by, today: date, code: str | None = None) -> Study:
    """The synthetic study `code` (default SYN-<participants>-<seed>) with `participants` enrolled
    (module docstring), in one transaction. Refused when the code exists."""
    code = code or f"SYN-{participants}-{seed}"
    if Study.objects.filter(code=code).exists():
        raise ValueError(f"A study {code} exists already; choose another seed or code.")
    rng = random.Random(seed)
    with transaction.atomic():
        if not Study.objects.filter(code=TEMPLATE.removesuffix(".yaml")).exists():
            studies_load(by=by)  # the criteria sets and catalogues the template reads
        study = study_load(_template(code, participants), by=by, reason=REASON, report=LoadReport(update=False))
        _fill(study, participants, rng, by, today)
    return study


def _fill(study: Study, size: int, rng: random.Random, by, today: date) -> None:
    write = _Writer(by)
    sites = list(Site.objects.filter(code__in=[c for c, _n in SITES]).order_by("code"))
    arm = study.arms.get()
    level = arm.dose_levels.first()
    definitions = {d.code: d for d in study.visit_definitions.all()}
    failures = int(size * SCREEN_FAILURES)
    plans, screenings, sequence = [], [], {}
    for index in range(size + failures):
        site = sites[index % len(sites)]
        sequence[site.pk] = sequence.get(site.pk, 0) + 1
        enrolled = index < size
        day0 = today - timedelta(days=rng.randint(10, 520))
        screened_on = day0 - timedelta(days=rng.randint(9, 20))
        sex = rng.choice(("female", "male"))
        screenings.append(Screening(
            study=study, site=site, sequence=sequence[site.pk],
            number=f"{study.code}-{site.code}-S{sequence[site.pk]:05d}",
            screening_date=screened_on, initials="".join(rng.choice("ABCDEFGHJKLMNPQRSTWXYZ") for _ in range(2)),
            birth_date=date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28)), sex=sex,
            weight_kg=round(rng.uniform(45, 90), 1), height_cm=round(rng.uniform(150, 185)), disease="ITP",
            diagnosis_date=screened_on - timedelta(days=rng.randint(400, 4000)), ecog=rng.randint(0, 1),
            eligible=enrolled, evaluated_at=_at(screened_on, 11), protocol_version=study.version,
            created_by=by))
        plans.append((enrolled, day0, participant_course(rng) if enrolled else None))
    screenings = write(Screening, screenings)
    labs, consents = [], []
    for screening, (enrolled, day0, course) in zip(screenings, plans):
        platelets = course.platelets[0] if course else round(rng.uniform(35, 80), 1)
        for analyte, value, unit in (("PLT", platelets, "10^9/L"), ("HGB", course.hb[0] if course else 120, "g/L"),
                                     ("ALT", rng.randint(10, 40), "U/L"), ("CREAT", rng.randint(50, 90), "umol/L")):
            labs.append(ScreeningLab(screening=screening, analyte=analyte, value=value, entered_value=value,
                                     entered_unit=unit, sampled_on=screening.screening_date))
        consents.append(Consent(screening=screening, version="ICF 1.0", signed_at=_at(screening.screening_date, 8),
                                obtained_by="Synthetic coordinator", recorded_by=by))
    write(ScreeningLab, labs)
    write(Consent, consents)
    _participants(study, arm, level, definitions, [(s, p) for s, p in zip(screenings, plans) if p[0]], write, today)


def _participants(study, arm, level, definitions, enrolled, write, today) -> None:
    by = write.user
    rows = []
    for order, (screening, (_e, day0, course)) in enumerate(enrolled, start=1):
        withdrawn_on = (day0 + timedelta(days=INFUSION_DAYS[course.infusions_given - 1] + 3)
                        if course.kind == "withdrawn" else None)
        if withdrawn_on and withdrawn_on > today:
            withdrawn_on = None
        done = today >= day0 + timedelta(days=VISIT_DAYS[-1][1])
        status = ("withdrawn" if withdrawn_on else "completed" if done
                  else "follow_up" if today > day0 + timedelta(days=LAST_INFUSION_DAY) else "on_treatment")
        rows.append(Participant(
            study=study, site=screening.site, screening=screening, sequence=screening.sequence,
            study_number=f"{study.code}-{screening.site.code}-{screening.sequence:05d}", arm=arm, dose_level=level,
            enrolled_on=day0 - timedelta(days=2), protocol_version=study.version, planned_day0=day0,
            study_order=order, status=status, withdrawn_on=withdrawn_on,
            withdrawal_reason="consent_withdrawn" if withdrawn_on else "", enrolled_by=by))
    participants = write(Participant, rows)
    infusions, visits, plans = [], [], []
    for participant, (_screening, (_e, day0, course)) in zip(participants, enrolled):
        stop = participant.withdrawn_on
        for number, offset in enumerate(INFUSION_DAYS, start=1):
            day = day0 + timedelta(days=offset)
            given = number <= course.infusions_given and day <= today
            missed = not given and (stop is not None or day < today)
            weight = participant.screening.weight_kg
            infusions.append(Infusion(
                participant=participant, number=number, target_date=day, window_start=day, window_end=day,
                state="given" if given else "missed" if missed else "planned",
                started_at=_at(day) if given else None, ended_at=_at(day, 10) if given else None,
                weight_kg=weight if given else None, dose_level=level, dose_per_kg=1.0e8 if given else None,
                computed_dose=weight * 1.0e8 if given else None, cells_infused=weight * 1.0e8 if given else None,
                missed_reason="Participant withdrew" if missed else "",
                product={"kind": "msc", "lot": f"SYN-{participant.pk}-{number}", "viability_pct": 95} if given else {},
                recorded_by=by if given else None))
        for index, (visit_code, offset) in enumerate(VISIT_DAYS):
            day = day0 + timedelta(days=offset)
            if stop is not None and day > stop:
                state = "missed"
            else:
                state = "done" if day <= today else "upcoming"
            definition = definitions[visit_code]
            window = timedelta(days=definition.window_before), timedelta(days=definition.window_after)
            visits.append(Visit(participant=participant, definition=definition, code=visit_code,
                                target_at=_at(day), window_start=_at(day) - window[0],
                                window_end=_at(day) + window[1], state=state,
                                done_at=_at(day, 10) if state == "done" else None,
                                missed_reason="Participant withdrew" if state == "missed" else ""))
            plans.append((participant, course, index, day, state))
    write(Infusion, infusions)
    visits = write(Visit, visits)
    _assessments(visits, plans, write, today)


def _assessments(visits, plans, write, today) -> None:
    by = write.user
    assessments, values, events = [], [], []
    for visit, (participant, course, index, day, state) in zip(visits, plans):
        if index == 0 and course.adverse_event:
            term, category, grade, offset = course.adverse_event
            onset = day + timedelta(days=offset)
            if onset <= today and (participant.withdrawn_on is None or onset <= participant.withdrawn_on):
                events.append(AdverseEvent(
                    participant=participant, term=term, category=category, onset_date=onset,
                    resolution_date=onset + timedelta(days=3), status="confirmed", grade=grade, serious=grade >= 3,
                    relationship="possible", description="Synthetic", reported_by=by, confirmed_by=by,
                    confirmed_at=_at(onset, 12)))
        if state != "done":
            continue
        assessments.append(Assessment(participant=participant, visit=visit, date=day, bleeding_grade=0 if
                                      course.platelets[index] >= 30 else 1, recorded_by=by))
        values.append((course.platelets[index], course.hb[index]))
    assessments = write(Assessment, assessments)
    labs = []
    for assessment, (platelets, hb) in zip(assessments, values):
        labs.append(LabResult(assessment=assessment, analyte="PLT", value=platelets, entered_value=platelets,
                              entered_unit="10^9/L", lln=125, uln=350))
        labs.append(LabResult(assessment=assessment, analyte="HGB", value=hb, entered_value=hb, entered_unit="g/L",
                              lln=115, uln=150))
    write(LabResult, labs)
    write(AdverseEvent, events)
