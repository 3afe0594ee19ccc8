"""Arrangement helpers of the follow-up tests (the fixtures are in conftest.py): assessments posted
through the API, P1 and P3 participants treated through the services, the worklist's participants
and adverse events, the page forms as a browser posts them back. Dates are computed when called."""
import re
from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from dosing.tests.escalation_setup import dlt_onset
from dosing.tests.factories import InfusionFactory
from dosing.tests.support import day0
from enrollment import services as enrolment
from enrollment.tests.factories import ConsentFactory, ParticipantFactory, ScreeningFactory
from enrollment.tests.support import eligible_p3_screening, today
from followup.models import AdverseEvent, Visit
from followup.tests.factories import AdverseEventFactory, AssessmentFactory
from trials.tests.support import confirm_adverse_event, confirm_eligibility, setup_update

TZ = timezone.get_current_timezone()


def p1_day0() -> date:
    """The first infusion of a P1 (UCB-IRIC) participant of :func:`p1_participant`: 80 days ago."""
    return today() - timedelta(days=80)


def outcomes_day0() -> date:
    """The first infusion of a :func:`treated_participant`: 420 days ago, long enough for 12 months
    of response after a response on day 30."""
    return today() - timedelta(days=420)


# --- assessments through the API ---------------------------------------------------------------

def assess_labs(api, participant, day, *labs):
    body = {"date": (day0() + timedelta(days=day)).isoformat(), "bleeding_grade": 0,
            "labs": [{"analyte": a, "value": v, "unit": u, "lln": lln, "uln": uln} for a, v, u, lln, uln in labs]}
    response = api.post(f"/api/v1/participants/{participant.pk}/assessments/", body, format="json")
    assert response.status_code == 201, response.json()
    return response


def assess_platelets(api, participant, day, platelets, visit=None, **extra):
    body = {"date": (day0() + timedelta(days=day)).isoformat(), "visit": visit, "bleeding_grade": 0,
            "labs": [{"analyte": "PLT", "value": platelets, "unit": "10^9/L"}], **extra}
    response = api.post(f"/api/v1/participants/{participant.pk}/assessments/", body, format="json")
    assert response.status_code == 201, response.json()
    return response


