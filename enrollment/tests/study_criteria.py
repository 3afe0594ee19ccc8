"""The eligibility criteria of the three built-in studies, as the study files express them.

Each criterion is a rule of ``enrollment.eligibility.RULE_TYPES`` with its params
(``CLINICAL_RULES.md`` section 5); ``text`` quotes or paraphrases its line in
``/work/shared/PROTOCOLS.md`` (the source documents in ``seeds/`` win where they differ).
These lists are the reference the study configuration files are checked against.

For an exclusion criterion the rule describes the excluding condition: "met" excludes.
"""

from enrollment.eligibility import CriterionSpec


def rule(rule_type: str, **params) -> dict:
    """A nested rule as stored in params: ``{"rule_type": ..., "params": {...}}``."""
    return {"rule_type": rule_type, "params": params}


def _hb_below_100() -> dict:
    return rule("lab_threshold", analyte="HGB", op="<", value=100)


def _plt_below_30() -> dict:
    return rule("lab_threshold", analyte="PLT", op="<", value=30)


def _failed(*therapies: str, outcomes=("none",), min_weeks=None) -> dict:
    return rule(
        "prior_therapy_failure",
        therapies=list(therapies),
        failing_outcomes=list(outcomes),
        min_weeks=min_weeks,
    )


def _consent(text: str) -> CriterionSpec:
    return CriterionSpec(
        code="consent",
        kind="inclusion",
        text=text,
        rule_type="answer_equals",
        params={"field": "informed_consent_signed", "value": True},
    )


# Refractory ITP (CLINICAL_RULES.md section 1, Chinese 2020 guideline, as P3 words it): no response
# to first-line drugs (glucocorticoid or IVIG), to second-line thrombopoietic drugs and to
# rituximab; or no response to splenectomy / relapse after it.
_REFRACTORY_ITP_PARAMS = {
    "rules": [
        rule(
            "all_of",
            rules=[
                _failed("glucocorticoid", "ivig"),
                _failed("tpo_agent"),
                _failed("rituximab"),
            ],
        ),
        _failed("splenectomy", outcomes=("none", "relapse")),
    ]
}


