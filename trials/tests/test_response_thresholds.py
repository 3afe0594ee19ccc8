"""The thresholds each response criteria family reads (trials/response_thresholds.py), checked
against the shipped sets (trials/studies/response_criteria.yaml, CLINICAL_RULES.md sections 1-2)."""
import pytest
import yaml

from trials.response_thresholds import incomplete_message, scheme_for, threshold_errors, with_defaults
from trials.services import RESPONSE_CRITERIA_FILE, STUDIES_DIR

SHIPPED = {row["code"]: row for row in yaml.safe_load((STUDIES_DIR / RESPONSE_CRITERIA_FILE).read_text("utf-8"))}


@pytest.mark.parametrize("code", sorted(SHIPPED))
def test_shipped_set_is_complete(code):
    assert threshold_errors(SHIPPED[code]["family"], SHIPPED[code]["thresholds"]) == []


@pytest.mark.parametrize("code, scheme", [
    ("IWG2009-ITP", "ITP (IWG 2009)"),
    ("AIHA-INTL", "AIHA, international consensus style"),  # has cr_hb
    ("AIHA-CN2017", "AIHA, Chinese 2017 consensus"),       # has none
    ("PRCA-STD", "PRCA"),
    ("NEUTROPENIA-STD", "Neutropenia"),
    ("MULTILINEAGE", "Several lineages"),
])
def test_each_shipped_set_is_read_by_its_rule(code, scheme):
    assert scheme_for(SHIPPED[code]["family"], SHIPPED[code]["thresholds"]).name == scheme


@pytest.mark.parametrize("family, thresholds, errors", [
    ("prca", {"transfusion_free_weeks": 8, "hb_lln_male": 120, "hb_lln_female": 110, "pr_hb_rise": 20},
     ["confirm_response_days: missing; the PRCA rule needs it."]),
    ("multilineage", {"confirm_response_days": 7, "lineage_pairing_days": 3, "baseline_lookback_days": 14}, []),
    ("multilineage", {"confirm_response_days": 7, "involved_hgb_below": True},
     ["involved_hgb_below: True is not a number of 0 or more."]),
    ("prca", {"transfusion_free_weeks": 8.5, "hb_lln_male": 120, "hb_lln_female": 110, "pr_hb_rise": 20,
              "confirm_response_days": 7}, ["transfusion_free_weeks: 8.5 is not a whole number."]),
    ("itp", [100, 30], ['Thresholds must be a set of named numbers, e.g. {"cr_platelets": 100}.']),
])
def test_threshold_errors(family, thresholds, errors):
    assert threshold_errors(family, thresholds) == errors


def test_optional_thresholds_take_their_defaults():
    # CLINICAL_RULES.md section 1: a 14-day baseline look-back for every set; section 2: lineages
    # measured within 3 days of each other are paired.
    assert with_defaults("multilineage", {"confirm_response_days": 7}) == {
        "confirm_response_days": 7, "lineage_pairing_days": 3, "baseline_lookback_days": 14}
    assert with_defaults("aiha", {"cr_hb": 120, "baseline_lookback_days": 10})["baseline_lookback_days"] == 10


def test_incomplete_message_names_the_set_and_its_missing_keys():
    assert incomplete_message("NEUTRO", "neutropenia", {"cr_anc": 1.5, "pr_anc": 0.5}) == (
        "Response criteria set NEUTRO is incomplete: missing pr_fold_baseline, gcsf_exclusion_days, "
        "confirm_response_days. An administrator completes it under Configuration.")
    assert incomplete_message("NEUTROPENIA-STD", "neutropenia", SHIPPED["NEUTROPENIA-STD"]["thresholds"]) is None
