"""What must never hold is refused by the database itself (CONVENTIONS.md 'Invariants')."""
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from trials.models import Arm, DoseLevel, EligibilityCriterion, InfusionDefinition, Study, VisitDefinition
from trials.tests.support import setup_update


def raw_save(instance):
    """Create bypassing history and form validation, as a buggy path or raw SQL would."""
    instance.skip_history_when_saving = True
    with transaction.atomic():
        instance.save()


def new_arm(study):
    arm = Arm(study=study, code="NEW", name="New arm", product_kind="msc")
    raw_save(arm)
    return arm


@pytest.fixture
def arm(studies):
    return Arm.objects.get(study__code="MSC-ITP-5")


@pytest.mark.parametrize(
    "make, constraint",
    [
        (lambda arm: InfusionDefinition(arm=arm, number=2, anchor="previous_actual", offset_days=7),
         "infusion_number_unique_in_arm"),
        (lambda arm: InfusionDefinition(arm=arm, number=9, anchor="previous_actual", offset_days=7,
                                        window_before_days=-1), "infusion_window_not_inverted"),
        (lambda arm: InfusionDefinition(arm=arm, number=0, anchor="day0", offset_days=0), "infusion_number_positive"),
        (lambda arm: InfusionDefinition(arm=new_arm(arm.study), number=1, anchor="previous_actual", offset_days=7),
         "first_infusion_anchored_on_day0"),
        (lambda arm: DoseLevel(arm=arm, code="X", order=9, dose_basis="per_kg", dose_per_kg=None),
         "dose_matches_basis"),
        (lambda arm: DoseLevel(arm=arm, code="X", order=9, dose_basis="flat", dose_per_kg=1e6, flat_dose=1e8),
         "dose_matches_basis"),
        (lambda arm: DoseLevel(arm=arm, code="X", order=9, dose_basis="per_kg", dose_per_kg=1e6,
                               hard_limit_low=0.5, hard_limit_high=0.9), "hard_limits_bracket_the_dose"),
        (lambda arm: DoseLevel(arm=arm, code="X", order=9, dose_basis="per_kg", dose_per_kg=1e6,
                               hard_limit_low=1.0, hard_limit_high=2.0), "hard_limits_bracket_the_dose"),
        (lambda arm: DoseLevel(arm=arm, code="X", order=9, dose_basis="per_kg", dose_per_kg=1e6,
                               hard_limit_low=0, hard_limit_high=2.0), "hard_limits_bracket_the_dose"),
        (lambda arm: DoseLevel(arm=arm, code="STD", order=9, dose_basis="per_kg", dose_per_kg=1e6),
         "dose_level_code_unique_in_arm"),
        (lambda arm: DoseLevel(arm=arm, code="Y", order=1, dose_basis="per_kg", dose_per_kg=1e6),
         "dose_level_order_unique_in_arm"),
        (lambda arm: DoseLevel(arm=arm, code="Z", order=8, dose_basis="per_kg", dose_per_kg=1e6, group_cap=0),
         "group_cap_positive"),
        (lambda arm: VisitDefinition(study=arm.study, code="D14", label="dup", anchor="last_infusion", offset=14),
         "visit_code_unique_in_study"),
        (lambda arm: VisitDefinition(study=arm.study, code="NEW", label="x", anchor="last_infusion", offset=14,
                                     window_before=-2), "visit_window_not_inverted"),
        (lambda arm: VisitDefinition(study=arm.study, code="NEW", label="x", anchor="last_infusion", offset=14,
                                     first_n_participants=0), "visit_first_n_positive"),
        (lambda arm: EligibilityCriterion(study=arm.study, code="age", kind="inclusion", text="dup",
                                          rule_type="age_range", params={}), "criterion_code_unique_in_study"),
        (lambda arm: Arm(study=arm.study, code="MSC", name="dup", product_kind="msc"), "arm_code_unique_in_study"),
    ],
)
def test_database_refuses_what_must_never_hold(arm, make, constraint):
    instance = make(arm)
    with pytest.raises(IntegrityError) as caught:
        raw_save(instance)
    message = str(caught.value)
    # PostgreSQL names the violated constraint (a positive-integer column has its own check);
    # SQLite names the kind of constraint.
    assert any(text in message
               for text in (constraint, "_check", "UNIQUE constraint failed", "CHECK constraint failed"))


def test_study_target_must_be_positive(studies):
    with pytest.raises(IntegrityError), transaction.atomic():
        setup_update(Study.objects.filter(code="UCB-IRIC"), enrolment_target=0)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("dose_per_kg", None, "A per-kg dose level needs a dose per kg greater than 0."),
        ("hard_limit_low", 1.0,
         "The low hard limit must be between 0 and 1 (a fraction of the computed dose, e.g. 0.5)."),
        ("hard_limit_low", 0.0,
         "The low hard limit must be between 0 and 1 (a fraction of the computed dose, e.g. 0.5)."),
        ("hard_limit_high", 1.0, "The high hard limit must be above 1 (a multiple of the computed dose, e.g. 2)."),
        ("flat_dose", 5e8, "Leave the flat dose empty for a per-kg dose level."),
    ],
)
def test_dose_level_validation_names_the_field(arm, field, value, message):
    level = DoseLevel.objects.get(arm=arm)
    setattr(level, field, value)
    with pytest.raises(ValidationError) as caught:
        level.full_clean()
    assert caught.value.message_dict[field] == [message]


def test_first_infusion_cannot_follow_a_previous_one(arm):
    first = InfusionDefinition.objects.get(arm=arm, number=1)
    first.anchor = "previous_actual"
    with pytest.raises(ValidationError) as caught:
        first.full_clean()
    assert caught.value.message_dict["anchor"] == ["The first infusion has no previous infusion: anchor it on day 0."]


def test_visit_with_unknown_assessment_is_refused(arm):
    visit = VisitDefinition.objects.get(study=arm.study, code="D14")
    visit.assessments = ["platelets", "astrology"]
    with pytest.raises(ValidationError) as caught:
        visit.full_clean()
    assert caught.value.message_dict["assessments"][0].startswith("Choose assessments from this list:")


def test_criterion_parameters_are_validated_by_the_rule_library(arm):
    criterion = EligibilityCriterion(study=arm.study, code="hb", kind="inclusion", text="Hb",
                                     rule_type="lab_threshold", params={"analyte": "HBX", "op": "<", "value": 100})
    with pytest.raises(ValidationError) as caught:
        criterion.full_clean()
    assert "analyte" in caught.value.message_dict["params"][0]