# ------------------------------------------------------------------------------------------------
# P1 - UCB-IRIC (NCT04420494)
# ------------------------------------------------------------------------------------------------
UCB_IRIC = [
    CriterionSpec(
        code="age",
        kind="inclusion",
        text="Age 18-80 years inclusive, any sex.",
        rule_type="age_range",
        params={"min_years": 18, "max_years": 80},
    ),
    CriterionSpec(
        code="disease",
        kind="inclusion",
        text=(
            "Immune cytopenia: autoimmune haemolytic anaemia (AIHA), acquired pure red cell "
            "aplasia (PRCA), Evans syndrome or cytopenia secondary to an autoimmune disease."
        ),
        rule_type="disease_in",
        params={"diseases": ["AIHA", "PRCA", "EVANS", "SECONDARY_CYTOPENIA"]},
    ),
    CriterionSpec(
        code="aiha_hb",
        kind="inclusion",
        text="AIHA with Hb < 100 g/L.",
        rule_type="when_disease",
        params={"diseases": ["AIHA"], "rule": _hb_below_100()},
    ),
    CriterionSpec(
        code="prca_hb",
        kind="inclusion",
        text="PRCA with Hb < 100 g/L.",
        rule_type="when_disease",
        params={"diseases": ["PRCA"], "rule": _hb_below_100()},
    ),
    CriterionSpec(
        code="evans_counts",
        kind="inclusion",
        text="Evans syndrome with Hb < 100 g/L and/or platelets < 30 x10^9/L.",
        rule_type="when_disease",
        params={
            "diseases": ["EVANS"],
            "rule": rule("any_of", rules=[_hb_below_100(), _plt_below_30()]),
        },
    ),
    CriterionSpec(
        code="secondary_counts",
        kind="inclusion",
        text=(
            "Cytopenia secondary to an autoimmune disease with the same thresholds "
            "(Hb < 100 g/L or platelets < 30 x10^9/L) or neutrophils < 0.5 x10^9/L."
        ),
        rule_type="when_disease",
        params={
            "diseases": ["SECONDARY_CYTOPENIA"],
            "rule": rule(
                "any_of",
                rules=[
                    _hb_below_100(),
                    _plt_below_30(),
                    rule("lab_threshold", analyte="ANC", op="<", value=0.5),
                ],
            ),
        },
    ),
    # The registry record also says cyclosporine "for half a year" in one place; PROTOCOLS.md
    # keeps "no PR on cyclosporine 3-5 mg/kg/day" without a duration, so none is required here.
    CriterionSpec(
        code="refractory",
        kind="inclusion",
        text=(
            "Refractory: no partial response (PR) after 4 weeks of glucocorticoid therapy, or no "
            "PR on cyclosporine 3-5 mg/kg/day."
        ),
        rule_type="any_of",
        params={
            "rules": [
                _failed("glucocorticoid", min_weeks=4),
                _failed("cyclosporine"),
            ]
        },
    ),
    CriterionSpec(
        code="cardiac",
        kind="inclusion",
        text="No abnormal cardiac function.",
        rule_type="condition",
        params={"name": "abnormal_cardiac_function", "value": False},
    ),
    CriterionSpec(
        code="tbil",
        kind="inclusion",
        text="Total bilirubin <= 1.5 x ULN.",
        rule_type="lab_vs_limit",
        params={"analyte": "TBIL", "op": "<=", "multiple": 1.5, "limit": "uln"},
    ),
    CriterionSpec(
        code="alt",
        kind="inclusion",
        text="ALT <= 3.0 x ULN.",
        rule_type="lab_vs_limit",
        params={"analyte": "ALT", "op": "<=", "multiple": 3.0, "limit": "uln"},
    ),
    CriterionSpec(
        code="ast",
        kind="inclusion",
        text="AST <= 3.0 x ULN.",
        rule_type="lab_vs_limit",
        params={"analyte": "AST", "op": "<=", "multiple": 3.0, "limit": "uln"},
    ),
    CriterionSpec(
        code="creatinine",
        kind="inclusion",
        text="Serum creatinine <= 1.0 x ULN.",
        rule_type="lab_vs_limit",
        params={"analyte": "CREAT", "op": "<=", "multiple": 1.0, "limit": "uln"},
    ),
    CriterionSpec(
        code="ecog",
        kind="inclusion",
        text="ECOG performance status 0, 1 or 2.",
        rule_type="ecog_range",
        params={"min": 0, "max": 2},
    ),
    CriterionSpec(
        code="no_other_secondary_disease",
        kind="inclusion",
        text="No secondary disease other than the autoimmune disease.",
        rule_type="condition",
        params={"name": "other_secondary_disease", "value": False},
    ),
    _consent("Understands the trial, participates voluntarily and has signed informed consent."),
    # The exclusion restates the age inclusion; kept so that the screening form shows every
    # protocol line.
    CriterionSpec(
        code="age_excluded",
        kind="exclusion",
        text="Age < 18 years or > 80 years.",
        rule_type="any_of",
        params={
            "rules": [
                rule("age_range", min_years=None, max_years=17),
                rule("age_range", min_years=81, max_years=None),
            ]
        },
    ),
    CriterionSpec(
        code="tumour",
        kind="exclusion",
        text="Tumour (carcinoma in situ excepted).",
        rule_type="all_of",
        params={
            "rules": [
                rule("condition", name="tumour", value=True),
                rule("condition", name="carcinoma_in_situ_only", value=False),
            ]
        },
    ),
    CriterionSpec(
        code="infection_serious_disease",
        kind="exclusion",
        text="Uncontrollable systemic infection or other serious disease.",
        rule_type="any_of",
        params={
            "rules": [
                rule("condition", name="uncontrolled_infection", value=True),
                rule("condition", name="other_serious_disease", value=True),
            ]
        },
    ),
    CriterionSpec(
        code="pregnant_lactating",
        kind="exclusion",
        text="Women who are pregnant or lactating.",
        rule_type="when_sex",
        params={
            "sex": "female",
            "min_age_years": None,
            "only_if_answer": None,
            "rule": rule(
                "any_of",
                rules=[
                    rule("condition", name="pregnant", value=True),
                    rule("condition", name="lactating", value=True),
                ],
            ),
        },
    ),
    CriterionSpec(
        code="mental_illness",
        kind="exclusion",
        text="Mental illness that would affect informed consent or follow-up.",
        rule_type="condition",
        params={"name": "mental_illness", "value": True},
    ),
]


