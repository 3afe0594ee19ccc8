"""Arrangement helpers of the enrolment tests, shared with the dosing and follow-up tests: eligible
screenings made through the services, the API-style facts of an eligible P3 screening, the
screening form as a coordinator submits it. Dates are computed when called, from the site's today."""
from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from enrollment import services
from enrollment.api import ScreeningFactsSerializer
from enrollment.models import Screening
from enrollment.tests.factories import ConsentFactory, ScreeningFactory
from trials import catalogues
from trials.models import Study
from trials.selectors import form_items
from trials.tests.support import confirm_eligibility


def today() -> date:
    return timezone.localdate()


def screened_on() -> date:
    """Screened before every enrolment date the tests use: an enrolment before the screening date is refused."""
    return today() - timedelta(days=450)


REFRACTORY = [
    services.TherapyInput("glucocorticoid", "none", date(2024, 1, 1), date(2024, 2, 15)),
    services.TherapyInput("tpo_agent", "none", date(2024, 3, 1), date(2024, 6, 1)),
    services.TherapyInput("rituximab", "none", date(2024, 7, 1), date(2024, 8, 1)),
]


def eligible_p2_screening(user, *, consented=True, birth=date(1980, 1, 1), sex="male"):
    data = services.ScreeningInput(
        values={"screening_date": screened_on(), "birth_date": birth, "sex": sex, "disease": "ITP", "initials": "AB"},
        prior_therapies=list(REFRACTORY),
    )
    screening = ScreeningFactory(study="HUCMSC-ITP-ESC", data=data, by=user)
    assert screening.eligible is True, screening.eligibility
    if consented:
        ConsentFactory(screening=screening, by=user)
    confirm_eligibility(screening)  # enrolment waits for the investigator's signature
    return screening


def eligible_p3_screening(user, *, sex="female", study="MSC-ITP-5", site=None):
    data = services.ScreeningInput(
        values={"screening_date": screened_on(), "birth_date": date(1990, 5, 1), "sex": sex, "disease": "ITP",
                "weight_kg": 60.0, "height_cm": 165},
        labs=[services.LabInput("PLT", 18, "10^9/L"), services.LabInput("ALT", 20, "U/L"),
              services.LabInput("AST", 20, "U/L"), services.LabInput("TBIL", 10, "umol/L"),
              services.LabInput("CREAT", 60, "umol/L")],
        prior_therapies=[services.TherapyInput("splenectomy", "relapse", date(2020, 1, 1), date(2020, 1, 1))],
        conditions={"lactating": False},
        answers={"diagnosis_meets_guideline": True, "thrombocytopenia_months": 24,
                 "stable_maintenance_therapy_4_weeks": True,
                 "childbearing_potential": False, "fertile": False, "understands_and_complies": True},
    )
    screening = ScreeningFactory(study=study, data=data, by=user, **({"site": site} if site else {}))
    assert screening.eligible is True, [c for c in screening.eligibility if c["outcome"] != "met"]
    ConsentFactory(screening=screening, by=user)
    confirm_eligibility(screening)  # enrolment waits for the investigator's signature
    return screening


def years_ago(years, days=0):
    day = today()
    return (day.replace(year=day.year - years) - timedelta(days=days)).isoformat()


