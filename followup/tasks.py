from celery import shared_task

from trials.models import Study

from . import services


@shared_task(name="followup.compute_outcomes", ignore_result=True)
def compute_outcomes(study_id: int) -> None:
    study = Study.objects.filter(pk=study_id).first()
    if study is None:  # deleted meanwhile
        return
    services.outcomes_compute(study=study)
