"""The names of the shipped catalogue rows (trials/studies/catalogues.yaml), shown in the reader's
language: a catalogue row keeps its English name, translated when it is displayed. A row an
administrator adds with a name the catalogue of translations does not hold shows as stored."""
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop

SHIPPED_NAMES = (
    # diseases
    gettext_noop("Immune thrombocytopenia"), gettext_noop("Autoimmune haemolytic anaemia"),
    gettext_noop("Acquired pure red cell aplasia"), gettext_noop("Evans syndrome"),
    gettext_noop("Cytopenia secondary to an autoimmune disease"),
    # prior therapies
    gettext_noop("Glucocorticoid"), gettext_noop("Cyclosporine"), gettext_noop("IVIG"),
    gettext_noop("Thrombopoietic agent (TPO-RA, rhTPO)"), gettext_noop("Rituximab"), gettext_noop("Splenectomy"),
    gettext_noop("Azathioprine"), gettext_noop("Danazol"), gettext_noop("Mycophenolate mofetil"),
    gettext_noop("Other"),
    # lab analytes
    gettext_noop("Haemoglobin"), gettext_noop("Platelets"), gettext_noop("Neutrophils"),
    gettext_noop("White blood cells"), gettext_noop("Lymphocytes"), gettext_noop("Reticulocytes (%)"),
    gettext_noop("Reticulocytes (absolute)"), gettext_noop("ALT"), gettext_noop("AST"), gettext_noop("LDH"),
    gettext_noop("Total bilirubin"), gettext_noop("Creatinine"), gettext_noop("Haptoglobin"),
)


def _translated(name: str) -> str:
    return gettext(name) if name else name


shown_name = lazy(_translated, str)
"""A catalogue row's name, translated in the language active when it is displayed."""
