"""Dose-limiting toxicity: which adverse event is a DLT, the DLT window, and who is DLT-evaluable
(CLINICAL_RULES.md section 4). Pure functions, re-exported by `dosing.escalation`, whose 3+3
decisions count the DLTs they find."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trials.numbers import whole_number

DLT_RELATEDNESS = ("unrelated", "unlikely", "possible", "probable", "definite")
TREATMENT_RELATED = ("possible", "probable", "definite")
DLT_CATEGORIES = ("haematological", "non_haematological", "infusion_reaction", "allergic", "fever")

_CATEGORY_WORDS = {
    "haematological": gettext_lazy("haematological toxicity"),
    "non_haematological": gettext_lazy("non-haematological toxicity"),
    "infusion_reaction": gettext_lazy("infusion reaction"),
    "allergic": gettext_lazy("allergic reaction"),
    "fever": gettext_lazy("fever"),
}
_RELATED_WORDS = {"possible": gettext_lazy("possibly related"), "probable": gettext_lazy("probably related"),
                  "definite": gettext_lazy("definitely related")}

DLT_WINDOW_DAYS_AFTER_LAST_INFUSION = 28



# --------------------------------------------------------------------------- DLT window and definition


def dlt_window(
    first_infusion: date,
    last_planned_infusion: date,
    days_after: int = DLT_WINDOW_DAYS_AFTER_LAST_INFUSION,
) -> tuple[date, date]:
    """The DLT window, both ends inclusive: first infusion to ``days_after`` (28) days after the
    last *planned* infusion (CLINICAL_RULES.md section 4). Calendar arithmetic, so month ends and
    29 February fall where the calendar puts them. Dates only: a ``datetime`` raises
    ``TypeError`` (take ``.date()`` in the site's time zone first)."""
    for name, value in (("first_infusion", first_infusion), ("last_planned_infusion", last_planned_infusion)):
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"{name} must be a date, got {value!r}")
    days_after = whole_number(days_after, "days_after")
    if days_after < 0:
        raise ValueError(f"days_after must not be negative, got {days_after}")
    if last_planned_infusion < first_infusion:
        raise ValueError(
            f"last planned infusion {last_planned_infusion.isoformat()} is before the first infusion "
            f"{first_infusion.isoformat()}"
        )
    return first_infusion, last_planned_infusion + timedelta(days=days_after)


