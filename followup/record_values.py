"""The items a record holds, each with its value as a monitor reads it against the source.

An item is held when it has a value: a field that is not empty (a `False` or a 0 is a value), a lab
the record has, an answer to a study-defined item, the prior-therapy history once taken, the
transfusions or rescue therapies when there are some. Only held items are asked to be verified
(`followup.record_states`). Pure: the caller passes the record and the rows it holds
(`RecordParts`), read in bulk or prefetched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from .record_refs import KINDS, record_items

# Items whose value is a list of rows the record holds (`RecordParts.rows`).
ROW_ITEMS = frozenset({"prior_therapies", "transfusions", "rescue_therapies"})


@dataclass
class RecordParts:
    """What a record holds besides its own fields: {analyte: value as entered} and {item: [row text]}."""

    labs: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[str]] = field(default_factory=dict)


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def show(value) -> str:
    """A value as the page shows it: dates as YYYY-MM-DD, times local to the minute, yes / no."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(value) \
            else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, dict):
        return ", ".join(f"{key}: {show(item)}" for key, item in value.items())
    if isinstance(value, list):
        return "; ".join(show(item) for item in value)
    return str(value)


def _field_value(record, code: str):
    display = getattr(record, f"get_{code}_display", None)
    value = getattr(record, code, None)
    if display is not None and not _empty(value):
        return display()
    return value


def held_values(kind: str, record, parts: RecordParts | None = None) -> dict[str, str]:
    """{item code: value shown} of the items `record` (of `kind`) holds, in the form's order."""
    parts = parts or RecordParts()
    definition = KINDS[kind]
    found: dict[str, str] = {}
    for item in definition.items:
        if item.code == "prior_therapies":
            if getattr(record, "prior_therapies_recorded", False):
                rows = parts.rows.get(item.code)
                found[item.code] = _("recorded") if rows is None else (show(rows) or _("none"))
            continue
        if item.code in ROW_ITEMS:
            if parts.rows.get(item.code):
                found[item.code] = show(parts.rows[item.code])
            continue
        value = _field_value(record, item.code)
        if not _empty(value):
            found[item.code] = show(value)
    if definition.labs:
        for analyte in sorted(parts.labs):
            found[f"lab:{analyte}"] = parts.labs[analyte]
    answers = getattr(record, "items", None) if kind in ("screening", "assessment") else None
    for code in sorted(answers or {}):
        if not _empty(answers[code]):
            found[f"item:{code}"] = show(answers[code])
    return found


def record_item_defs(kind: str, held: dict[str, str]):
    """The item definitions of a record holding `held`: its fields, the labs and answers it has."""
    return record_items(kind, analytes=[code[4:] for code in held if code.startswith("lab:")],
                        item_codes=[code[5:] for code in held if code.startswith("item:")])


def plan_codes(kind: str, held: dict[str, str], scope: str) -> list[str]:
    """The items of the plan (`scope` "key" or "all") a record holding `held` asks to verify."""
    return [item.code for item in record_item_defs(kind, held)
            if item.code in held and (item.key or scope == "all")]


def held_field_codes(kind: str, values) -> list[str]:
    """The codes of the own fields of a record of `kind` that it holds, from its plain column values
    (`values`: a mapping of field name to value as read, `QuerySet.values`): `held_values`' rule - a
    field is held when it is not empty - without the record's model instance or its display methods
    (a display is empty only when its value is). The fields only: not the labs, answers or rows."""
    return [item.code for item in KINDS[kind].items
            if item.code not in ROW_ITEMS and not _empty(values.get(item.code))]


def field_item_codes(kind: str) -> tuple[str, ...]:
    """The fields `held_field_codes` reads of a record of `kind`."""
    return tuple(item.code for item in KINDS[kind].items if item.code not in ROW_ITEMS)