# ------------------------------------------------------------------------------------------------
# P3 - MSC-ITP-5 (no exclusion criteria in the source)
# ------------------------------------------------------------------------------------------------
MSC_ITP_5 = [
    _consent("The subject voluntarily signed the informed consent form."),
    CriterionSpec(
        code="age",
        kind="inclusion",
        text="Age 4 to 75 years (inclusive), male or female.",
        rule_type="age_range",
        params={"min_years": 4, "max_years": 75},
    ),
    CriterionSpec(
        code="disease",
        kind="inclusion",
        text="Primary immune thrombocytopenia (ITP).",
        rule_type="disease_in",
        params={"diseases": ["ITP"]},
    ),
    CriterionSpec(
        code="guideline_diagnosis",
        kind="inclusion",
        text=(
            "Diagnosis meets the criteria of the Chinese guideline for primary immune "
            "thrombocytopenia in adults (2020 edition)."
        ),
        rule_type="answer_equals",
        params={"field": "diagnosis_meets_guideline", "value": True},
    ),
    CriterionSpec(
        code="thrombocytopenia_duration",
        kind="inclusion",
        text="Persistent thrombocytopenia for more than 3 months.",
        rule_type="answer_number",
        params={"field": "thrombocytopenia_months", "op": ">", "value": 3},
    ),
    CriterionSpec(
        code="refractory",
        kind="inclusion",
        text=(
            "Ineffective first-line drugs, second-line thrombopoietic drugs and rituximab, or "
            "ineffective splenectomy / relapse after it."
        ),
        rule_type="any_of",
        params=_REFRACTORY_ITP_PARAMS,
    ),
    # Patients on no maintenance therapy meet this line: the screening question is asked as
    # "no maintenance therapy, or a dose stable for >= 4 weeks".
    CriterionSpec(
        code="stable_maintenance",
        kind="inclusion",
        text=(
            "Other maintenance therapy (corticosteroids, azathioprine, danazol, mycophenolate "
            "mofetil) only at a dose stable for at least 4 weeks, unchanged during the trial."
        ),
        rule_type="answer_equals",
        params={"field": "stable_maintenance_therapy_4_weeks", "value": True},
    ),
    # "ALT and/or AST <= 3 x ULN" is read as: neither exceeds 3 x ULN (both are measured).
    CriterionSpec(
        code="alt_ast",
        kind="inclusion",
        text="ALT and/or AST <= 3 x ULN.",
        rule_type="all_of",
        params={
            "rules": [
                rule("lab_vs_limit", analyte="ALT", op="<=", multiple=3, limit="uln"),
                rule("lab_vs_limit", analyte="AST", op="<=", multiple=3, limit="uln"),
            ]
        },
    ),
    CriterionSpec(
        code="tbil",
        kind="inclusion",
        text="Total bilirubin <= 1.5 x ULN.",
        rule_type="lab_vs_limit",
        params={"analyte": "TBIL", "op": "<=", "multiple": 1.5, "limit": "uln"},
    ),
    CriterionSpec(
        code="creatinine",
        kind="inclusion",
        text="Creatinine <= 1.5 x ULN or creatinine clearance > 75 mL/min.",
        rule_type="any_of",
        params={
            "rules": [
                rule("lab_vs_limit", analyte="CREAT", op="<=", multiple=1.5, limit="uln"),
                rule("creatinine_clearance", op=">", value=75),
            ]
        },
    ),
    # Childbearing potential is asked from age 12 (menarche can precede it; an investigator
    # answers "no" where it does not apply).
    CriterionSpec(
        code="women_childbearing",
        kind="inclusion",
        text=(
            "Women of childbearing potential: negative blood or urine pregnancy test, not "
            "breastfeeding, and agree to medically approved contraception during the study."
        ),
        rule_type="when_sex",
        params={
            "sex": "female",
            "min_age_years": 12,
            "only_if_answer": "childbearing_potential",
            "rule": rule(
                "all_of",
                rules=[
                    rule("answer_equals", field="pregnancy_test", value="negative"),
                    rule("condition", name="lactating", value=False),
                    rule("answer_equals", field="agrees_contraception", value=True),
                ],
            ),
        },
    ),
    # For men, the "childbearing_potential" answer records fertility.
    CriterionSpec(
        code="men_contraception",
        kind="inclusion",
        text="Fertile men agree to barrier contraception or abstinence during the study.",
        rule_type="when_sex",
        params={
            "sex": "male",
            "min_age_years": 12,
            "only_if_answer": "childbearing_potential",
            "rule": rule("answer_equals", field="agrees_contraception", value=True),
        },
    ),
    CriterionSpec(
        code="compliance",
        kind="inclusion",
        text=(
            "Able to understand the nature, purpose and risks of the trial and to comply with "
            "its requirements."
        ),
        rule_type="answer_equals",
        params={"field": "understands_and_complies", "value": True},
    ),
]


# ------------------------------------------------------------------------------------------------
# P2 - HUCMSC-ITP-ESC
# ------------------------------------------------------------------------------------------------
# The source (seeds/huc-msc-itp-dose-escalation.txt) lists no eligibility criteria. Only what its
# title and design state is encoded: consent, ITP, and refractory ITP defined as for P3
# (CLINICAL_RULES.md section 1). No age, organ-function or contraception criteria are invented.
HUCMSC_ITP_ESC = [
    _consent("Signed informed consent."),
    CriterionSpec(
        code="disease",
        kind="inclusion",
        text="Immune thrombocytopenia (ITP).",
        rule_type="disease_in",
        params={"diseases": ["ITP"]},
    ),
    CriterionSpec(
        code="refractory",
        kind="inclusion",
        text=(
            "Refractory ITP (as for MSC-ITP-5): ineffective first-line drugs, second-line "
            "thrombopoietic drugs and rituximab, or ineffective splenectomy / relapse after it."
        ),
        rule_type="any_of",
        params=_REFRACTORY_ITP_PARAMS,
    ),
]


STUDY_CRITERIA = {
    "UCB-IRIC": UCB_IRIC,
    "MSC-ITP-5": MSC_ITP_5,
    "HUCMSC-ITP-ESC": HUCMSC_ITP_ESC,
}