def is_dlt(
    *,
    grade: int,
    category: str,
    related: str,
    resolved_to_grade1_within_48h: bool = False,
    stopped_infusions: bool = False,
    platelet_drop_confirmed: bool = False,
) -> tuple[bool, str]:
    """Whether an adverse event is a dose-limiting toxicity (CLINICAL_RULES.md section 4).

    DLT = a treatment-related (possibly, probably or definitely) event of: grade >= 3
    non-haematological toxicity (except grade 3 fever resolved to <= grade 1 within 48 h); grade
    >= 3 infusion or allergic reaction; platelets falling >= 50 % below baseline confirmed twice
    (``platelet_drop_confirmed``); grade 5; a toxicity that stops the planned infusions
    (``stopped_infusions``). Fever counts as non-haematological. Haematological toxicity of any
    grade below 5 is not a DLT by itself (the participants start cytopenic) unless it is the
    confirmed platelet drop or stops the infusions. The 48 h exception applies to grade 3 fever
    only. ``grade`` is the confirmed CTCAE grade (1-5).

    Returns ``(is_dlt, explanation)``; raises ``ValueError`` for an unknown grade, category or
    attribution, or a flag that is not a bool.
    """
    grade = whole_number(grade, "grade")
    if not 1 <= grade <= 5:
        raise ValueError(f"grade must be a CTCAE grade 1-5, got {grade}")
    if category not in DLT_CATEGORIES:
        raise ValueError(f"category must be one of {DLT_CATEGORIES}, got {category!r}")
    if related not in DLT_RELATEDNESS:
        raise ValueError(f"related must be one of {DLT_RELATEDNESS}, got {related!r}")
    for name, flag in (
        ("resolved_to_grade1_within_48h", resolved_to_grade1_within_48h),
        ("stopped_infusions", stopped_infusions),
        ("platelet_drop_confirmed", platelet_drop_confirmed),
    ):
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    event = _("grade %(grade)s %(category)s") % {"grade": grade, "category": _CATEGORY_WORDS[category]}

    if related not in TREATMENT_RELATED:
        if related == "unrelated":
            return False, _("Not a DLT: %(event)s is unrelated to treatment; a DLT must be possibly, probably or "
                            "definitely related (section 4).") % {"event": event}
        return False, _("Not a DLT: %(event)s is unlikely related to treatment; a DLT must be possibly, probably "
                        "or definitely related (section 4).") % {"event": event}
    words = {"event": event, "related": _RELATED_WORDS[related]}
    if grade == 5:
        return True, _("DLT: %(event)s, %(related)s - grade 5 is always a DLT (section 4).") % words
    if stopped_infusions:
        return True, _("DLT: %(event)s, %(related)s, stopped the planned infusions (section 4).") % words
    if platelet_drop_confirmed:
        return True, _("DLT: platelets fell >= 50 %% below baseline, confirmed twice, %(related)s (section 4).") % words
    if category == "haematological":
        return False, _(
            "Not a DLT: %(event)s counts only as grade 5, a platelet fall >= 50 %% below baseline confirmed twice, "
            "or when it stops the planned infusions (section 4).") % words
    if grade < 3:
        return False, _("Not a DLT: %(event)s; a DLT needs grade >= 3 (section 4).") % words
    if category == "fever" and grade == 3 and resolved_to_grade1_within_48h:
        return False, _("Not a DLT: %(event)s resolved to <= grade 1 within 48 h (section 4 exception).") % words
    return True, _("DLT: %(event)s, %(related)s: grade >= 3 (section 4).") % words


def could_be_dlt(
    *,
    grade: int | None,
    category: str,
    related: str | None,
    resolved_to_grade1_within_48h: bool = False,
    stopped_infusions: bool = False,
    platelet_drop_confirmed: bool = False,
) -> bool:
    """Whether an adverse event **draft** could be a DLT once an investigator confirms it
    (CLINICAL_RULES.md section 4): :func:`is_dlt` on the draft's values, every criterion but the
    confirmation. What the draft does not say yet is taken at its worst: no grade is grade 5, no
    attribution is "definite". A draft that could be a DLT keeps its participant's DLT assessment
    open (module docstring). Raises ``ValueError`` as :func:`is_dlt` does for a value it refuses.
    """
    dlt, _explanation = is_dlt(
        grade=5 if grade is None else grade,
        category=category,
        related=related or "definite",
        resolved_to_grade1_within_48h=resolved_to_grade1_within_48h,
        stopped_infusions=stopped_infusions,
        platelet_drop_confirmed=platelet_drop_confirmed,
    )
    return dlt


def is_dlt_evaluable(*, infusions_received: int, infusions_planned: int, had_dlt: bool) -> bool:
    """DLT-evaluable = received all planned infusions, or had a DLT (CLINICAL_RULES.md section 4).

    More infusions received than planned still counts as all received. Raises ``ValueError`` for
    negative counts or fewer than one planned infusion.
    """
    infusions_received = whole_number(infusions_received, "infusions_received")
    infusions_planned = whole_number(infusions_planned, "infusions_planned")
    if infusions_received < 0:
        raise ValueError(f"infusions_received must not be negative, got {infusions_received}")
    if infusions_planned < 1:
        raise ValueError(f"infusions_planned must be at least 1, got {infusions_planned}")
    if not isinstance(had_dlt, bool):
        raise ValueError(f"had_dlt must be True or False, got {had_dlt!r}")
    return had_dlt or infusions_received >= infusions_planned
