"""Factory of infusions given, recorded through ``dosing.services.infusion_record`` as the product
records them (dose from the weight on the day, product, window check, re-planning)."""
from datetime import timedelta

import factory

from dosing import services
from dosing.models import Infusion

MSC = {"kind": "msc", "lot": "MSC-2026-014", "viability_pct": 93.5, "passage": 4}


class InfusionFactory(factory.Factory):
    """Infusion ``number`` of ``participant``, started at ``started_at`` (required) and, unless
    given, ended 40 minutes later; 60 kg; the dose level's dose when ``cells_infused`` is not given."""

    class Meta:
        model = Infusion

    participant = None
    by = None
    number = 1
    started_at = None
    ended_at = factory.LazyAttribute(lambda infusion: infusion.started_at + timedelta(minutes=40))
    weight_kg = 60.0
    cells_infused = factory.LazyAttribute(
        lambda infusion: infusion.participant.dose_level.dose_per_kg * infusion.weight_kg)
    product = factory.LazyFunction(lambda: dict(MSC))

    @classmethod
    def _create(cls, model_class, *, participant, by, **data):
        return services.infusion_record(participant=participant, by=by, data=services.InfusionInput(**data))