def days_ago(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


def form_url(participant, code=None):
    url = reverse("assessment-new", args=[participant.pk])
    return f"{url}?visit={code}" if code else url


def filled(**extra):
    """A W1 form: PLT in /uL, Hb in g/dL, one platelet transfusion; the other rows empty."""
    data = {"date": days_ago(3), "bleeding_grade": "1", "notes": "", "deviation_reason": "",
            "lab-PLT-value": "42000", "lab-PLT-unit": "/uL", "lab-HGB-value": "9.6", "lab-HGB-unit": "g/dL",
            "lab-ANC-unit": "10^9/L", "lab-WBC-unit": "10^9/L",
            "transfusion-0-kind": "platelet", "transfusion-0-date": days_ago(4)}
    return {**data, **extra}


# --- P1 participants (anaemia response sets) ---------------------------------------------------

def p1_participant(user, disease):
    data = enrolment.ScreeningInput(
        values={"screening_date": p1_day0() - timedelta(days=5), "birth_date": date(1980, 1, 1), "sex": "female",
                "disease": disease, "ecog": 1, "weight_kg": 60},
        labs=[enrolment.LabInput("HGB", 70, "g/L"), enrolment.LabInput("TBIL", 15, "umol/L"),
              enrolment.LabInput("ALT", 20, "U/L"), enrolment.LabInput("AST", 20, "U/L"),
              enrolment.LabInput("CREAT", 60, "umol/L")],
        prior_therapies=[enrolment.TherapyInput("glucocorticoid", "none", date(2024, 1, 1), date(2024, 3, 1))],
        conditions={"abnormal_cardiac_function": False, "other_secondary_disease": False, "tumour": False,
                    "carcinoma_in_situ_only": False, "uncontrolled_infection": False, "other_serious_disease": False,
                    "pregnant": False, "lactating": False, "mental_illness": False},
    )
    screening = ScreeningFactory(study="UCB-IRIC", data=data, today=p1_day0(), by=user)
    assert screening.eligible is True, [c for c in screening.eligibility if c["outcome"] != "met"]
    ConsentFactory(screening=screening, signed_at=timezone.now() - timedelta(days=85), by=user)
    confirm_eligibility(screening)
    participant = ParticipantFactory(screening=screening, enrolled_on=p1_day0(), first_infusion_on=p1_day0(), by=user)
    InfusionFactory(
        participant=participant, number=1,
        started_at=timezone.make_aware(
            timezone.datetime.combine(p1_day0(), timezone.datetime.min.time()).replace(hour=9)),
        ended_at=None, weight_kg=60, cells_infused=None,
        product={"kind": "cord_blood", "bank": "Beijing", "unit_id": "CB-1", "tnc": 1.5e9}, by=user)
    return participant


def assess_counts(api, participant, day, **labs):
    units = {"HGB": "g/L", "PLT": "10^9/L", "ANC": "10^9/L"}
    body = {"date": (p1_day0() + timedelta(days=day)).isoformat(), "visit": None, "bleeding_grade": 0,
            "labs": [{"analyte": code, "value": value, "unit": units[code]} for code, value in labs.items()]}
    response = api.post(f"/api/v1/participants/{participant.pk}/assessments/", body, format="json")
    assert response.status_code == 201, response.json()


# --- P3 participants treated for the study outcomes -------------------------------------------

RESPONSE_DAY = 30


OUTCOMES_MSC = {"kind": "msc", "lot": "MSC-2025-031", "viability_pct": 94.0, "passage": 4}


def platelets(participant, by, day, count, *, visit=None):
    return AssessmentFactory(participant=participant, date=outcomes_day0() + timedelta(days=day), visit=visit,
                             bleeding_grade=0, labs=[{"analyte": "PLT", "value": count, "unit": "10^9/L"}], by=by)


def treated_participant(by, counts=(), *, day0=None):
    """An ITP participant of P3: baseline 15 x10^9/L on day 0, the first infusion that day, then the
    platelet counts ``counts`` as (day, value), each as its own assessment; day 0 is
    :func:`outcomes_day0` unless given."""
    day0 = outcomes_day0() if day0 is None else day0
    screening = eligible_p3_screening(by)
    setup_update(screening.consents, signed_at=timezone.now() - timedelta(days=(today() - day0).days + 5))
    participant = ParticipantFactory(screening=screening, enrolled_on=day0 - timedelta(days=2), first_infusion_on=day0,
                                     by=by)
    AssessmentFactory(participant=participant, date=day0, visit="BL", bleeding_grade=0,
                      labs=[{"analyte": "PLT", "value": 15, "unit": "10^9/L"}], by=by)
    start = datetime.combine(day0, time(9, 30), tzinfo=timezone.get_current_timezone())
    InfusionFactory(participant=participant, number=1, started_at=start, ended_at=start + timedelta(minutes=35),
                    weight_kg=60.0, cells_infused=6.0e9, product=OUTCOMES_MSC, by=by)
    for day, count in counts:
        platelets(participant, by, day, count)
    return participant


def responder_counts(months: int, *, lost: bool):
    """CR from day 30, confirmed on day 37, kept every 60 days; then either a confirmed loss of
    response ``months`` months (30 days each) after day 30, or a last evaluable count in CR then
    (censored)."""
    end = RESPONSE_DAY + 30 * months
    counts = [(RESPONSE_DAY, 110), (RESPONSE_DAY + 7, 125)]
    counts += [(day, 118) for day in range(RESPONSE_DAY + 60, end, 60)]
    counts += [(end, 20), (end + 1, 18)] if lost else [(end, 121)]
    return counts


NON_RESPONDER = [(30, 22), (60, 25), (90, 19)]


# Section 6 check vector (months, 1 = loss of response): (3,1) (5,0) (6,1) (6,1) (8,0) (10,1) (12,0).
CHECK_VECTOR = [(3, True), (5, False), (6, True), (6, True), (8, False), (10, True), (12, False)]


# --- the worklist ------------------------------------------------------------------------------

def enrol(by, *, day0=None, enrolled_on=None):
    """A P3 participant with nothing due yet: the baseline window opens 14 days before day 0
    (by default 20 days from today, enrolled today)."""
    day0 = today() + timedelta(days=20) if day0 is None else day0
    enrolled_on = today() if enrolled_on is None else enrolled_on
    screening = eligible_p3_screening(by)
    setup_update(screening.consents, signed_at=datetime.combine(enrolled_on - timedelta(days=1), time(9), tzinfo=TZ))
    return ParticipantFactory(screening=screening, enrolled_on=enrolled_on, first_infusion_on=day0, by=by)


def move_visit(participant, code, *, start: date, end: date) -> Visit:
    """Arrange: the visit's window from `start` to the end of `end` (target = start)."""
    setup_update(Visit.objects.filter(participant=participant, code=code), 
        target_at=datetime.combine(start, time(0), tzinfo=TZ), window_start=datetime.combine(start, time(0), tzinfo=TZ),
        window_end=datetime.combine(end, time.max, tzinfo=TZ))
    return Visit.objects.get(participant=participant, code=code)


def overdue_visit(participant, code="BL", days_ago=3) -> Visit:
    return move_visit(participant, code, start=today() - timedelta(days=days_ago + 2),
                      end=today() - timedelta(days=days_ago))


def event(participant, by, *, serious=True, aware=None, draft=False, term="Lung infection"):
    recorded = AdverseEventFactory(participant=participant, term=term, onset_date=today(), grade=3, serious=serious,
                                   relationship="unlikely", seriousness=["hospitalisation"] if serious else [],
                                   site_aware_at=aware or timezone.now(), by=by)
    if draft:
        setup_update(AdverseEvent.objects.filter(pk=recorded.pk), status="draft", grade=None, serious=None,
                     relationship="")
        recorded.refresh_from_db()
    else:
        confirm_adverse_event(recorded)  # the site's investigator signs the coordinator's draft
    return recorded


def items(client, query=""):
    response = client.get(f"/api/v1/worklist/{query}")
    assert response.status_code == 200, response.json()
    return response.json()["items"]


# --- adverse events and forms posted back ---------------------------------------------------------


def event_body():
    return {"term": "Alanine aminotransferase increased", "category": "non_haematological",
            "onset_date": dlt_onset().isoformat(), "grade": 3, "serious": False, "relationship": "possible",
            "description": "ALT 6 x ULN on day 10, no symptoms"}


ALREADY = "This form was already submitted; the record below was created then."


def form_body():
    return {"term": "Lung infection", "category": "non_haematological", "onset_date": dlt_onset().isoformat(),
            "grade": "3", "serious": "no", "relationship": "unlikely", "action_taken": "none",
            "outcome": "recovering", "description": "Cough and fever, oral antibiotics"}


def adverse_event_form_as_posted(form) -> dict:
    """The form as the browser sends it back unchanged (a box left unticked is not sent)."""
    data = {}
    for field in form:
        value = field.value()
        if value in (None, False, "", []):
            continue
        if value is True:
            data[field.html_name] = "on"
        elif isinstance(value, list):
            data[field.html_name] = value
        elif hasattr(value, "strftime") and hasattr(value, "hour"):
            data[field.html_name] = value.strftime("%Y-%m-%dT%H:%M")
        else:
            data[field.html_name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return data


def assessment_form_as_posted(response) -> dict:
    """The edit form as the browser would send it back unchanged."""
    data = {}
    forms = [response.context["form"], response.context["items"], *response.context["labs"],
             *response.context["transfusions"], *response.context["rescues"]]
    for form in forms:
        for field in form:
            value = field.value()
            if value is None:
                continue
            if isinstance(value, list):  # a multiple choice
                data[field.html_name] = [str(code) for code in value]
            else:
                data[field.html_name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return data


def history_rows() -> int:
    return sum(model.objects.count() for model in apps.get_models() if model.__name__.startswith("Historical"))


def study_locked_rows(client, url) -> list[tuple[str, str, str]]:
    """The study page's locked casebooks per site: (site, enrolled, locked) of each row shown."""
    page = client.get(url).content.decode()
    section = page[page.index('data-testid="study-locks"'):]
    return re.findall(r'<tr data-site="([A-Z]+)"><td>[A-Z]+</td><td>(\d+)</td><td>(\d+)</td></tr>', section)
