"""A P3 (MSC-ITP-5) cohort for the benchmarks, written through the services as a coordinator would:
screening, consent, the investigator's signed eligibility confirmation (`bench-investigator`),
enrolment with its schedule, five infusions and follow-up counts to month 12.

`bench/run.py` builds it inside a transaction it rolls back, so the database is left as it was.
"""
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from dosing import services as dosing
from enrollment import services as enrolment
from followup import services as followup
from trials.accounts import user_upsert
from trials.audit import audited_save
from trials.labs import LabInput
from trials.models import Site, Study

SIGNER = "bench-investigator"
SIGNER_PASSWORD = "Bench-runner-2026"
INFUSION_DAYS = (0, 7, 21, 35, 49)
# Follow-up after the last infusion (day 49): D14, M1, M2, M3, M6, M9, M12.
FOLLOW_UP = (("D14", 63), ("M1", 79), ("M2", 109), ("M3", 139), ("M6", 229), ("M9", 319), ("M12", 409))


def _at(day: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def eligibility_signer():
    """The investigator at PUMCH who confirms the cohort's eligibility (created once)."""
    signer = get_user_model().objects.filter(username=SIGNER).first()
    return signer or user_upsert(username=SIGNER, role="investigator", site_code="PUMCH",
                                 password=SIGNER_PASSWORD).user


def p3_participant(user, *, day0: date, platelets: list[float]):
    """One enrolled, treated and followed participant; `platelets` at baseline then at each visit."""
    study = Study.objects.get(code="MSC-ITP-5")
    screening = enrolment.screening_create(study=study, site=Site.objects.get(code="PUMCH"), by=user, today=day0,
                                           data=enrolment.ScreeningInput(
        values={"screening_date": day0 - timedelta(days=7), "birth_date": date(1985, 3, 1), "sex": "female",
                "disease": "ITP", "weight_kg": 60.0, "height_cm": 165},
        labs=[LabInput("PLT", platelets[0], "10^9/L"), LabInput("ALT", 20, "U/L"),
              LabInput("AST", 20, "U/L"), LabInput("TBIL", 10, "umol/L"),
              LabInput("CREAT", 60, "umol/L")],
        prior_therapies=[enrolment.TherapyInput("splenectomy", "relapse", date(2020, 1, 1), date(2020, 1, 1))],
        conditions={"lactating": False},
        answers={"diagnosis_meets_guideline": True, "thrombocytopenia_months": 24,
                 "stable_maintenance_therapy_4_weeks": True, "childbearing_potential": False, "fertile": False,
                 "understands_and_complies": True}))
    enrolment.consent_record(screening=screening, version="ICF 1.0", signed_at=_at(day0 - timedelta(days=6)),
                             obtained_by="Bench", by=user)
    enrolment.screening_eligibility_confirm(screening=screening, password=SIGNER_PASSWORD, by=eligibility_signer())
    participant = enrolment.participant_enrol(screening=screening, enrolled_on=day0 - timedelta(days=2),
                                              first_infusion_on=day0, by=user)
    followup.assessment_record(participant=participant, by=user, data=followup.AssessmentInput(
        date=day0, visit="BL", bleeding_grade=0, labs=[{"analyte": "PLT", "value": platelets[0], "unit": "10^9/L"}]))
    for number, offset in enumerate(INFUSION_DAYS, start=1):
        day = day0 + timedelta(days=offset)
        dosing.infusion_record(participant=participant, by=user, data=dosing.InfusionInput(
            number=number, started_at=_at(day), ended_at=_at(day, 10), weight_kg=60.0, cells_infused=6.0e9,
            product={"kind": "msc", "lot": f"BENCH-{number}", "viability_pct": 95}))
    for (visit, offset), value in zip(FOLLOW_UP, platelets[1:]):
        followup.assessment_record(participant=participant, by=user, data=followup.AssessmentInput(
            date=day0 + timedelta(days=offset), visit=visit, bleeding_grade=0,
            labs=[{"analyte": "PLT", "value": value, "unit": "10^9/L"},
                  {"analyte": "HGB", "value": 125, "unit": "g/L"}]))
    return participant


def build(user, size: int) -> list:
    """`size` P3 participants, alternating responders (lost at M9) and non-responders; the study's
    target leaves room for them and for one more, whose whole course the benchmark times."""
    study = Study.objects.get(code="MSC-ITP-5")
    study.enrolment_target = max(study.enrolment_target, size + 1 + study.participants.count())
    audited_save(study, by=user, reason="Benchmark cohort (rolled back)")
    day0 = timezone.localdate() - timedelta(days=420)
    responder = [18, 45, 60, 120, 130, 110, 25, 20]
    non_responder = [18, 20, 22, 19, 25, 21, 20, 18]
    return [p3_participant(user, day0=day0, platelets=responder if i % 2 == 0 else non_responder)
            for i in range(size)]
