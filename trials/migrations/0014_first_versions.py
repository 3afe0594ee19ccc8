"""Every running study's items and criteria as they stand become its first protocol version in
force, under the study's version number and effective date."""
from django.db import migrations
from django.utils import timezone

from trials.item_definitions import SCREENING_FORM, item_document

REASON = "Protocol version in force when protocol versions were introduced"


def first_versions(apps, schema_editor):
    Study = apps.get_model("trials", "Study")
    Item = apps.get_model("trials", "Item")
    ItemPlacement = apps.get_model("trials", "ItemPlacement")
    Criterion = apps.get_model("trials", "EligibilityCriterion")
    Visit = apps.get_model("trials", "VisitDefinition")
    StudyVersion = apps.get_model("trials", "StudyVersion")
    History = apps.get_model("trials", "HistoricalStudyVersion")
    now = timezone.now()
    for study in Study.objects.filter(status="active", active_version__isnull=True):
        visits = list(Visit.objects.filter(study=study).order_by("order", "pk"))
        rank = {visit.pk: index for index, visit in enumerate(visits, start=1)}
        codes = {visit.pk: visit.code for visit in visits}
        forms = {}
        for row in ItemPlacement.objects.filter(item__study=study):
            forms.setdefault(row.item_id, []).append(row.visit_definition_id)
        items = [item_document(item, [codes[v] if v else SCREENING_FORM
                                      for v in sorted(forms.get(item.pk, []), key=lambda v: rank.get(v, 0))])
                 for item in Item.objects.filter(study=study).order_by("order", "code")]
        criteria = [{"code": c.code, "kind": c.kind, "text": c.text, "source": c.source, "rule_type": c.rule_type,
                     "params": c.params} for c in Criterion.objects.filter(study=study).order_by("order", "pk")]
        version = StudyVersion.objects.create(
            study=study, version=study.version, effective_date=study.effective_date, status="active",
            protocol={"items": items, "criteria": criteria}, visits=[[v.code, v.pk] for v in visits], changes=[],
            reason=REASON, activated_at=now)
        History.objects.create(
            id=version.pk, study_id=study.pk, version=version.version, effective_date=version.effective_date,
            status=version.status, protocol=version.protocol, visits=version.visits, changes=[], reason=REASON,
            activated_at=now, history_date=now, history_type="+", history_change_reason=REASON)
        Study.objects.filter(pk=study.pk).update(active_version=version)


class Migration(migrations.Migration):
    dependencies = [("trials", "0013_study_versions")]
    operations = [migrations.RunPython(first_versions, migrations.RunPython.noop)]
