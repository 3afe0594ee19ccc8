"""Arrangement helpers of the infusion tests, shared with the follow-up tests: a P3 participant's
infusions given through the API or the form, on days counted from the first infusion's planned
day (:func:`day0`, 70 days ago, computed when called)."""
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from enrollment.tests.support import today

TZ = timezone.get_current_timezone()


def day0() -> date:
    """The planned day of the first infusion of the `participant` fixture: 70 days ago."""
    return today() - timedelta(days=70)


def at(day_offset, hour=9, minute=30):
    return datetime.combine(day0() + timedelta(days=day_offset), time(hour, minute), tzinfo=TZ).isoformat()


MSC = {"kind": "msc", "lot": "MSC-2026-014", "viability_pct": 93.5, "passage": 4}


def give(api, participant, number, day, **extra):
    body = {"number": number, "started_at": at(day), "ended_at": at(day, 10, 5), "weight_kg": 60.0,
            "cells_infused": 6.0e9, "product": MSC, **extra}
    return api.post(f"/api/v1/participants/{participant.pk}/infusions/", body, format="json")


def form_data(day, **changes):
    start = datetime.combine(day0() + timedelta(days=day), time(9, 30))
    return {"number": 1, "started_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ended_at": (start + timedelta(minutes=35)).strftime("%Y-%m-%dT%H:%M"), "weight_kg": "60",
            "cells_infused": "6e9", "product_lot": "MSC-2026-014", "product_viability_pct": "93.5",
            "product_passage": "4", "before_temperature_c": "36.6", "after_temperature_c": "37.1", **changes}
