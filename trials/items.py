"""Study-defined items (the data dictionary): their definitions, their values and where rules use them.

Pure module: no ORM, no clock (today is an argument). An item is defined once per study
(`trials.models.Item`, or a study definition file's `items`) and placed on the screening form
and on visit forms; its values are kept as JSON (`Screening.items`, `Assessment.items`) in the
typed form `clean_value` returns: yes/no as true/false, numbers as numbers, dates as ISO text,
a choice as its code, a multiple choice as a list of codes, text as text.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from .content import content, pick
from .errors import Errors

YES_NO = "yes_no"
NUMBER = "number"
DATE = "date"
CHOICE = "choice"
MULTI_CHOICE = "multi_choice"
TEXT = "text"
TYPES = (YES_NO, NUMBER, DATE, CHOICE, MULTI_CHOICE, TEXT)

DEFAULT_TEXT_LENGTH = 200
MAX_TEXT_LENGTH = 2000
APPLIES_IF_KEYS = ("sex", "min_age_years", "max_age_years", "item", "equals")

# Names of the screening's own facts: an item may not take one (the API and the screening form
# address items by their code beside these).
RESERVED_CODES = frozenset({
    "screening_date", "initials", "birth_date", "sex", "weight_kg", "height_cm", "disease", "diagnosis_date",
    "ecog", "labs", "prior_therapies", "prior_therapies_recorded", "site", "reason", "conditions", "answers",
    "items", "study", "number", "id", "version",
})


@dataclass(frozen=True)
class ItemSpec:
    """One item's definition, as `trials.models.Item` holds it."""

    code: str
    label: str
    type: str
    help_text: str = ""
    unit: str = ""
    min_value: float | None = None
    max_value: float | None = None
    decimals: int | None = None
    max_length: int | None = None
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    applies_if: Mapping = field(default_factory=dict)
    # The Chinese texts (`trials.content`): empty where the study gives none.
    label_zh: str = ""
    help_text_zh: str = ""
    choices_zh: tuple[tuple[str, str], ...] = ()

    @property
    def choice_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _label in self.choices)

    @property
    def shown_label(self) -> str:
        """The label in the reader's language (`trials.content`)."""
        return content(self, "label")

    @property
    def shown_help_text(self) -> str:
        return content(self, "help_text")

    @property
    def shown_choices(self) -> list[tuple[str, str]]:
        """The code list with each label in the reader's language."""
        chinese = dict(self.choices_zh)
        return [(code, pick(label, chinese.get(code))) for code, label in self.choices]

    def choice_label(self, code) -> str:
        """A choice's label in the reader's language; an unknown code as it is."""
        return dict(self.shown_choices).get(code, str(code))


def choice_pairs(choices, key: str = "label") -> tuple[tuple[str, str], ...]:
    """(code, label) pairs of a code list as stored (`[{"code", "label", "label_zh"}]`); with `key`
    "label_zh", the Chinese labels given."""
    return tuple((str(c.get("code")), str(c.get(key))) for c in choices or []
                 if isinstance(c, dict) and (key == "label" or c.get(key)))


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fmt(number: float) -> str:
    return f"{number:g}"


# --------------------------------------------------------------------------------------------
# Definitions
# --------------------------------------------------------------------------------------------


def definition_errors(spec: ItemSpec, codes: Iterable[str] = ()) -> dict[str, list[str]]:
    """What is wrong with an item's definition, by field; `codes` are the study's item codes (for
    a condition on another item)."""
    errors = Errors()
    if spec.code in RESERVED_CODES:
        errors.add("code", _("'%(code)s' is a fact of the screening itself; give the item another code.") % {
            "code": spec.code})
    if spec.type not in TYPES:
        errors.add("type", _("Unknown item type '%(type)s'; use one of %(types)s.") % {
            "type": spec.type, "types": ", ".join(TYPES)})
        return dict(errors)
    if spec.type == NUMBER:
        if spec.min_value is not None and spec.max_value is not None and spec.min_value > spec.max_value:
            errors.add("min_value", _("The lowest plausible value is above the highest."))
        if spec.decimals is not None and not 0 <= spec.decimals <= 6:
            errors.add("decimals", _("Allow 0 to 6 decimals."))
    else:
        for name in ("min_value", "max_value", "decimals"):
            if getattr(spec, name) is not None:
                errors.add(name, _("Only a number item has a plausible range and decimals."))
        if spec.unit:
            errors.add("unit", _("Only a number item has a unit."))
    if spec.type in (CHOICE, MULTI_CHOICE):
        codes_seen = [code for code, _label in spec.choices]
        if not codes_seen:
            errors.add("choices", _("List the choices (a code and a label each)."))
        duplicates = sorted({code for code in codes_seen if codes_seen.count(code) > 1})
        if duplicates:
            errors.add("choices", _("Each choice needs a code of its own: %(codes)s repeated.") % {
                "codes": ", ".join(duplicates)})
        if any(not str(code).strip() or not str(label).strip() for code, label in spec.choices):
            errors.add("choices", _("Every choice needs a code and a label."))
    elif spec.choices:
        errors.add("choices", _("Only a choice item has choices."))
    if spec.type == TEXT:
        if spec.max_length is not None and not 1 <= spec.max_length <= MAX_TEXT_LENGTH:
            errors.add("max_length", _("Allow 1 to %(n)s characters.") % {"n": MAX_TEXT_LENGTH})
    elif spec.max_length is not None:
        errors.add("max_length", _("Only a text item has a maximum length."))
    _applies_if_errors(spec, set(codes), errors)
    return dict(errors)