def p3_facts() -> dict:
    """The facts of an eligible P3 screening, screened today, as the API takes them (a new dict each call)."""
    return {
        "screening_date": today().isoformat(),
        "initials": "WL", "birth_date": years_ago(30, 40), "sex": "female",
        "weight_kg": 58.0, "height_cm": 162,
        "disease": "ITP", "diagnosis_date": years_ago(2),
        "ecog": 1,
        "labs": [
            {"analyte": "PLT", "value": 18, "unit": "10^9/L"},
            {"analyte": "ALT", "value": 35, "unit": "U/L", "uln": 40},
            {"analyte": "AST", "value": 28, "unit": "U/L"},
            {"analyte": "TBIL", "value": 0.8, "unit": "mg/dL"},
            {"analyte": "CREAT", "value": 0.7, "unit": "mg/dL"},
        ],
        "prior_therapies": [
            {"therapy": "glucocorticoid", "start": years_ago(2), "end": years_ago(1, 300),
             "dose_text": "prednisone 1 mg/kg", "outcome": "none"},
            {"therapy": "tpo_agent", "start": years_ago(1, 200), "end": years_ago(1, 100), "outcome": "none"},
            {"therapy": "rituximab", "start": years_ago(1, 50), "end": years_ago(1, 20), "outcome": "none"},
        ],
        "conditions": {"lactating": False, "pregnant": False},
        "pregnancy_test": "negative", "childbearing_potential": True, "agrees_contraception": True,
        "stable_maintenance_therapy_4_weeks": True, "thrombocytopenia_months": 24,
        "diagnosis_meets_guideline": True, "understands_and_complies": True,
    }


def post_screening(api, code="MSC-ITP-5", **changes):
    return api.post(f"/api/v1/studies/{code}/screenings/", {**p3_facts(), **changes}, format="json")


SCALARS = ("screening_date", "initials", "birth_date", "sex", "weight_kg", "height_cm", "disease", "diagnosis_date",
           "ecog")


def create_screening(user, code="MSC-ITP-5", **changes) -> Screening:
    """A screening recorded through the service, from API-style facts (p3_facts() by default)."""
    serializer = ScreeningFactsSerializer(data={**p3_facts(), **changes})
    serializer.is_valid(raise_exception=True)
    return ScreeningFactory(study=code, data=serializer.to_input(), by=user)


def consent(screening, user):
    return ConsentFactory(screening=screening, version="ICF v2.0", signed_at=timezone.now() - timedelta(minutes=5),
                          by=user)


def _text(value) -> str:
    return "" if value is None else str(value)


def _choice(value) -> str:
    return "yes" if value is True else "no" if value is False else "unknown"


def form_data(facts=None, *, history=True, therapy_rows=4, first_therapy_row=0, study="MSC-ITP-5", **changes) -> dict:
    """The screening form of `study` as a coordinator submits it, from API-style facts (an item's
    answer at the top level, yes/no items also under `conditions`)."""
    facts = {**(p3_facts() if facts is None else facts), **changes}
    data = {key: _text(facts.get(key)) for key in SCALARS}
    labs = {lab["analyte"]: lab for lab in facts.get("labs", [])}
    for code, analyte in catalogues.current().analytes.items():
        lab = labs.get(code, {})
        data[f"lab-{code}-value"] = _text(lab.get("value"))
        data[f"lab-{code}-unit"] = lab.get("unit", analyte.si_unit)
        for key in ("lln", "uln", "date"):
            data[f"lab-{code}-{key}"] = _text(lab.get(key))
    therapies = facts.get("prior_therapies", [])
    rows = max(therapy_rows, first_therapy_row + len(therapies))
    data.update({"therapy-TOTAL_FORMS": str(rows), "therapy-INITIAL_FORMS": "0", "therapy-MIN_NUM_FORMS": "0",
                 "therapy-MAX_NUM_FORMS": "40"})
    for index in range(rows):
        for key in ("therapy", "start", "end", "dose_text", "outcome"):
            data[f"therapy-{index}-{key}"] = ""
    for index, course in enumerate(therapies, start=first_therapy_row):
        for key in ("therapy", "start", "end", "dose_text", "outcome"):
            data[f"therapy-{index}-{key}"] = _text(course.get(key))
    if history:
        data["prior_therapies_recorded"] = "on"
    answers = {**facts.get("conditions", {}), **facts.get("items", {})}
    for _section, spec in form_items(Study.objects.get(code=study)):
        value = answers.get(spec.code, facts.get(spec.code))
        data[spec.code] = _choice(value) if spec.type == "yes_no" else _text(value)
    return data


def new_url(code="MSC-ITP-5"):
    return reverse("screening-new", args=[code])
