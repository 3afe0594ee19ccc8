"""The lineages a disease involves by definition are the disease catalogue's (an administrator's
data): a several-lineage response grades them whatever their baseline."""
from followup.tests.support import assess_counts, p1_participant
from trials.audit import audited_save
from trials.models import Disease


def test_a_lineage_the_catalogue_gives_the_disease_is_involved_whatever_its_baseline(api, coordinator, studies,
                                                                                    make_user):
    secondary = Disease.objects.get(code="SECONDARY_CYTOPENIA")
    secondary.lineages = ["red_cells"]
    audited_save(secondary, by=make_user("admin"), reason="Haemolysis defines the study's population")
    participant = p1_participant(coordinator, "SECONDARY_CYTOPENIA")
    assess_counts(api, participant, 0, HGB=130, PLT=20, ANC=0.4)
    assess_counts(api, participant, 20, HGB=131, PLT=120, ANC=1.6)
    assess_counts(api, participant, 28, HGB=129, PLT=130, ANC=1.8)

    body = api.get(f"/api/v1/participants/{participant.pk}/response/").json()

    assert set(body["lineages"]) == {"HGB", "PLT", "ANC"}
    assert "HGB involved (SECONDARY_CYTOPENIA)" in body["explanation"]


def test_the_shipped_lineages_keep_evans_red_cells_and_platelets_and_none_for_secondary_cytopenia(studies):
    assert dict(Disease.objects.filter(code__in=["EVANS", "SECONDARY_CYTOPENIA"]).values_list("code", "lineages")) == {
        "EVANS": ["platelets", "red_cells"], "SECONDARY_CYTOPENIA": []}