def _applies_if_errors(spec: ItemSpec, codes: set[str], errors: Errors) -> None:
    condition = spec.applies_if or {}
    if not isinstance(condition, Mapping):
        errors.add("applies_if", _('Give the condition as {"sex": ..., "min_age_years": ..., "item": ..., '
                                   '"equals": ...}.'))
        return
    unknown = [str(key) for key in condition if key not in APPLIES_IF_KEYS]
    if unknown:
        errors.add("applies_if", _("Unknown condition key(s) %(keys)s; use %(allowed)s.") % {
            "keys": ", ".join(unknown), "allowed": ", ".join(APPLIES_IF_KEYS)})
    if condition.get("sex") not in (None, "male", "female"):
        errors.add("applies_if", _("The sex of a condition is male or female."))
    for key in ("min_age_years", "max_age_years"):
        value = condition.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 150):
            errors.add("applies_if", _("%(key)s is a whole number of years from 0 to 150.") % {"key": key})
    other = condition.get("item")
    if other is not None:
        if other == spec.code:
            errors.add("applies_if", _("An item cannot depend on its own answer."))
        elif other not in codes:
            errors.add("applies_if", _("The condition names the item '%(code)s', which the study does not have.") % {
                "code": other})
        if "equals" not in condition:
            errors.add("applies_if", _("Say which answer of '%(code)s' makes this item apply (equals).") % {
                "code": other})
    elif "equals" in condition:
        errors.add("applies_if", _("Name the item whose answer makes this item apply (item)."))


def applies(spec: ItemSpec, *, sex: str | None, age_years: int | None, values: Mapping) -> bool | None:
    """Whether the item applies to this participant: True, False, or None while a fact the
    condition reads (sex, age, the other item's answer) is not recorded."""
    condition = spec.applies_if or {}
    unknown = False
    if condition.get("sex"):
        if not sex:
            unknown = True
        elif sex != condition["sex"]:
            return False
    low, high = condition.get("min_age_years"), condition.get("max_age_years")
    if low is not None or high is not None:
        if age_years is None:
            unknown = True
        elif (low is not None and age_years < low) or (high is not None and age_years > high):
            return False
    if condition.get("item"):
        answer = values.get(condition["item"])
        wanted = condition.get("equals")
        if answer is None:
            unknown = True
        elif not _matches(answer, wanted):
            return False
    return None if unknown else True


def _matches(answer, wanted) -> bool:
    wanted_values = wanted if isinstance(wanted, list) else [wanted]
    answers = answer if isinstance(answer, list) else [answer]
    return any(a == w and type(a) is type(w) or (_is_number(a) and _is_number(w) and a == w)
               for a in answers for w in wanted_values)


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def clean_value(spec: ItemSpec, raw, *, today: date):
    """The value to store, or raise `ValueError` with the message for the field. None (or an
    empty text) is "not recorded" and returns None."""
    if raw is None or (isinstance(raw, str) and not raw.strip() and spec.type != TEXT):
        return None
    if spec.type == YES_NO:
        if not isinstance(raw, bool):
            raise ValueError(_("Answer yes (true), no (false) or leave empty."))
        return raw
    if spec.type == NUMBER:
        return _clean_number(spec, raw)
    if spec.type == DATE:
        return _clean_date(raw, today)
    if spec.type == CHOICE:
        if not isinstance(raw, str) or raw not in spec.choice_codes:
            raise ValueError(_("Use one of %(codes)s.") % {"codes": ", ".join(spec.choice_codes)})
        return raw
    if spec.type == MULTI_CHOICE:
        if not isinstance(raw, list | tuple) or not all(isinstance(code, str) for code in raw):
            raise ValueError(_("Give a list of codes among %(codes)s.") % {"codes": ", ".join(spec.choice_codes)})
        unknown = [code for code in raw if code not in spec.choice_codes]
        if unknown:
            raise ValueError(_("Unknown choice(s) %(bad)s; use %(codes)s.") % {
                "bad": ", ".join(unknown), "codes": ", ".join(spec.choice_codes)})
        return [code for code in spec.choice_codes if code in raw]  # the code list's order, once each
    if not isinstance(raw, str):
        raise ValueError(_("Enter a text."))
    text = raw.strip()
    limit = spec.max_length or DEFAULT_TEXT_LENGTH
    if len(text) > limit:
        raise ValueError(_("At most %(n)s characters (%(m)s given).") % {"n": limit, "m": len(text)})
    if "\x00" in text:
        raise ValueError(_("The text holds a null character."))
    return text or None


