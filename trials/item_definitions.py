"""An item of a study definition document (API.md "Study definitions and study-defined items")
and the `trials.models.Item` row it stands for, both ways: the document's names (`help`, `min`,
`max`, `forms`, `applies_if` null when always) are the API contract; the row's are the model's."""
from __future__ import annotations

SCREENING_FORM = "screening"
ITEM_KEYS = ("code", "label", "help", "type", "unit", "min", "max", "decimals", "choices", "max_length", "required",
             "section", "forms", "applies_if")
# document key -> (model field, the value when the document leaves it out)
_FIELDS = {"help": ("help_text", ""), "unit": ("unit", ""), "min": ("min_value", None), "max": ("max_value", None),
           "decimals": ("decimals", None), "choices": ("choices", []), "max_length": ("max_length", None),
           "required": ("required", False), "section": ("section", "")}
DOCUMENT_NAMES = {field: key for key, (field, _default) in _FIELDS.items()}  # model field -> document key


def item_values(row: dict) -> dict:
    """The model's field values for a document's item (its `forms` are placements, not fields)."""
    values = {"label": row["label"], "type": row["type"], "applies_if": row.get("applies_if") or {}}
    for key, (field, default) in _FIELDS.items():
        value = row.get(key)
        values[field] = default if value is None else value
    return values


def item_document(item, forms: list[str]) -> dict:
    """A document's item for a row, with the forms it stands on."""
    document = {"code": item.code, "label": item.label, "type": item.type}
    document.update({key: getattr(item, field) for key, (field, _default) in _FIELDS.items()})
    document["forms"] = forms
    document["applies_if"] = item.applies_if or None
    return {key: document[key] for key in ITEM_KEYS}
