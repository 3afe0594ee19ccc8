"""The cell product given at an infusion, by the arm's product kind (issue: infusions)."""
from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trials.limits import TEXT_MAX_LENGTH

# field -> (kind, required, bounds); kinds: text, number, integer
PRODUCT_FIELDS = {
    "msc": {
        "lot": ("text", True, None),
        "viability_pct": ("number", True, (0, 100)),
        "passage": ("integer", False, (0, 50)),
    },
    "cord_blood": {
        "bank": ("text", True, None),
        "unit_id": ("text", True, None),
        "tnc": ("number", True, (0, 1e12)),
        "cd34": ("number", False, (0, 1e10)),
        "volume_ml": ("number", False, (0, 1000)),
        "abo_rh": ("text", False, None),
        "hla_match": ("text", False, None),
    },
}
# The product field that gives the number of cells infused, where the product has one (the cord
# blood unit's total nucleated cells); an MSC product gives none, so cells_infused is needed.
CELLS_FIELD = {"cord_blood": "tnc"}

LABELS = {
    "lot": gettext_lazy("lot number"), "viability_pct": gettext_lazy("viability (%)"),
    "passage": gettext_lazy("passage"), "bank": gettext_lazy("cord blood bank"), "unit_id": gettext_lazy("unit id"),
    "tnc": gettext_lazy("total nucleated cells"), "cd34": gettext_lazy("CD34+ cells"),
    "volume_ml": gettext_lazy("volume (mL)"), "abo_rh": gettext_lazy("ABO/Rh"), "hla_match": gettext_lazy("HLA match"),
}


def validate_product(product: dict | None, expected_kind: str) -> tuple[dict, dict[str, list[str]]]:
    """The product cleaned, and errors by path (`product.kind`, `product.lot`, ...)."""
    errors: dict[str, list[str]] = {}
    product = dict(product or {})
    kind = product.pop("kind", None)
    if kind != expected_kind:
        known = " or ".join(PRODUCT_FIELDS)
        errors["product.kind"] = [f"This arm gives {expected_kind}; got {kind!r} (products: {known})."]
        return {}, errors
    spec = PRODUCT_FIELDS[kind]
    cleaned = {"kind": kind}
    for name in product:
        if name not in spec:
            errors[f"product.{name}"] = [f"Not a field of a {kind} product; use {', '.join(spec)}."]
    for name, (field_kind, required, bounds) in spec.items():
        value = product.get(name)
        if value in (None, ""):
            if required:
                errors[f"product.{name}"] = [_("Give the %(label)s.") % {"label": LABELS[name]}]
            continue
        if field_kind == "text":
            if isinstance(value, bool | dict | list) or len(str(value)) > TEXT_MAX_LENGTH:
                errors[f"product.{name}"] = [_("The %(label)s is a text of at most %(n)d characters.") % {
                    "label": LABELS[name], "n": TEXT_MAX_LENGTH}]
                continue
            if "\x00" in str(value):  # PostgreSQL stores no NUL character in text or JSON
                errors[f"product.{name}"] = [_("The %(label)s may not contain a null character.") % {
                    "label": LABELS[name]}]
                continue
            cleaned[name] = str(value).strip()
            continue
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or (field_kind == "integer" and not float(value).is_integer())):
            errors[f"product.{name}"] = [
                (_("The %(label)s must be a whole number.") if field_kind == "integer"
                 else _("The %(label)s must be a number.")) % {"label": LABELS[name]}
            ]
            continue
        low, high = bounds
        if not low <= value <= high:
            errors[f"product.{name}"] = [_("The %(label)s %(value)s is outside %(low)s-%(high)s.") % {
                "label": LABELS[name], "value": f"{value:g}", "low": f"{low:g}", "high": f"{high:g}"}]
            continue
        cleaned[name] = int(value) if field_kind == "integer" else float(value)
    return cleaned, errors
