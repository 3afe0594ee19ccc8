"""A fixture study for the export tests, and reading an export back by its data dictionary."""
import csv
import io
import json
import zipfile
from datetime import date, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from enrollment.models import Screening, ScreeningLab
from trials.audit_context import change_context
from trials.models import Item, ItemPlacement, Site
from trials.tests.support import activate_amendment, setup_update

from .support import days_ago, event

VISIT_ITEMS = [
    dict(code="qol_score", label="Quality of life score", type="number", unit="points", min_value=0,
         max_value=100, decimals=1),
    dict(code="marrow_finding", label="Bone-marrow finding", type="choice",
         choices=[{"code": "normal", "label": "Normal"}, {"code": "hypocellular", "label": "Hypocellular"}]),
    dict(code="marrow_date", label="Date of the aspirate", type="date"),
    dict(code="symptoms", label="Symptoms", type="multi_choice",
         choices=[{"code": "fatigue", "label": "Fatigue"}, {"code": "bruising", "label": "Bruising"},
                  {"code": "fever", "label": "Fever"}]),
    dict(code="marrow_done", label="Marrow examined", type="yes_no"),
    dict(code="remark", label="Remark", type="text"),
]
VISIT_ANSWERS = {"qol_score": 72.5, "marrow_finding": "hypocellular", "marrow_date": days_ago(4),
                 "symptoms": ["fatigue", "fever"], "marrow_done": True, "remark": "供者细胞，\"引号\", 逗号"}
SCREENING_ANSWERS = {"qol_score": 55.0, "symptoms": ["bruising"], "marrow_done": False}


def fixture_study(api, woman, coordinator):
    """The woman's study with items on her W1 form and on the screening form; her screening with
    labs (one entered in g/dL) and answers; her W1 assessment with labs in two units, answers,
    a transfusion and rescue therapy; an adverse event; and, at another site of the study, a
    screening whose data must never leave with an export of PUMCH."""
    study = woman.study
    w1 = woman.visits.get(code="W1").definition
    first = max(study.items.values_list("order", flat=True), default=0)
    for order, fields in enumerate(VISIT_ITEMS, start=first + 1):
        item = Item.objects.create(study=study, order=order, **fields)
        ItemPlacement.objects.create(item=item, visit_definition=w1)
        if item.code in SCREENING_ANSWERS:
            ItemPlacement.objects.create(item=item, visit_definition=None)
    activate_amendment(study)
    screening = woman.screening
    setup_update(Screening.objects.filter(pk=screening.pk), items={**screening.items, **SCREENING_ANSWERS})
    ScreeningLab.objects.create(screening=screening, analyte="HGB", value=95, entered_value=9.5, entered_unit="g/dL",
                                lln=120, uln=160, range_source="site", sampled_on=timezone.localdate() - timedelta(11))
    body = {"date": days_ago(3), "visit": "W1", "bleeding_grade": 1,
            "labs": [{"analyte": "PLT", "value": 42, "unit": "10^9/L"},
                     {"analyte": "HGB", "value": 10.2, "unit": "g/dL"},
                     {"analyte": "ANC", "value": 1500, "unit": "/uL"}],
            "items": VISIT_ANSWERS,
            "transfusions": [{"kind": "platelet", "date": days_ago(5)}],
            "rescue_therapies": [{"therapy": "ivig", "start": days_ago(6), "end": days_ago(5)}]}
    response = api.post(f"/api/v1/participants/{woman.pk}/assessments/", body, format="json")
    assert response.status_code == 201, response.json()
    event(woman, coordinator, term="Lung infection")
    other = Site.objects.create(code="XH", name="Other hospital")
    with change_context(by=None, reason="test setup"):
        study.sites.add(other)
    hidden = Screening.objects.create(study=study, site=other, sequence=1, number="XH-SECRET-001", initials="ZZ",
                                      items={"qol_score": 11.0}, created_by=coordinator)
    ScreeningLab.objects.create(screening=hidden, analyte="PLT", value=7, entered_value=7, entered_unit="10^9/L")
    return study


def read_zip(data: bytes) -> dict[str, list[dict]]:
    """{file name: rows as dicts} of a CSV export."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))
                for name in archive.namelist()}


def typed(text: str, kind: str):
    """A CSV cell read back by its dictionary type."""
    if text == "":
        return None
    return {"integer": int, "number": float, "boolean": lambda t: t == "1", "date": date.fromisoformat,
            "datetime": datetime.fromisoformat, "json": json.loads}.get(kind, str)(text)


def item_value(text: str, kind: str):
    """An item's answer read back by its type (`followup.export_domains.item_text`)."""
    if kind == "yes_no":
        return text == "true"
    if kind == "number":
        return float(text)
    if kind == "multi_choice":
        return text.split(";")
    return text


def committed_elsewhere(statements: list[tuple[str, list]]) -> None:
    """Statements run and committed by another connection, as another user's request would."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
    finally:
        other.close()
