"""Reading the English details screenings stored before criteria kept their results as messages.

Until then each criterion outcome of ``Screening.eligibility`` kept its values and arithmetic as an
English ``detail`` (the wording of ``eligibility_text.english``). :func:`detail_message` reads such
a text back into the message the rules now give; a text it cannot read exactly - one that would not
be worded again letter for letter - becomes a ``text`` message holding it unchanged, so nothing is
lost. Used by the data migration ``enrollment/migrations/0009_eligibility_messages``.
"""
from __future__ import annotations

import re

from .eligibility_text import Message, english, listed, message, text, word

_DATE = r"\d{4}-\d{2}-\d{2}"
_NUM = r"-?\d+(?:\.\d+)?"
_OP = r"<=|>=|<|>|==|!="
_PERIOD = rf"({_DATE}|\?) to ({_DATE}|ongoing)"
_NAME = r"[a-z][a-z0-9 ]*"


class _Unreadable(ValueError):
    pass


def _number(value: str) -> int | float:
    return int(value) if re.fullmatch(r"-?\d+", value) else float(value)


def _split(value: str, separator: str) -> list[str]:
    """``value`` split at each ``separator`` outside parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(value):
        char = value[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and value.startswith(separator, i):
            parts.append(value[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(value[start:])
    return parts


def _lab_name(value: str) -> str | Message:
    if match := re.fullmatch(r"(.+) \(([A-Z0-9_]+)\)", value):
        return message("lab_name", label=match[1], analyte=match[2])
    if re.fullmatch(r"[A-Z0-9_]+", value):
        return value
    raise _Unreadable(value)


def _period(start: str, end: str) -> Message:
    return message("period_ongoing", start=start) if end == "ongoing" else message("period", start=start, end=end)


_FIXED_ITEMS = {
    "birth date": "birth_date", "screening date": "screening_date", "diagnosis date": "diagnosis_date",
    "disease": "disease", "ECOG performance status": "ecog",
    "sex (male or female, Cockcroft-Gault formula)": "sex_for_cockcroft_gault",
    "weight (Cockcroft-Gault formula)": "weight_for_cockcroft_gault",
    "prior therapies (not recorded)": "prior_therapies_not_recorded", "sex (male or female)": "sex_male_or_female",
}


def _missing_item(value: str) -> str | Message:  # noqa: PLR0911 - one reading per wording
    if value in _FIXED_ITEMS:
        return message(_FIXED_ITEMS[value])
    if m := re.fullmatch(rf"a valid birth date \(birth date ({_DATE}) is after the screening date ({_DATE})\)", value):
        return message("birth_after_screening", birth=m[1], screening=m[2])
    if m := re.fullmatch(rf"a valid diagnosis date \(diagnosis date ({_DATE}) is after the screening date "
                         rf"({_DATE})\)", value):
        return message("diagnosis_after_screening", diagnosis=m[1], screening=m[2])
    if m := re.fullmatch(r"height \(bedside Schwartz formula, age (\d+) y\)", value):
        return message("height_for_schwartz", age=int(m[1]))
    if m := re.fullmatch(r"usable inputs for creatinine clearance \((.*)\)", value):
        return message("clearance_inputs", problem=m[1])
    if m := re.fullmatch(r"(upper|lower) limit of normal \((?:ULN|LLN)\) for (.+)", value):
        return message(f"{m[1]}_limit_for", lab=_lab_name(m[2]))
    if m := re.fullmatch(r"(.+) result", value):
        return message("lab_result", lab=_lab_name(m[1]))
    if m := re.fullmatch(rf"outcome of (\S+) course {_PERIOD}", value):
        return message("course_outcome_missing", therapy=m[1], period=_period(m[2], m[3]))
    if m := re.fullmatch(rf"(start|screening) date of (\S+) course {_PERIOD} \(for its duration\)", value):
        code = "course_start_missing" if m[1] == "start" else "course_screening_date_missing"
        return message(code, therapy=m[2], period=_period(m[3], m[4]))
    if m := re.fullmatch(rf"({_NAME}) \(yes/no\)", value):
        return message("item_yes_no", name=m[1])
    if m := re.fullmatch(rf"({_NAME}) as yes or no \(recorded '(.*)'\)", value):
        return message("item_not_yes_no", name=m[1], answer=m[2])
    if m := re.fullmatch(rf"({_NAME}) as a number \(recorded '(.*)'\)", value):
        return message("item_not_number", name=m[1], answer=m[2])
    if m := re.fullmatch(rf"({_NAME}) \(a date\)", value):
        return message("item_date", name=m[1])
    if m := re.fullmatch(rf"({_NAME}) on or before the screening date \(recorded ({_DATE}), screening ({_DATE})\)",
                         value):
        return message("item_date_after_screening", name=m[1], date=m[2], screening=m[3])
    if re.fullmatch(_NAME, value):
        return value
    raise _Unreadable(value)


def _items(value: str) -> Message:
    return listed("list_comma", [_missing_item(item) for item in _split(value, ", ")])


def _missing(value: str) -> Message:
    """The detail of a missing result ("missing: " already removed)."""
    parts = _split(value, "; ")
    if len(parts) > 1:
        return message("missing_with", items=_items(parts[0]), detail=_detail("; ".join(parts[1:])))
    try:
        return message("missing", items=_items(value))
    except _Unreadable:
        pass
    if value.endswith(")"):
        depth = 0
        for i in range(len(value) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(value[i], 0)
            if depth == 0:
                break
        if i > 1 and value[i - 1] == " ":
            return message("missing_because", items=_items(value[:i - 1]), explanation=_detail(value[i + 1:-1]))
    raise _Unreadable(value)


def _reason(value: str) -> Message:
    """Why a rule does not apply ("not applicable: " already removed)."""
    if m := re.fullmatch(r"disease (\S+) is not one of (.+)", value):
        return message("disease_not_in", disease=m[1], diseases=listed("list_comma", m[2].split(", ")))
    if m := re.fullmatch(r"rule for (male|female) participants; sex is (\S+)", value):
        return message("rule_for_sex", sex=word(m[1]), actual=word(m[2]))
    if m := re.fullmatch(r"age (\d+) y is below (\d+) y", value):
        return message("age_below", age=int(m[1]), minimum=int(m[2]))
    if m := re.fullmatch(rf"({_NAME}): no", value):
        return message("answered", name=m[1], answer=word("no"))
    for joiner, code in ((" and ", "list_and"), (" or ", "list_or")):
        parts = _split(value, joiner)
        if len(parts) > 1 and all(p.startswith("(") and p.endswith(")") for p in parts):
            return listed(code, [message("bracketed", detail=_reason(p[1:-1])) for p in parts])
    raise _Unreadable(value)


def _lab(value: str) -> Message:
    if m := re.fullmatch(rf"(\S+) ({_NUM}) (\S*) \(({_DATE})\)", value):
        return message("lab_value_dated", analyte=m[1], value=_number(m[2]), unit=m[3], date=m[4])
    if m := re.fullmatch(rf"(\S+) ({_NUM}) (\S*)", value):
        return message("lab_value", analyte=m[1], value=_number(m[2]), unit=m[3])
    raise _Unreadable(value)


def _formula(value: str) -> Message:
    if m := re.fullmatch(rf"bedside Schwartz \(age (\d+) y, under (\d+)\): 36\.5 x ({_NUM}) cm / ({_NUM}) umol/L = "
                         rf"({_NUM}) mL/min/1\.73 m2", value):
        return message("schwartz", age=int(m[1]), adult_age=int(m[2]), height=_number(m[3]),
                       creatinine=_number(m[4]), clearance=m[5])
    if m := re.fullmatch(rf"Cockcroft-Gault \((male|female), (\d+) y\): \(140 - \d+\) x ({_NUM}) kg x ({_NUM}) "
                         rf"\(([^)]*)\) / ({_NUM}) umol/L = ({_NUM}) mL/min", value):
        return message("cockcroft_gault", sex=word(m[1]), age=int(m[2]), weight=_number(m[3]), factor=m[4],
                       factor_text=m[5], creatinine=_number(m[6]), clearance=m[7])
    raise _Unreadable(value)


def _required_therapy(value: str) -> Message:
    m = re.fullmatch(r"criterion (.+?) with outcome (.+?)(?: for >= (\d+) weeks)?", value)
    if not m:
        raise _Unreadable(value)
    therapies, outcomes = listed("list_or", m[1].split(" or ")), listed("list_or", m[2].split(" or "))
    if m[3] is None:
        return message("therapy_required", therapies=therapies, outcomes=outcomes)
    return message("therapy_required_weeks", therapies=therapies, outcomes=outcomes, weeks=int(m[3]))


def _course(value: str) -> Message:
    if m := re.fullmatch(rf"(\S+) {_PERIOD} \(({_NUM}) weeks\), outcome (\S+) \((qualifies|shorter than (\d+) weeks)\)",
                         value):
        said = {"therapy": m[1], "period": _period(m[2], m[3]), "weeks": _number(m[4]), "outcome": m[5]}
        if m[6] == "qualifies":
            return message("course_weeks_qualifies", **said)
        return message("course_weeks_short", minimum=int(m[7]), **said)
    if m := re.fullmatch(rf"(\S+) {_PERIOD}, outcome not recorded", value):
        return message("course_no_outcome", therapy=m[1], period=_period(m[2], m[3]))
    if m := re.fullmatch(rf"(\S+) {_PERIOD}, outcome (\S+)(?: \((not a failure|qualifies)\))?", value):
        code = {None: "course", "not a failure": "course_not_failure", "qualifies": "course_qualifies"}[m[5]]
        return message(code, therapy=m[1], period=_period(m[2], m[3]), outcome=m[4])
    raise _Unreadable(value)


def _combination(value: str) -> Message | None:
    m = re.fullmatch(r"(all|any) of: (.+)", value)
    if not m:
        return None
    joiner = " and " if m[1] == "all" else " or "
    parts = []
    for part in _split(m[2], joiner):
        if not (part.startswith("(") and part.endswith(")")):
            raise _Unreadable(value)
        inner = part[1:-1]
        if decided := re.fullmatch(r"(.+) -> (met|not met|missing)", inner):
            parts.append(message("part", detail=_detail(decided[1]), outcome=word(decided[2])))
        else:
            parts.append(message("bracketed", detail=_detail(inner)))
    return message(f"{m[1]}_of", parts=listed("list_and" if m[1] == "all" else "list_or", parts))


def _context(value: str) -> Message | None:
    if m := re.fullmatch(r"disease (\S+): (.+)", value):
        return message("in_context", context=message("disease_context", disease=m[1]), detail=_detail(m[2]))
    if m := re.fullmatch(rf"(male|female)(?:, (\d+) y)?(?:, ({_NAME}))?: (.+)", value):
        context = [word(m[1])] + ([message("years", age=int(m[2]))] if m[2] else []) + ([m[3]] if m[3] else [])
        return message("in_context", context=listed("list_comma", context), detail=_detail(m[4]))
    return None


def _decided(value: str) -> Message:  # noqa: PLR0911 - one reading per rule type
    if m := re.fullmatch(rf"age (\d+) y on ({_DATE}) \(born ({_DATE})\); criterion (.+)", value):
        if r := re.fullmatch(r"(\d+)-(\d+) y", m[4]):
            required = message("years_between", low=int(r[1]), high=int(r[2]))
        elif r := re.fullmatch(r">= (\d+) y", m[4]):
            required = message("years_at_least", low=int(r[1]))
        elif r := re.fullmatch(r"<= (\d+) y", m[4]):
            required = message("years_at_most", high=int(r[1]))
        else:
            raise _Unreadable(value)
        return message("age", age=int(m[1]), screening=m[2], birth=m[3], required=required)
    if m := re.fullmatch(rf"(.+) = ({_NUM}) x (ULN|LLN) ({_NUM}) (\S*); criterion ({_OP}) ({_NUM}) x \3", value):
        return message("lab_vs_limit", lab=_lab(m[1]), ratio=_number(m[2]), limit_name=m[3], limit=_number(m[4]),
                       unit=m[5], op=m[6], multiple=_number(m[7]))
    if m := re.fullmatch(rf"(.+); (ULN|LLN) ({_NUM}) (\S*); criterion ({_OP}) ({_NUM}) x \2", value):
        return message("lab_vs_zero_limit", lab=_lab(m[1]), limit_name=m[2], limit=_number(m[3]), unit=m[4],
                       op=m[5], multiple=_number(m[6]))
    if m := re.fullmatch(rf"(.+); criterion ({_OP}) ({_NUM}) mL/min", value):
        return message("clearance", formula=_formula(m[1]), op=m[2], limit=_number(m[3]))
    if m := re.fullmatch(r"ECOG (\d+); criterion (\d+)-(\d+)", value):
        return message("ecog_range", ecog=int(m[1]), low=int(m[2]), high=int(m[3]))
    if m := re.fullmatch(r"disease (\S+); criterion one of (.+)", value):
        return message("disease_in", disease=m[1], diseases=listed("list_comma", m[2].split(", ")))
    if m := re.fullmatch(rf"diagnosed ({_DATE}), (\d+) whole months before screening on ({_DATE}); criterion "
                         rf"({_OP}) (\d+) months", value):
        return message("disease_duration", diagnosis=m[1], months=int(m[2]), screening=m[3], op=m[4],
                       minimum=int(m[5]))
    if m := re.fullmatch(r"no (.+?) recorded; (criterion .+)", value):
        return message("no_therapy_recorded", therapies=listed("list_or", m[1].split(" or ")),
                       required=_required_therapy(m[2]))
    if value.endswith("weeks") or " with outcome " in value:
        parts = _split(value, "; ")
        if len(parts) > 1 and parts[-1].startswith("criterion ") and " with outcome " in parts[-1]:
            return message("courses", courses=listed("list_semicolon", [_course(p) for p in parts[:-1]]),
                           required=_required_therapy(parts[-1]))
    if m := re.fullmatch(rf"(.+) ({_DATE}) to screening ({_DATE}): (\d+) (days|weeks|months); criterion ({_OP}) "
                         rf"({_NUM}) \5", value):
        return message("time_since", name=m[1], start=m[2], screening=m[3], elapsed=int(m[4]), unit=word(m[5]),
                       op=m[6], value=_number(m[7]))
    if m := re.fullmatch(r"(.+?): (.+); criterion one of (.+)", value):
        return message("answer_in", name=m[1], answers=listed("list_comma", m[2].split(", ")),
                       wanted=listed("list_comma", m[3].split(", ")))
    if m := re.fullmatch(rf"(.+?): ({_NUM}); criterion ({_OP}) ({_NUM})", value):
        return message("answer_number", name=m[1], answer=_number(m[2]), op=m[3], value=_number(m[4]))
    if m := re.fullmatch(r"(.+?): (.+); criterion (.+)", value):
        return message("answer", name=m[1], answer=_answer(m[2]), wanted=_answer(m[3]))
    if m := re.fullmatch(rf"(.+); criterion ({_OP}) ({_NUM}) (\S*)", value):
        return message("lab_threshold", lab=_lab(m[1]), op=m[2], limit=_number(m[3]), unit=m[4])
    raise _Unreadable(value)


def _answer(value: str):
    return word(value) if value in ("yes", "no") else value


def _detail(value: str) -> Message:
    if value.startswith("not applicable: "):
        return message("not_applicable", reason=_reason(value.removeprefix("not applicable: ")))
    if value.startswith("missing: "):
        return _missing(value.removeprefix("missing: "))
    for reading in (_combination, _context):
        if (found := reading(value)) is not None:
            return found
    return _decided(value)


def detail_message(detail: str) -> Message:
    """The message a stored English ``detail`` words; a ``text`` message holding it when it cannot
    be read back exactly."""
    detail = str(detail or "")
    try:
        found = _detail(detail)
    except (_Unreadable, ValueError, KeyError):
        return text(detail)
    return found if english(found) == detail else text(detail)


def rows_with_messages(rows) -> tuple[list, bool]:
    """``Screening.eligibility`` rows with each English ``detail`` replaced by its ``explanation``
    message, and whether any row changed."""
    converted, changed = [], False
    for row in rows or []:
        if isinstance(row, dict) and "detail" in row and "explanation" not in row:
            row = {**{key: value for key, value in row.items() if key != "detail"},
                   "explanation": detail_message(row["detail"])}
            changed = True
        converted.append(row)
    return converted, changed


def rows_with_english(rows) -> tuple[list, bool]:
    """The reverse: each ``explanation`` message replaced by its English ``detail``."""
    converted, changed = [], False
    for row in rows or []:
        if isinstance(row, dict) and "explanation" in row:
            row = {**{key: value for key, value in row.items() if key != "explanation"},
                   "detail": english(row["explanation"])}
            changed = True
        converted.append(row)
    return converted, changed
