"""Visit labels and visit items in the reader's language (`trials.content`): the participant page's
schedule and the visit form's heading, items and sections in Chinese for a Chinese reader."""
import pytest
from django.urls import reverse
from django.utils import translation

from followup.tests.support import form_url


@pytest.fixture(autouse=True)
def english_after_each_test():
    yield
    translation.deactivate()


def test_the_participant_page_names_the_visits_in_the_readers_language(client, woman, coordinator):
    client.force_login(coordinator)
    url = reverse("participant-detail", args=[woman.pk])

    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<td class="wrap" lang="zh-Hans" data-study-content>第1周</td>' in chinese
    assert '<td class="wrap" lang="en" data-study-content>Week 1</td>' in english


def test_the_visit_form_asks_its_items_in_the_readers_language(client, woman, coordinator):
    client.force_login(coordinator)

    chinese = client.get(form_url(woman, "W4"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    english = client.get(form_url(woman, "W4"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'W4 – <span lang="zh-Hans" data-study-content>第4周</span>' in chinese
    assert 'lang="zh-Hans" data-study-content>辅助性T细胞17（Th17） (% of lymphocytes)</label>' in chinese
    assert 'lang="zh-Hans" data-study-content>免疫功能</h2>' in chinese
    assert 'lang="en" data-study-content>Th17 (% of lymphocytes)</label>' in english
    assert 'lang="en" data-study-content>Immune function</h2>' in english
