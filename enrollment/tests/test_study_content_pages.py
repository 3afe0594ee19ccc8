"""The screening pages in the reader's language (`trials.content`): the criteria, the items' labels,
sections and code lists in Chinese for a Chinese reader, the English for an English one; a
criterion without a Chinese text shows its English, marked `lang="en"`."""
import pytest
from django.urls import reverse
from django.utils import translation

from enrollment.tests.support import create_screening
from trials.models import EligibilityCriterion
from trials.tests.support import activate_amendment, setup_save


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


def test_the_screening_page_shows_criteria_and_answers_in_chinese_for_a_chinese_reader(client, coordinator, studies):
    screening = create_screening(coordinator)
    client.force_login(coordinator)
    url = reverse("screening-detail", args=[screening.pk])

    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<td class="small" lang="zh-Hans" data-study-content>能够理解并遵守研究要求。</td>' in chinese
    assert '<td lang="zh-Hans" data-study-content>理解本研究并能依从</td>' in chinese
    assert '<h2 class="h5" lang="zh-Hans" data-study-content>其他问题</h2>' in chinese
    assert "Able to understand and comply with the study." not in chinese
    assert ('<td class="small" lang="en" data-study-content>Able to understand and comply with the study.</td>'
            in english)
    assert "能够理解并遵守研究要求" not in english


def test_the_screening_form_labels_items_and_code_lists_in_the_readers_language(client, coordinator, studies):
    client.force_login(coordinator)
    url = reverse("screening-new", args=["MSC-ITP-5"])

    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'lang="zh-Hans" data-study-content>妊娠试验</label>' in chinese
    assert '<option value="negative">阴性</option>' in chinese
    assert 'lang="zh-Hans" data-study-content>疾病与状况</h2>' in chinese
    assert 'lang="en" data-study-content>Pregnancy test</label>' in english
    assert '<option value="negative">Negative</option>' in english


def test_a_criterion_without_chinese_text_reads_in_english_marked_so(client, coordinator, studies):
    study = studies["MSC-ITP-5"]
    criterion = EligibilityCriterion.objects.get(study=study, code="compliance")
    criterion.text_zh = ""
    setup_save(criterion)
    activate_amendment(study)
    screening = create_screening(coordinator)
    client.force_login(coordinator)

    chinese = client.get(reverse("screening-detail", args=[screening.pk]),
                         HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert ('<td class="small" lang="en" data-study-content>Able to understand and comply with the study.</td>'
            in chinese)
    assert '<td class="small" lang="zh-Hans" data-study-content>血小板减少持续3个月以上。</td>' in chinese
