"""What the product itself names reads in the reader's language: the shipped catalogues' names
(diseases, prior therapies, lab analytes) and the roles in the navigation; an administrator's own
catalogue row shows its name as written."""
import pytest
from django.utils import translation

from trials import catalogues
from trials.catalogue_names import shown_name
from trials.languages import language_choose

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind, code, english, chinese", [
    ("analytes", "PLT", "Platelets", "血小板"),
    ("analytes", "HGB", "Haemoglobin", "血红蛋白"),
    ("analytes", "ANC", "Neutrophils", "中性粒细胞绝对值"),
    ("analytes", "ALT", "ALT", "谷丙转氨酶"),
    ("analytes", "HAPTO", "Haptoglobin", "结合珠蛋白"),
    ("diseases", "ITP", "Immune thrombocytopenia", "免疫性血小板减少症"),
    ("therapies", "rituximab", "Rituximab", "利妥昔单抗"),
])
def test_a_shipped_catalogue_name_reads_in_the_active_language(studies, kind, code, english, chinese):
    entry = getattr(catalogues.current(), kind)[code]
    name = entry.label if kind == "analytes" else entry.name
    with translation.override("en"):
        assert str(name) == english
    with translation.override("zh-hans"):
        assert str(name) == chinese


def test_a_name_the_catalogue_of_translations_does_not_hold_is_shown_as_written():
    with translation.override("zh-hans"):
        assert str(shown_name("Eltrombopag")) == "Eltrombopag"


def test_the_navigation_names_the_roles_in_the_users_language(client, studies, make_user):
    user = make_user("coordinator", username="mei")
    language_choose(user, "zh-hans", by=user, reason="test setup")
    client.force_login(user)

    page = client.get("/").content.decode()

    assert "mei · 研究协调员</span>" in page
