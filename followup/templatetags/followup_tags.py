"""Template helpers of the follow-up pages."""
from dataclasses import dataclass

from django import template

from followup import dashboard_tables
from followup.ctcae_terms import ctcae_terms, shown_term
from followup.record_states import CloseOut
from followup.sdv import Progress, participant_records, plan_scope
from followup.selectors import visit_form_items
from followup.services import assessment_can_correct
from followup.visit_items import VisitForms
from trials import catalogues
from trials.scoping import Action, can
from trials.units import format_number

register = template.Library()


@dataclass(frozen=True)
class AssessmentRow:
    assessment: object
    visit_code: str
    labs: str
    can_correct: bool
    items: list  # the answers to the study's items by section: (section, [(code, label, shown, empty)])
    lab_results: tuple = ()  # (lab result id, the lab in SI) each, in the order of `labs` (their audit trails)


@register.simple_tag
def assessment_rows(participant, user) -> list[AssessmentRow]:
    """The participant's assessments for the participant page, oldest first: date, visit, the labs
    in SI, the answers to the study's items by section, and whether `user` may correct them. Reads
    nothing more when the participant's `assessments__labs` and `visits` are prefetched (the
    participant page does), but the study's visit forms once when an assessment holds answers."""
    visits = {visit.pk: visit for visit in participant.visits.all()}
    may_correct = assessment_can_correct(user, participant)
    assessments = sorted(participant.assessments.all(), key=lambda a: (a.date, a.pk))
    forms = visit_form_items(participant.study_id) if any(a.items for a in assessments) else VisitForms()
    rows = []
    analytes = catalogues.current().analytes
    order = {code: index for index, code in enumerate(analytes)}
    for assessment in assessments:
        visit = visits.get(assessment.visit_id)
        lab_results = tuple(
            (lab.pk, f"{lab.analyte} {format_number(lab.value, 3)} {analytes[lab.analyte].si_unit}")
            for lab in sorted(assessment.labs.all(), key=lambda lab: order.get(lab.analyte, len(order))))
        rows.append(AssessmentRow(
            assessment=assessment, visit_code=visit.code if visit else "",
            labs=", ".join(text for _pk, text in lab_results), can_correct=may_correct,
            items=forms.answered_sections(visit.definition_id if visit else None, assessment.items),
            lab_results=lab_results))
    return rows


@register.simple_tag
def participant_sdv(participant, user, signed: bool = False) -> dict:
    """The participant's records with their SDV state for the participant page (`followup.sdv`):
    reads the participant's verifications (one query) and the screening's labs unless prefetched,
    the plan unless selected with the study (the participant page does both). `signed`: the
    casebook's signature holds (`followup.signoff`, read by the page); a lock of the casebook or of
    its study is read from the participant and its study (`followup.record_states.CloseOut`)."""
    scope = plan_scope(participant.study)
    records = participant_records(participant, scope=scope)
    close_out = CloseOut(signed=bool(signed),
                         locked=participant.locked_at is not None or participant.study.locked_at is not None)
    progress = Progress()
    for record in records:
        record.close_out = close_out
        progress.add(record)
    return {"scope": scope, "records": records, "progress": progress,
            "may_verify": can(user, Action.VERIFY, [participant.site_id]) and not close_out.locked}


register.filter("percent_ci", dashboard_tables.percent_ci)  # "40.0 % (12.2-73.8 %)" from a rate and its CI
register.filter("percent_range", dashboard_tables.percent_range)  # "12.2-73.8 %"
register.filter("percent", dashboard_tables.percent)  # 0.514 -> "51.4 %"
register.filter("ctcae_term", shown_term)  # "Anemia" -> "贫血" to a Chinese reader; an unlisted term as recorded


@register.filter
def ctcae_soc(listed) -> str:
    """A listed CTCAE term's system organ class in the reader's language."""
    return ctcae_terms().shown_soc(listed)
