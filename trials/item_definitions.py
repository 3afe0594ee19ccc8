"""An item of a study definition document (API.md "Study definitions and study-defined items")
and the `trials.models.Item` row it stands for, both ways: the document's names (`help`, `min`,
`max`, `forms`, `applies_if` null when always) are the API contract; the row's are the model's."""
from __future__ import annotations

SCREENING_FORM = "screening"
ITEM_KEYS = ("code", "label", "label_zh", "help", "help_zh", "type", "unit", "min", "max", "decimals", "choices",
             "max_length", "required", "section", "section_zh", "forms", "applies_if")
# document key -> (model field, the value when the document leaves it out). The Chinese texts
# (`*_zh`, `trials.content`) are optional; a choice's Chinese label is its "label_zh".
_FIELDS = {"label_zh": ("label_zh", ""), "help": ("help_text", ""), "help_zh": ("help_text_zh", ""),
           "unit": ("unit", ""), "min": ("min_value", None), "max": ("max_value", None),
           "decimals": ("decimals", None), "choices": ("choices", []), "max_length": ("max_length", None),
           "required": ("required", False), "section": ("section", ""), "section_zh": ("section_zh", "")}
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
    # A field the row does not have yet (a migration's historical model) gives the document's default.
    document.update({key: getattr(item, field, default) for key, (field, default) in _FIELDS.items()})
    document["forms"] = forms
    document["applies_if"] = item.applies_if or None
    return {key: document[key] for key in ITEM_KEYS}
