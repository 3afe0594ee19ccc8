"""Checks of an assessment's corticosteroid dose and bleeding grade, used by `followup.services`
when an assessment is recorded or corrected (CLINICAL_RULES.md section 1)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from trials.models import StudyDisease

from .steroids import STEROID_DRUGS, prednisone_equivalent

STEROID_MG_PER_DAY_MAX = Decimal("2000")
# Families whose criteria grade platelets with the WHO bleeding grade (several lineages grade
# platelets by the ITP set).
BLEEDING_RULE_FAMILIES = frozenset({"itp", "multilineage"})


def _number(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _given(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def steroid_dose(drug, dose, equivalent, errors) -> tuple[str, Decimal | None, Decimal | None]:
    """(drug, dose of the drug, prednisone-equivalent mg/day) as stored, problems added to `errors`.

    Either the drug (`steroid_drug`) and its daily dose (`steroid_dose_mg_per_day`), converted to
    the prednisone equivalent by `followup.steroids.prednisone_equivalent`, or the prednisone
    equivalent alone (`steroid_mg_per_day`, as recorded before the drug was asked); not both.
    """
    drug = (drug or "").strip() if isinstance(drug, str) else drug
    if not drug and not _given(dose):
        return "", None, _equivalent(equivalent, errors)
    if not drug:
        errors.add("steroid_drug", _("Name the corticosteroid of this dose (one of %(codes)s).") % {
            "codes": ", ".join(STEROID_DRUGS)})
        return "", None, None
    if drug not in STEROID_DRUGS:
        errors.add("steroid_drug", _("Use one of %(codes)s.") % {"codes": ", ".join(STEROID_DRUGS)})
        return "", None, None
    if _given(equivalent):
        errors.add("steroid_mg_per_day", _("Give either the corticosteroid and its dose or the prednisone-equivalent "
                                           "dose, not both: the equivalent is computed from the drug."))
        return "", None, None
    amount = _number(dose) if _given(dose) else None
    if amount is None or amount < 0:
        errors.add("steroid_dose_mg_per_day", _("Give the daily dose of %(drug)s in mg, a number from 0.") % {
            "drug": drug})
        return "", None, None
    if amount > STEROID_MG_PER_DAY_MAX:
        # Every drug's equivalent is at least its own dose in mg: refused before any rounding (a huge
        # number such as 1e30 would overflow it).
        errors.add("steroid_dose_mg_per_day", _("%(dose)s mg/day of %(drug)s is above 2000 mg/day prednisone "
                                                "equivalent: check the dose.") % {
            "dose": format(amount.normalize(), "f"), "drug": drug})
        return "", None, None
    amount = amount.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    converted = prednisone_equivalent(drug, amount)
    if converted > STEROID_MG_PER_DAY_MAX:
        errors.add("steroid_dose_mg_per_day", _("%(dose)s mg/day of %(drug)s is %(equivalent)s mg/day prednisone "
                                                "equivalent, above 2000: check the dose.") % {
            "dose": format(amount.normalize(), "f"), "drug": drug, "equivalent": converted})
        return "", None, None
    return drug, amount, converted


def _equivalent(value, errors) -> Decimal | None:
    """The prednisone-equivalent daily dose as stored (2 decimals); None when not given."""
    if not _given(value):
        return None
    dose = _number(value)
    if dose is None or not 0 <= dose <= STEROID_MG_PER_DAY_MAX:
        errors.add("steroid_mg_per_day", _("Give the corticosteroid dose as prednisone-equivalent mg/day, a number "
                                           "from 0 to 2000."))
        return None
    return dose.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def bleeding_rule_applies(participant) -> bool:
    """Whether the response criteria of the participant's disease in their study use the WHO
    bleeding grade (ITP, and platelets within several lineages): then every assessment records it."""
    family = (StudyDisease.objects.filter(study_id=participant.study_id, disease=participant.screening.disease)
              .values_list("response_criteria__family", flat=True).first())
    return family in BLEEDING_RULE_FAMILIES


def require_bleeding_grade(participant, grade, errors) -> None:
    if grade is None and bleeding_rule_applies(participant):
        errors.add("bleeding_grade", _("Give the WHO bleeding grade (0 to 4; 0 when there is no bleeding): the "
                                       "response criteria of this participant's disease use it."))
