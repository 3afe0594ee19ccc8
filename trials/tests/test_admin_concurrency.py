"""No lost update in study configuration (trials/admin_forms.py `ReasonForm.read_at`): two
administrators open the same page; the first saves; the second's save, made from the page as it
was before, is refused naming who changed it, and nothing of theirs is written. A change to a row
edited on the same page (an inline criterion) counts too."""
from django.urls import reverse

from trials.audit import change_context
from trials.models import EligibilityCriterion, Study
from trials.tests.admin_forms import form_errors, inline_row, page_data


def test_a_save_from_a_page_read_before_another_save_is_refused(admin_client, studies, make_user, client):
    study = studies["MSC-ITP-5"]
    target = study.enrolment_target
    url = reverse("admin:trials_study_change", args=[study.pk])
    mine = admin_client.get(url)
    client.force_login(make_user("admin", username="second-admin"))
    theirs = client.get(url)

    first = client.post(url, page_data(theirs) | {"title": "Title by the second administrator",
                                                  "change_reason": "Registry title"})
    assert first.status_code == 302, form_errors(first)

    refused = admin_client.post(url, page_data(mine) | {"enrolment_target": target + 10,
                                                  "change_reason": "More patients"})
    assert refused.status_code == 200
    [message] = refused.context["adminform"].form.non_field_errors()
    assert "second-admin changed this record" in message and "Registry title" in message
    study.refresh_from_db()
    assert (study.title, study.enrolment_target) == ("Title by the second administrator", target)

    again = admin_client.post(url, page_data(admin_client.get(url)) | {"enrolment_target": target + 10,
                                                                         "change_reason": "More patients"})
    assert again.status_code == 302, form_errors(again)
    assert Study.objects.get(pk=study.pk).enrolment_target == target + 10


def test_a_row_of_the_page_changed_meanwhile_also_refuses_the_save(admin_client, studies):
    study = studies["MSC-ITP-5"]
    url = reverse("admin:trials_study_change", args=[study.pk])
    page = admin_client.get(url)
    with change_context(by=None, reason="Reworded elsewhere"):
        criterion = EligibilityCriterion.objects.get(study=study, code="tbil")
        criterion.text = "Total bilirubin <= 1.5 x ULN (reworded)."
        criterion.save()

    data = page_data(page) | {"change_reason": "Typo"}
    data[f"{inline_row(page, EligibilityCriterion, code='tbil')}-text"] = "My wording"
    refused = admin_client.post(url, data)

    assert refused.status_code == 200
    assert "Reworded elsewhere" in refused.context["adminform"].form.non_field_errors()[0]
    assert EligibilityCriterion.objects.get(pk=criterion.pk).text == "Total bilirubin <= 1.5 x ULN (reworded)."
