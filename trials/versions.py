"""Protocol versions: the part of a study an amendment changes, and what it changed (pure).

A study's items (its data dictionary, with the forms they stand on) and its eligibility criteria
belong to a protocol version. The version in force (`trials.models.StudyVersion`) holds them frozen,
in the shape of a study definition document (`trials.definitions`): screenings are evaluated and
the screening and visit forms are drawn from it. The study's item and criterion rows are the next
draft: an administrator edits them, and they take effect only when an amendment is activated with
a reason (`trials.amendments`). Schedules, arms, dose levels and diseases stay on the study and
apply to every participant from the moment they change, with their own audit trail.
"""
from __future__ import annotations

from dataclasses import dataclass

from .item_definitions import SCREENING_FORM
from .content import ZH_SUFFIX, content
from .items import ItemSpec, choice_pairs

PARTS = ("items", "criteria")
ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class Change:
    """One difference between two versions: an item or a criterion added, removed or changed (with
    the names of the keys that changed; `position` when it only moved)."""

    part: str  # "items" | "criteria"
    code: str
    change: str  # added | removed | changed
    keys: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"part": self.part, "code": self.code, "change": self.change, "keys": list(self.keys)}

    @classmethod
    def from_dict(cls, row: dict) -> Change:
        return cls(part=row["part"], code=row["code"], change=row["change"], keys=tuple(row.get("keys") or ()))


def protocol_of(definition: dict) -> dict:
    """The versioned part of a study definition document: its items and its criteria."""
    return {part: list(definition.get(part) or []) for part in PARTS}


def protocol_changes(before: dict, after: dict) -> list[Change]:
    """What changed from one protocol (`protocol_of`) to another: per part, in the order of `after`
    then the rows removed, each row matched by its code. Identical protocols give []."""
    changes: list[Change] = []
    for part in PARTS:
        old = {row["code"]: (position, row) for position, row in enumerate(before.get(part) or [])}
        new = {row["code"]: (position, row) for position, row in enumerate(after.get(part) or [])}
        old_order = [code for code in old if code in new]
        new_order = [code for code in new if code in old]
        for code, (_position, row) in new.items():
            if code not in old:
                changes.append(Change(part, code, ADDED))
                continue
            previous = old[code][1]
            keys = tuple(key for key in sorted(set(previous) | set(row)) if _value(previous, key) != _value(row, key))
            if not keys and old_order.index(code) != new_order.index(code):
                keys = ("position",)
            if keys:
                changes.append(Change(part, code, CHANGED, keys))
        changes += [Change(part, code, REMOVED) for code in old if code not in new]
    return changes


def _value(row: dict, key: str):
    """A row's value for comparison: a Chinese text (`*_zh`) left out is an empty one (versions
    frozen before study content had Chinese texts have none), and a code list compares its
    choices with their Chinese labels the same way."""
    value = row.get(key)
    if key.endswith(ZH_SUFFIX):
        return value or ""
    if key == "choices" and isinstance(value, list):
        return [{**choice, "label_zh": choice.get("label_zh") or ""} if isinstance(choice, dict) else choice
                for choice in value]
    return value


def item_spec(document: dict) -> ItemSpec:
    """The rules' view of a definition document's item (`trials.item_definitions.item_document`)."""
    return ItemSpec(
        code=document["code"], label=document["label"], type=document["type"], help_text=document.get("help") or "",
        unit=document.get("unit") or "", min_value=document.get("min"), max_value=document.get("max"),
        decimals=document.get("decimals"), max_length=document.get("max_length"),
        required=bool(document.get("required")), applies_if=document.get("applies_if") or {},
        choices=choice_pairs(document.get("choices")), label_zh=document.get("label_zh") or "",
        help_text_zh=document.get("help_zh") or "", choices_zh=choice_pairs(document.get("choices"), "label_zh"),
    )


def form_items(protocol: dict, form: str = SCREENING_FORM) -> list[tuple[str, ItemSpec]]:
    """The items of one form ("screening" or a visit code) of a protocol, in the protocol's order,
    each with its section."""
    return [(content(row, "section"), item_spec(row)) for row in protocol.get("items") or []
            if form in (row.get("forms") or [])]


def forms_of(protocol: dict) -> dict[str, list[tuple[str, ItemSpec]]]:
    """Every visit form of a protocol (visit code -> its items), the screening form apart."""
    forms: dict[str, list[tuple[str, ItemSpec]]] = {}
    for row in protocol.get("items") or []:
        spec = None
        for form in row.get("forms") or []:
            if form != SCREENING_FORM:
                spec = spec or item_spec(row)
                forms.setdefault(form, []).append((content(row, "section"), spec))
    return forms
