"""load_studies creates the three studies exactly as PROTOCOLS.md and CLINICAL_RULES.md section 8 say."""
import pytest
from django.core.management import call_command

from trials.models import (
    DoseLevel,
    EligibilityCriterion,
    InfusionDefinition,
    ResponseCriteriaSet,
    Site,
    Study,
    StudyDisease,
    VisitDefinition,
)
from trials.selectors import infusion_rows
from trials.services import studies_load


def infusions(code):
    return [
        (d.number, d.anchor, d.offset_days, d.window_before_days, d.window_after_days)
        for d in InfusionDefinition.objects.filter(arm__study__code=code).order_by("number")
    ]


def visits(code, **filters):
    return {
        v.code: (v.anchor, v.offset, v.offset_unit, v.window_before, v.window_after, v.window_unit)
        for v in VisitDefinition.objects.filter(study__code=code, **filters)
    }


def test_load_studies_creates_the_three_studies_at_pumch(studies):
    assert set(studies) == {"UCB-IRIC", "HUCMSC-ITP-ESC", "MSC-ITP-5"}
    for study in studies.values():
        assert list(study.sites.values_list("code", flat=True)) == ["PUMCH"]
    assert Site.objects.get(code="PUMCH").name == "Peking Union Medical College Hospital, Beijing"


def test_p3_has_five_infusions_chained_on_the_previous_actual_infusion(studies):
    assert infusions("MSC-ITP-5") == [
        (1, "day0", 0, 0, 0),
        (2, "previous_actual", 7, 1, 1),
        (3, "previous_actual", 14, 3, 3),
        (4, "previous_actual", 14, 3, 3),
        (5, "previous_actual", 14, 3, 3),
    ]
    arm = studies["MSC-ITP-5"].arms.get()
    assert [row.nominal_day for row in infusion_rows(arm)] == [0, 7, 21, 35, 49]
    assert arm.missed_infusion_rule == "last_given"


def test_p3_follow_up_d14_to_m12_is_anchored_on_the_last_infusion(studies):
    follow_up = visits("MSC-ITP-5", anchor="last_infusion")
    assert follow_up == {
        "D14": ("last_infusion", 14, "days", 3, 3, "days"),
        "M1": ("last_infusion", 30, "days", 7, 7, "days"),
        "M2": ("last_infusion", 60, "days", 7, 7, "days"),
        "M3": ("last_infusion", 90, "days", 7, 7, "days"),
        "M6": ("last_infusion", 180, "days", 14, 14, "days"),
        "M9": ("last_infusion", 270, "days", 14, 14, "days"),
        "M12": ("last_infusion", 360, "days", 14, 14, "days"),
    }


def test_p3_dose_is_configuration_with_hard_limits(studies):
    level = DoseLevel.objects.get(arm__study__code="MSC-ITP-5")
    assert (level.code, level.dose_basis, level.dose_per_kg, level.status) == ("STD", "per_kg", 1e8, "open")
    assert level.hard_limits == (0.5, 2.0)
    assert level.group_cap is None


def test_p2_has_three_dose_levels_with_caps_of_three(studies):
    levels = [
        (lv.code, lv.order, lv.dose_per_kg, lv.group_cap, lv.status)
        for lv in DoseLevel.objects.filter(arm__study__code="HUCMSC-ITP-ESC").order_by("order")
    ]
    assert levels == [
        ("A", 1, 0.5e6, 3, "open"),
        ("B", 2, 1.0e6, 3, "planned"),
        ("C", 3, 2.0e6, 3, "planned"),
    ]
    # No hard limits in the file: the defaults of CLINICAL_RULES.md section 4, 0.5x-2x.
    assert {lv.hard_limits for lv in DoseLevel.objects.filter(arm__study__code="HUCMSC-ITP-ESC")} == {(0.5, 2.0)}
    assert studies["HUCMSC-ITP-ESC"].uses_dose_escalation is True


def test_p2_has_four_weekly_infusions(studies):
    assert infusions("HUCMSC-ITP-ESC") == [
        (1, "day0", 0, 0, 0),
        (2, "day0", 7, 1, 1),
        (3, "day0", 14, 1, 1),
        (4, "day0", 21, 1, 1),
    ]


def test_p2_assessment_schedule(studies):
    weekly = visits("HUCMSC-ITP-ESC", code__startswith="W")
    assert sorted(weekly, key=lambda code: int(code[1:])) == [f"W{w}" for w in range(1, 29)]
    assert all(row == ("first_infusion", 7 * int(code[1:]), "days", 2, 2, "days") for code, row in weekly.items())
    by_code = {v.code: v for v in VisitDefinition.objects.filter(study__code="HUCMSC-ITP-ESC")}
    virology = {c: (v.offset, v.window_before, v.window_after)
                for c, v in by_code.items() if "virology" in v.assessments}
    assert virology == {"VIR-W4": (28, 3, 3), "VIR-W16": (112, 3, 3)}
    immune = {c for c, v in by_code.items() if "immune_function" in v.assessments}
    assert immune == {"D-1", "W2", "W4", "W8", "W12", "W16", "W28"}
    assert (by_code["D-1"].anchor, by_code["D-1"].offset) == ("first_infusion", -1)
    samples = sorted(
        (v.offset if v.offset_unit == "minutes" else v.offset * 60, v.sex_restriction)
        for v in by_code.values() if "cell_concentration" in v.assessments
    )
    assert samples == [(m, "female") for m in (-30, 30, 60, 120, 240, 480, 960, 1440, 2880, 5760)]
    antibodies = {c: (v.anchor, v.offset, v.offset_unit, v.first_n_participants)
                  for c, v in by_code.items() if "anti_msc_antibody" in v.assessments}
    assert antibodies == {
        "AB-PRE": ("first_infusion", -30, "minutes", 9),
        "AB-48H": ("last_infusion", 48, "hours", 9),
    }