def _clean_number(spec: ItemSpec, raw):
    if not _is_number(raw):
        raise ValueError(_("Enter a number."))
    unit = f" {spec.unit}" if spec.unit else ""
    if spec.decimals is not None:
        try:
            exponent = Decimal(str(raw)).normalize().as_tuple().exponent
        except InvalidOperation:
            raise ValueError(_("Enter a number.")) from None
        if isinstance(exponent, int) and -exponent > spec.decimals:
            raise ValueError(_("Give at most %(n)s decimal(s).") % {"n": spec.decimals})
    low, high = spec.min_value, spec.max_value
    if (low is not None and raw < low) or (high is not None and raw > high):
        bounds = f"{_fmt(low) if low is not None else '...'}-{_fmt(high) if high is not None else '...'}"
        raise ValueError(_("%(value)s%(unit)s is outside the plausible range %(range)s%(unit)s.") % {
            "value": _fmt(raw), "unit": unit, "range": bounds})
    return int(raw) if isinstance(raw, float) and raw.is_integer() and spec.decimals == 0 else raw


def _clean_date(raw, today: date) -> str:
    if isinstance(raw, date):
        day = raw
    else:
        try:
            day = date.fromisoformat(str(raw))
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from None
    if day > today:
        raise ValueError(_("A date cannot be in the future."))
    return day.isoformat()


def clean_values(specs: Mapping[str, ItemSpec], given: Mapping, *, today: date, errors: Errors,
                 prefix: str = "items") -> dict:
    """The given values cleaned, each error under `<prefix>.<code>` (`<code>` without a prefix); an
    unknown code is refused with the form's items."""
    cleaned = {}
    for code, raw in given.items():
        path = f"{prefix}.{code}" if prefix else str(code)
        spec = specs.get(code)
        if spec is None:
            errors.add(path, _("Unknown item; the items of this form are %(codes)s.") % {
                "codes": ", ".join(specs) or _("none")})
            continue
        try:
            cleaned[code] = clean_value(spec, raw, today=today)
        except ValueError as exc:
            errors.add(path, str(exc))
    return cleaned


def check_applicable(specs: Mapping[str, ItemSpec], values: Mapping, *, sex: str | None, age_years: int | None,
                     errors: Errors, prefix: str = "items", require: bool = False) -> None:
    """Refuse an answer to an item that does not apply (its condition is false); with `require`,
    refuse a required item that applies and has no answer."""
    for code, spec in specs.items():
        applicable = applies(spec, sex=sex, age_years=age_years, values=values)
        value = values.get(code)
        if applicable is False and value is not None:
            errors.add(f"{prefix}.{code}", _("This item does not apply to this participant (%(why)s); leave it "
                                             "empty.") % {"why": applies_if_text(spec)})
        elif require and spec.required and applicable is not False and value is None:
            errors.add(f"{prefix}.{code}", _("%(label)s is required.") % {"label": spec.shown_label})


def applies_if_text(spec: ItemSpec) -> str:
    condition = spec.applies_if or {}
    parts = []
    if condition.get("sex"):
        parts.append(_("sex %(sex)s") % {"sex": condition["sex"]})
    low, high = condition.get("min_age_years"), condition.get("max_age_years")
    if low is not None or high is not None:
        parts.append(_("age %(low)s-%(high)s years") % {"low": low if low is not None else 0,
                                                         "high": high if high is not None else "..."})
    if condition.get("item"):
        parts.append(_("%(item)s = %(value)s") % {"item": condition["item"], "value": condition.get("equals")})
    return ", ".join(parts) or _("always")


def display(spec: ItemSpec, value) -> str:
    """A stored value as a reader sees it."""
    if value is None:
        return "-"
    if spec.type == YES_NO:
        return _("Yes") if value else _("No")
    if spec.type == CHOICE:
        return spec.choice_label(value)
    if spec.type == MULTI_CHOICE:
        return ", ".join(spec.choice_label(code) for code in value) or "-"
    if spec.type == NUMBER:
        return f"{_fmt(value)} {spec.unit}".strip()
    return str(value)


def item_sections(placed: Iterable[tuple[str, ItemSpec]], values: Mapping) -> list[tuple[str, list]]:
    """Stored answers by section for reading: (section, [(code, label, shown value, empty?)])."""
    sections: dict[str, list] = {}
    for section, spec in placed:
        value = values.get(spec.code)
        sections.setdefault(section, []).append((spec.code, spec.shown_label, display(spec, value), value is None))
    return list(sections.items())
