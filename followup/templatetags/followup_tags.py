"""Template helpers of the follow-up pages."""
from dataclasses import dataclass

from django import template

from followup.services import assessment_can_correct
from trials import catalogues
from trials.units import format_number

register = template.Library()


@dataclass(frozen=True)
class AssessmentRow:
    assessment: object
    visit_code: str
    labs: str
    can_correct: bool


@register.simple_tag
def assessment_rows(participant, user) -> list[AssessmentRow]:
    """The participant's assessments for the participant page, oldest first: date, visit, the labs
    in SI, and whether `user` may correct them. Reads nothing more when the participant's
    `assessments__labs` and `visits` are prefetched (the participant page does)."""
    codes = {visit.pk: visit.code for visit in participant.visits.all()}
    may_correct = assessment_can_correct(user, participant)
    rows = []
    analytes = catalogues.current().analytes
    order = {code: index for index, code in enumerate(analytes)}
    for assessment in sorted(participant.assessments.all(), key=lambda a: (a.date, a.pk)):
        labs = ", ".join(f"{lab.analyte} {format_number(lab.value, 3)} {analytes[lab.analyte].si_unit}"
                         for lab in sorted(assessment.labs.all(), key=lambda lab: order.get(lab.analyte, len(order))))
        rows.append(AssessmentRow(assessment=assessment, visit_code=codes.get(assessment.visit_id, ""), labs=labs,
                                  can_correct=may_correct))
    return rows