def test_p1_has_one_infusion_and_visits_from_half_a_month_to_24_months(studies):
    assert infusions("UCB-IRIC") == [(1, "day0", 0, 0, 0)]
    follow_up = visits("UCB-IRIC", code__startswith="M")
    assert follow_up == {
        "M0.5": ("first_infusion", 15, "days", 7, 7, "days"),
        "M1": ("first_infusion", 30, "days", 7, 7, "days"),
        "M2": ("first_infusion", 60, "days", 7, 7, "days"),
        "M3": ("first_infusion", 90, "days", 7, 7, "days"),
        "M6": ("first_infusion", 180, "days", 14, 14, "days"),
        "M9": ("first_infusion", 270, "days", 14, 14, "days"),
        "M12": ("first_infusion", 360, "days", 14, 14, "days"),
        "M18": ("first_infusion", 540, "days", 14, 14, "days"),
        "M24": ("first_infusion", 720, "days", 14, 14, "days"),
    }
    assert studies["UCB-IRIC"].enrolment_target == 20
    assert studies["UCB-IRIC"].registry_id == "NCT04420494"


@pytest.mark.parametrize(
    "code, diseases",
    [
        ("UCB-IRIC", {"AIHA": "AIHA-INTL", "PRCA": "PRCA-STD", "EVANS": "MULTILINEAGE",
                      "SECONDARY_CYTOPENIA": "MULTILINEAGE"}),
        ("HUCMSC-ITP-ESC", {"ITP": "IWG2009-ITP"}),
        ("MSC-ITP-5", {"ITP": "IWG2009-ITP"}),
    ],
)
def test_each_study_names_a_response_criteria_set_per_disease(studies, code, diseases):
    rows = StudyDisease.objects.filter(study__code=code).values_list("disease", "response_criteria__code")
    assert dict(rows) == diseases


def test_both_aiha_criteria_sets_ship_with_their_thresholds(studies):
    sets = {s.code: s for s in ResponseCriteriaSet.objects.all()}
    assert sets["AIHA-INTL"].thresholds["cr_hb"] == 120
    assert sets["AIHA-CN2017"].thresholds["pr_hb"] == 80
    assert sets["IWG2009-ITP"].thresholds == {
        "cr_platelets": 100, "r_platelets": 30, "r_fold_baseline": 2, "bleeding_grade_counts_from": 2,
        "confirm_response_days": 7, "confirm_failure_days": 1, "baseline_lookback_days": 14,
        "rescue_exclusion_days": 14, "steroid_dependence_prednisone_mg": 5,
    }


@pytest.mark.parametrize(
    "code, inclusion, exclusion",
    [
        ("UCB-IRIC", 14, 4),
        ("MSC-ITP-5", 12, 0),
        ("HUCMSC-ITP-ESC", 2, 0),
    ],
)
def test_each_study_has_its_criteria_each_traceable_to_the_protocol(studies, code, inclusion, exclusion):
    criteria = EligibilityCriterion.objects.filter(study__code=code)
    assert criteria.filter(kind="inclusion").count() == inclusion
    assert criteria.filter(kind="exclusion").count() == exclusion
    assert all(c.source.startswith("PROTOCOLS.md") for c in criteria)


def test_p3_creatinine_criterion_accepts_clearance_as_alternative(studies):
    criterion = EligibilityCriterion.objects.get(study__code="MSC-ITP-5", code="creatinine")
    assert criterion.rule_type == "any_of"
    assert [r["rule_type"] for r in criterion.params["rules"]] == ["lab_vs_limit", "creatinine_clearance"]
    assert criterion.params["rules"][1]["params"]["value"] == 75


def test_load_studies_twice_changes_nothing(studies):
    history_before = sum(model.history.count() for model in (Study, DoseLevel, VisitDefinition, EligibilityCriterion))
    report = studies_load()
    assert report.changed is False
    assert report.not_in_file == []
    history_after = sum(model.history.count() for model in (Study, DoseLevel, VisitDefinition, EligibilityCriterion))
    assert history_after == history_before


def test_load_studies_command_reports_up_to_date(studies, capsys):
    call_command("load_studies")
    assert "Studies are up to date." in capsys.readouterr().out


def test_load_studies_keeps_a_dose_level_status_changed_since(studies):
    level = DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B")
    level.status = "open"
    level._change_reason = "Escalation decision"
    level.save()
    studies_load()
    level.refresh_from_db()
    assert level.status == "open"


def test_load_studies_keeps_an_administrators_change_and_reports_it(studies):
    visit = VisitDefinition.objects.get(study__code="MSC-ITP-5", code="D14")
    visit.window_after = 5
    visit._change_reason = "Amendment 2"
    visit.save()
    report = studies_load()
    visit.refresh_from_db()
    assert visit.window_after == 5
    assert report.differs == ["MSC-ITP-5 visit D14: window_after"]
    assert report.changed is False


def test_load_studies_update_restores_the_file_with_the_file_as_reason(studies):
    visit = VisitDefinition.objects.get(study__code="MSC-ITP-5", code="D14")
    visit.window_after = 5
    visit._change_reason = "trying"
    visit.save()
    report = studies_load(update=True)
    visit.refresh_from_db()
    assert visit.window_after == 3
    assert report.updated == ["MSC-ITP-5 visit D14"]
    assert visit.history.first().history_change_reason == "Loaded from study definition MSC-ITP-5.yaml"
