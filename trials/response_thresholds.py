"""Which thresholds each response criteria family reads (CLINICAL_RULES.md sections 1-2): the one
declaration the admin, the study loader and the response pages check a criteria set against.

A set that lacks a threshold its rules read cannot judge a response; it is refused where it is
saved (admin form, `load_studies`) with a message per missing key, and a set stored incomplete
anyway (written straight to the database) is reported by the response pages and API instead of
computed. Optional thresholds have a default (used when the set has none) or none at all (the
rule is then skipped, e.g. no corticosteroid-dependence check without
`steroid_dependence_prednisone_mg`). Pure: no database.

The AIHA family holds two rules, told apart by `cr_hb`: a set with it is read as the
international-consensus style, one without it as the Chinese 2017 consensus
(`followup.response.aiha_response`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class ThresholdScheme:
    name: str  # the rule in words, for messages
    required: tuple[str, ...]
    optional: Mapping[str, float | None] = field(default_factory=dict)  # key -> default (None: rule skipped)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.required + tuple(self.optional)


# Every single-lineage set: the baseline look-back (section 1 "Baseline", 14 days for every set) and
# the confirmation of a failure (two counts this many days apart; ITP requires it).
_COMMON_OPTIONAL = {"baseline_lookback_days": 14, "confirm_failure_days": None}

SCHEMES: dict[str, ThresholdScheme] = {
    "itp": ThresholdScheme(
        "ITP (IWG 2009)",
        ("cr_platelets", "r_platelets", "r_fold_baseline", "bleeding_grade_counts_from", "confirm_response_days",
         "confirm_failure_days", "rescue_exclusion_days"),
        {"baseline_lookback_days": 14, "steroid_dependence_prednisone_mg": None},
    ),
    "aiha_international": ThresholdScheme(
        "AIHA, international consensus style",
        ("cr_hb", "pr_hb", "pr_hb_rise", "transfusion_exclusion_days", "confirm_response_days"),
        _COMMON_OPTIONAL,
    ),
    "aiha_cn2017": ThresholdScheme(
        "AIHA, Chinese 2017 consensus",
        ("pr_hb", "pr_retic_pct", "pr_tbil", "transfusion_exclusion_days", "confirm_response_days"),
        _COMMON_OPTIONAL,
    ),
    "prca": ThresholdScheme(
        "PRCA",
        ("transfusion_free_weeks", "hb_lln_male", "hb_lln_female", "pr_hb_rise", "confirm_response_days"),
        _COMMON_OPTIONAL,
    ),
    "neutropenia": ThresholdScheme(
        "Neutropenia",
        ("cr_anc", "pr_anc", "pr_fold_baseline", "gcsf_exclusion_days", "confirm_response_days"),
        _COMMON_OPTIONAL,
    ),
    "multilineage": ThresholdScheme(
        "Several lineages",
        ("confirm_response_days",),
        # A lineage without its involved_..._below threshold is involved only by definition (Evans).
        {"involved_hgb_below": None, "involved_plt_below": None, "involved_anc_below": None,
         "lineage_pairing_days": 3, "baseline_lookback_days": 14, "confirm_failure_days": None},
    ),
}

# Counted in days, weeks or grades: a fraction would be cut off silently by the rules.
_WHOLE = ("bleeding_grade_counts_from",)


def _whole(key: str) -> bool:
    return key.endswith(("_days", "_weeks")) or key in _WHOLE


def scheme_for(family: str, thresholds) -> ThresholdScheme | None:
    """The scheme a set of this family is read by; None for a family without one."""
    if family == "aiha":
        return SCHEMES["aiha_international" if isinstance(thresholds, Mapping) and "cr_hb" in thresholds
                       else "aiha_cn2017"]
    return SCHEMES.get(family)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def missing_thresholds(family: str, thresholds) -> list[str]:
    scheme = scheme_for(family, thresholds)
    if scheme is None or not isinstance(thresholds, Mapping):
        return list(scheme.required) if scheme else []
    return [key for key in scheme.required if key not in thresholds]


def threshold_errors(family: str, thresholds) -> list[str]:
    """What is wrong with a set's thresholds for its family, one message per key (empty: valid)."""
    if not isinstance(thresholds, Mapping):
        return [_("Thresholds must be a set of named numbers, e.g. {\"cr_platelets\": 100}.")]
    scheme = scheme_for(family, thresholds)
    if scheme is None:
        return [_("%(family)s: no response rules of this family.") % {"family": family}]
    errors = []
    for key in missing_thresholds(family, thresholds):
        errors.append(_("%(key)s: missing; the %(rule)s rule needs it.") % {"key": key, "rule": scheme.name})
    if family == "aiha" and "cr_hb" not in thresholds and errors:
        errors.append(_("cr_hb: without it the set is read by the Chinese 2017 rule; add cr_hb for the "
                        "international-consensus rule."))
    for key, value in thresholds.items():
        if key not in scheme.keys:
            errors.append(_("%(key)s: not a threshold of the %(rule)s rule (known: %(known)s).")
                          % {"key": key, "rule": scheme.name, "known": ", ".join(scheme.keys)})
        elif not _is_number(value) or value < 0:
            errors.append(_("%(key)s: %(value)s is not a number of 0 or more.") % {"key": key, "value": repr(value)})
        elif _whole(key) and value != int(value):
            errors.append(_("%(key)s: %(value)s is not a whole number.") % {"key": key, "value": value})
    return errors


def incomplete_message(code: str, family: str, thresholds) -> str | None:
    """The reason a stored set cannot judge a response ("... is incomplete: missing ..."), or None."""
    errors = threshold_errors(family, thresholds)
    if not errors:
        return None
    missing = missing_thresholds(family, thresholds)
    if missing:
        return _("Response criteria set %(code)s is incomplete: missing %(keys)s. An administrator completes it "
                 "under Configuration.") % {"code": code, "keys": ", ".join(missing)}
    return _("Response criteria set %(code)s is not valid: %(errors)s An administrator corrects it under "
             "Configuration.") % {"code": code, "errors": " ".join(errors)}


def with_defaults(family: str, thresholds: Mapping) -> dict:
    """The set's thresholds with the defaults of the optional ones it does not give."""
    scheme = scheme_for(family, thresholds)
    filled = dict(thresholds)
    for key, default in (scheme.optional.items() if scheme else ()):
        if default is not None:
            filled.setdefault(key, default)
    return filled


def describe_schemes() -> list[tuple[str, list[str], list[str]]]:
    """(rule, required keys, optional keys with their default) for the admin's help."""
    return [(scheme.name, list(scheme.required),
             [key if default is None else f"{key} ({_('default')} {default:g})"
              for key, default in scheme.optional.items()])
            for scheme in SCHEMES.values()]
